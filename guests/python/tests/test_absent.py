"""A component whose code uses no capability has none of their bindings;
the SDK still imports, and a call it did not see coming says so."""

import os
import subprocess
import sys
import textwrap
import unittest
from pathlib import Path

SDK = Path(__file__).resolve().parent.parent


@unittest.skipUnless(os.environ.get("BOTYARD_BARE_BINDINGS"), "needs bindings of a world without capabilities")
class WithoutCapabilities(unittest.TestCase):
    def test_the_sdk_imports_and_a_missing_capability_is_a_clear_error(self):
        code = textwrap.dedent(
            """
            import wit_world.imports as bindings, pkgutil
            assert [m.name for m in pkgutil.iter_modules(bindings.__path__)] == ["types"], "bare bindings"
            import botyard
            from botyard import App, CapabilityNotImported, Error, store, slack, log, schedule, clock, settings, http
            for call in (lambda: store.get("k"), lambda: slack.send_dm("U1", "hi"), lambda: log.info("x"),
                         lambda: schedule.once("t", 1), lambda: clock.now_ms(), lambda: settings.get("x"),
                         lambda: http.get("https://x/")):
                try:
                    call()
                except CapabilityNotImported as e:
                    assert isinstance(e, Error)
                    print(e)
                else:
                    raise AssertionError("a capability without bindings answered")
            app = App("bare")
            app.command("/bare", "Bare")(lambda r: "ok")
            print(app.describe().commands[0].name)
            """
        )
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.environ["BOTYARD_BARE_BINDINGS"], str(SDK)]))
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stderr)
        lines = done.stdout.splitlines()
        self.assertEqual(lines[-1], "/bare")
        self.assertEqual(
            lines[0],
            "this build does not import botyard's `store` capability: `botyard build` found no use of "
            "`botyard.store` in the app's code. Call it by name (`from botyard import store`) and build again",
        )
        for capability, line in zip(("slack", "log", "schedule", "clock", "settings", "http"), lines[1:7]):
            self.assertIn(f"botyard's `{capability}` capability", line)


if __name__ == "__main__":
    unittest.main()
