"""The glue the build uses: finding the app's one `App`, and the classes
served as the component's exports."""

import types
import unittest

from componentize_py_types import Err

from wit_world.exports.settings_schema import SettingSpec
from wit_world.exports.webhooks import WebhookRequest, WebhookSpec

from botyard import App, CommandRequest, InvocationContext, ShortcutKind, ShortcutRequest
from botyard._exports import BuildError, exports_for, find_app


def module(**names):
    m = types.ModuleType("app")
    m.__dict__.update(names)
    return m


class FindApp(unittest.TestCase):
    def test_the_one_app_is_found_whatever_its_name(self):
        bot = App("bot")
        self.assertIs(find_app(module(bot=bot, other=3)), bot)
        self.assertIs(find_app(module(app=bot, alias=bot)), bot)

    def test_no_app_is_a_build_error_saying_what_to_write(self):
        with self.assertRaises(BuildError) as raised:
            find_app(module(x=1))
        self.assertIn('`app = App("name", "what it does")`', str(raised.exception))
        self.assertNotIn("old style", str(raised.exception))

    def test_the_class_style_is_recognised(self):
        class Handler(App):
            pass

        with self.assertRaises(BuildError) as raised:
            find_app(module(Handler=Handler))
        self.assertIn("old style", str(raised.exception))

    def test_several_apps_are_a_build_error_naming_them(self):
        with self.assertRaises(BuildError) as raised:
            find_app(module(a=App("one"), b=App("two")))
        self.assertIn("defines 2 botyard Apps, `a` (one), `b` (two)", str(raised.exception))


class Exports(unittest.TestCase):
    def test_the_exports_call_into_the_app(self):
        app = App("hello")
        app.command("/hello", "Hi")(lambda r: f"hi {r.text}")
        app.shortcut("triage", "Triage", kind="message")(lambda r: None)
        handler, shortcuts, _, _, _ = exports_for(app)
        context = InvocationContext(user_id="U1", channel_id="C1", trigger_id=None)
        self.assertEqual(handler().describe().commands[0].name, "/hello")
        reply = handler().on_command(CommandRequest(command="/hello", subcommand=None, text="you", context=context))
        self.assertEqual(reply.message.text, "hi you")
        self.assertEqual([s.callback_id for s in shortcuts().describe_shortcuts()], ["triage"])
        request = ShortcutRequest(callback_id="nope", kind=ShortcutKind.GLOBAL, message=None, context=context)
        with self.assertRaises(Err) as raised:
            shortcuts().on_shortcut(request)
        self.assertEqual(raised.exception.value, "app `hello` has no handler for shortcut `nope`")

    def test_webhooks_and_settings_are_exported(self):
        app = App("hooks")
        got = []
        app.webhook("github", "Pushes")(lambda r: got.append((r.name, r.header("x-a"), r.text())))
        app.setting("channel", "Where", default="C1")
        _, _, webhooks, settings_schema, _ = exports_for(app)
        self.assertEqual(webhooks().describe_webhooks(), [WebhookSpec(name="github", description="Pushes")])
        request = WebhookRequest(
            name="github", delivery_id="d", attempt=1, content_type="text/plain", headers=[("X-A", "1")], body=b"hi"
        )
        self.assertIsNone(webhooks().on_webhook(request))
        self.assertEqual(got, [("github", "1", "hi")])
        self.assertEqual(
            settings_schema().describe_settings(),
            [SettingSpec(name="channel", description="Where", default="C1", required=False)],
        )
        # An app with none answers with empty lists.
        _, _, webhooks, settings_schema, _ = exports_for(App("x"))
        self.assertEqual((webhooks().describe_webhooks(), settings_schema().describe_settings()), ([], []))

    def test_phrases_are_exported_with_their_slots(self):
        from wit_world.exports import phrases

        app = App("po")
        app.phrase(
            "/po approve {po}",
            aliases=["approve", "승인"],
            examples=["please approve {po}"],
            slots={"po": {"id": "PO-"}, "n": {"kind": "number", "default": 10}},
        )
        served = exports_for(app).Phrases().describe_phrases()
        self.assertEqual(len(served), 1)
        self.assertEqual(served[0].line, "/po approve {po}")
        self.assertEqual(served[0].slots[0].kind, phrases.SlotKind_Id("PO-"))
        self.assertEqual((served[0].slots[1].default, served[0].read_only), ("10", False))
        with self.assertRaises(ValueError):
            app.phrase("/po x {y}", aliases=["x"], slots={"y": "colour"})

    def test_the_export_classes_have_every_function_of_their_interface(self):
        from wit_world import exports

        served = exports_for(App("x"))
        # One class per export of world `app-with-triggers`, by the name componentize-py looks for.
        protocols = {n: v for n, v in vars(exports).items() if isinstance(v, type) and v.__module__ == exports.__name__}
        self.assertEqual(set(served._fields), set(protocols))
        for name, cls in served._asdict().items():
            wanted = {n for n, v in vars(protocols[name]).items() if getattr(v, "__isabstractmethod__", False)}
            self.assertTrue(wanted)
            self.assertEqual(wanted - set(vars(cls)), set(), name)

    def test_the_component_module_defines_every_export(self):
        import ast
        from pathlib import Path

        import botyard

        source = Path(botyard.__file__).with_name("_component.py").read_text()
        (assign,) = [s for s in ast.parse(source).body if isinstance(s, ast.Assign)]
        self.assertEqual([t.id for t in assign.targets[0].elts], list(exports_for(App("x"))._fields))

    def test_a_duplicate_fails_the_build(self):
        app = App("dup")
        app.tick("t")(lambda t: None)
        app.tick("t")(lambda t: None)
        with self.assertRaises(BuildError) as raised:
            exports_for(app)
        self.assertIn("tick `t` is registered 2 times", str(raised.exception))


if __name__ == "__main__":
    unittest.main()
