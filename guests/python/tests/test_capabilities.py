"""The capability scan the build runs (tools/capabilities.py): an app's
component imports exactly the capabilities its code can reach."""

import inspect
import tempfile
import textwrap
import unittest
from pathlib import Path

import capabilities

SDK = Path(__file__).resolve().parent.parent  # guests/python: holds botyard/


def scan(files, entry="app"):
    """What the app made of `files` ({path: source}) reaches."""
    with tempfile.TemporaryDirectory() as tmp:
        for path, source in files.items():
            target = Path(tmp, path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(textwrap.dedent(source))
        return capabilities.analyse(Path(tmp), SDK, entry)


def imports(source, **more):
    files = {"app.py": source}
    files.update({f"{name}.py": text for name, text in more.items()})
    return scan(files)["imports"]


class WhatIsUsed(unittest.TestCase):
    def test_a_capability_used_is_imported(self):
        self.assertEqual(imports("from botyard import store\nstore.increment('n')\n"), ["store"])

    def test_a_capability_imported_but_unused_is_not(self):
        self.assertEqual(imports("from botyard import App, store, slack, log, schedule, clock\napp = App('x')\n"), [])

    def test_import_botyard_alone_reaches_nothing(self):
        self.assertEqual(imports("import botyard\napp = botyard.App('x')\nbotyard.ephemeral('hi')\n"), [])

    def test_every_way_of_naming_a_capability_function(self):
        for source in (
            "import botyard\nbotyard.slack.post_message('C', 'hi')\n",
            "import botyard.slack\nbotyard.slack.post_message('C', 'hi')\n",
            "import botyard.slack as s\ns.post_message('C', 'hi')\n",
            "from botyard import slack\nslack.post_message('C', 'hi')\n",
            "from botyard import slack as chat\nchat.post_message('C', 'hi')\n",
            "from botyard.slack import post_message\npost_message('C', 'hi')\n",
            "from botyard.slack import post_message as post\ndef f():\n    post('C', 'hi')\n",
        ):
            self.assertEqual(imports(source), ["slack"], source)

    def test_botyard_http_is_the_http_capability(self):
        for source in (
            "from botyard import http\nhttp.get('https://x/').json()\n",
            "import botyard\nbotyard.http.post('https://x/', json={})\n",
            "from botyard.http import request\nrequest('DELETE', 'https://x/')\n",
            "import botyard.http as web\ndef f():\n    return web.head('https://x/')\n",
        ):
            self.assertEqual(imports(source), ["http"], source)
        result = scan({"app.py": "from botyard import http, store\nstore.get('k')\nhttp.put('https://x/', data=b'')\n"})
        self.assertEqual(result["imports"], ["store", "http"])
        self.assertEqual(result["because"]["http"], "app.py:3: http.put")
        # Its types and errors, and Python's own `http` package, are not the capability.
        source = """
            import http.client
            from http import HTTPStatus
            from botyard import http as web
            from botyard.http import HTTPError, NotAllowed, Response
            def f():
                try:
                    pass
                except (HTTPError, NotAllowed, web.Timeout, web.StatusError):
                    return HTTPStatus.OK, Response, web.Headers
        """
        self.assertEqual(imports(source), [])

    def test_types_and_errors_of_a_capability_need_no_import(self):
        source = """
            from botyard import store, slack
            from botyard.store import StoreError
            def f(request):
                try:
                    pass
                except (StoreError, slack.SlackError, store.StoreError):
                    pass
        """
        self.assertEqual(imports(source), [])

    def test_sdk_helpers_reach_the_capability_they_call(self):
        for source, expected in (
            ("from botyard import store\nstore.update_json('k', lambda v: v, default=[])\n", ["store"]),
            ("from botyard import store\nstore.get_text('k')\n", ["store"]),
            ("from botyard import log\nlog.warn('careful')\n", ["log"]),
            ("from botyard import schedule, clock\nschedule.once('x', clock.now_ms() + 1)\n", ["schedule", "clock"]),
            ("from botyard.clock import now_ms\nnow_ms()\n", ["clock"]),
            ("from botyard import slack, blocks as b\nslack.open_view('T', b.modal('M', []))\n", ["slack"]),
        ):
            self.assertEqual(imports(source), expected, source)

    def test_every_public_function_of_a_capability_module_reaches_it(self):
        import botyard

        for capability in capabilities.CAPABILITIES:
            module = getattr(botyard, capability)
            functions = [
                name
                for name, value in vars(module).items()
                if inspect.isfunction(value) and value.__module__ == module.__name__ and not name.startswith("_")
            ]
            self.assertTrue(functions, capability)
            for name in functions:
                source = f"from botyard import {capability}\n{capability}.{name}()\n"
                self.assertEqual(imports(source), [capability], source)

    def test_the_rest_of_the_sdk_reaches_no_capability(self):
        import botyard

        for name in botyard.__all__:
            if name in capabilities.CAPABILITIES:
                continue
            self.assertEqual(imports(f"import botyard\nbotyard.{name}\n"), [], name)
        for name in ("button", "modal", "static_select", "view_values", "to_json"):
            self.assertEqual(imports(f"from botyard import blocks\nblocks.{name}\n"), [], name)

    def test_the_starter_uses_only_the_store(self):
        result = capabilities.analyse(SDK.parent.parent / "examples" / "hello-python", SDK)
        self.assertEqual(result["imports"], ["store"])
        self.assertRegex(result["because"]["store"], r"^app\.py:\d+: store\.increment$")


class TheAppsOwnModules(unittest.TestCase):
    def test_a_local_module_the_app_imports_counts_and_is_named_as_the_reason(self):
        result = scan(
            {
                "app.py": "import helpers\n",
                "helpers.py": "from botyard import slack\n\ndef post():\n    slack.send_dm('U1', 'hi')\n",
            }
        )
        self.assertEqual(result, {"imports": ["slack"], "because": {"slack": "helpers.py:4: slack.send_dm"}})

    def test_a_module_the_app_does_not_import_does_not_count(self):
        self.assertEqual(imports("x = 1\n", unused="from botyard import store\nstore.get('k')\n"), [])

    def test_a_capability_reexported_by_a_local_module(self):
        self.assertEqual(imports("import helpers\nhelpers.kv.get('k')\n", helpers="from botyard import store as kv\n"), ["store"])
        self.assertEqual(imports("from helpers import kv\nkv.get('k')\n", helpers="from botyard import store as kv\n"), ["store"])

    def test_packages_and_relative_imports(self):
        result = scan(
            {
                "app.py": "from pkg import go\n",
                "pkg/__init__.py": "from .util import go\n",
                "pkg/util.py": "from botyard import store\n\ndef go():\n    return store.list_keys()\n",
            }
        )
        self.assertEqual(result["imports"], ["store"])


class WhatCannotBeFollowedImportsMore(unittest.TestCase):
    def test_a_module_used_as_a_value_counts_whole(self):
        self.assertEqual(imports("from botyard import store\ndef f(x):\n    return x\nf(store)\n"), ["store"])
        self.assertEqual(imports("from botyard import store\ngetattr(store, 'get')('k')\n"), ["store"])

    def test_botyard_used_as_a_value_imports_everything(self):
        self.assertEqual(imports("import botyard\ngetattr(botyard, 'slack')\n"), list(capabilities.CAPABILITIES))

    def test_dynamic_code_imports_everything(self):
        for source in ("eval('1')\n", "import importlib\nimportlib.import_module('x')\n", "exec('x = 1')\n", "globals()\n"):
            self.assertEqual(imports(source), list(capabilities.CAPABILITIES), source)

    def test_a_star_import_of_botyard_imports_everything(self):
        self.assertEqual(imports("from botyard import *\n"), list(capabilities.CAPABILITIES))

    def test_an_unknown_name_of_a_capability_module_counts_it_whole(self):
        self.assertEqual(imports("from botyard import store\nstore.no_such_function()\n"), ["store"])

    def test_code_that_does_not_parse_imports_everything(self):
        result = scan({"app.py": "import helpers\n", "helpers.py": "def f(:\n"})
        self.assertEqual(result["imports"], list(capabilities.CAPABILITIES))
        self.assertIn("helpers.py:1: cannot read it", result["because"]["slack"])

    def test_the_bindings_imported_directly(self):
        self.assertEqual(imports("from wit_world.imports import log\nlog.write(0, 'x')\n"), ["log"])
        self.assertEqual(imports("import wit_world.imports.store\n"), ["store"])
        guarded = "try:\n    from wit_world.imports import slack\nexcept ImportError:\n    slack = None\n"
        self.assertEqual(imports(guarded), [])


if __name__ == "__main__":
    unittest.main()
