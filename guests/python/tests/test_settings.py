"""Settings: declared with `app.setting`, described for the host, and read
with `settings.get`: the operator's value, else the declared default."""

import unittest

from componentize_py_types import Err
from wit_world.exports.settings_schema import SettingSpec
from wit_world.exports.webhooks import WebhookRequest
from wit_world.imports import settings as bindings

from botyard import App, CommandRequest, InvocationContext, RegistrationError, Tick, settings
from tests.fakes import host

CONTEXT = InvocationContext(user_id="U1", channel_id="C1", trigger_id=None)


class Declaring(unittest.TestCase):
    def test_settings_are_described_with_their_defaults(self):
        app = App("hooks")
        app.setting("channel", "Where to post", default="C0HOOKS")
        app.setting("fail_times", "How often to fail", default=0)
        app.setting("offices", "Which offices", default=["Paris", "Zürich"])
        app.setting("strict", default=False)
        app.setting("approver", "Who approves", required=True)
        app.setting("Camel_Case-1")
        self.assertEqual(
            app.describe_settings(),
            [
                SettingSpec(name="channel", description="Where to post", default="C0HOOKS", required=False),
                SettingSpec(name="fail_times", description="How often to fail", default="0", required=False),
                SettingSpec(name="offices", description="Which offices", default='["Paris", "Zürich"]', required=False),
                SettingSpec(name="strict", description="", default="false", required=False),
                SettingSpec(name="approver", description="Who approves", default=None, required=True),
                SettingSpec(name="Camel_Case-1", description="", default=None, required=False),
            ],
        )
        self.assertEqual(
            app.declared_defaults(),
            {"channel": "C0HOOKS", "fail_times": "0", "offices": '["Paris", "Zürich"]', "strict": "false"},
        )
        self.assertEqual(App("none").describe_settings(), [])

    def test_declarations_are_checked(self):
        for call, error, text in (
            (lambda: App("x").setting("a b"), ValueError, "[A-Za-z0-9_-]"),
            (lambda: App("x").setting("a.b"), ValueError, "[A-Za-z0-9_-]"),
            (lambda: App("x").setting(""), ValueError, "[A-Za-z0-9_-]"),
            (lambda: App("x").setting(3), TypeError, "setting name must be a string"),
            (lambda: App("x").setting("c", 3), TypeError, "description must be a string"),
            (lambda: App("x").setting("c", required="yes"), TypeError, "required is True or False"),
            (lambda: App("x").setting("c", default={1, 2}), TypeError, "the default is text"),
            (lambda: App("x").setting("c", defualt="#x"), TypeError, "defualt"),
        ):
            with self.assertRaises(error) as raised:
                call()
            self.assertIn(text, str(raised.exception))

    def test_a_setting_declared_twice_makes_describe_fail(self):
        app = App("dup")
        app.setting("channel", "One")
        app.setting("channel", default="#x")
        for call in (app.describe, app.describe_settings, app.describe_webhooks):
            with self.assertRaises(RegistrationError) as raised:
                call()
            self.assertEqual(
                str(raised.exception),
                'app `dup`: setting `channel` is registered 2 times (app.setting("channel"), app.setting("channel"))',
            )


class Reading(unittest.TestCase):
    def setUp(self):
        self.host = host(self, settings, bindings)
        self.host.answers["names"] = ["zone", "channel"]
        self.got = None
        self.app = App("hooks")
        self.app.setting("channel", "Where to post", default="C0HOOKS")
        self.app.setting("fail_times", "How often", default=0)
        self.app.setting("approver", "Who approves", required=True)

        def read(_):
            self.got = [
                settings.get("channel"),
                settings.get("fail_times"),
                settings.get_json("fail_times"),
                settings.get("approver"),
                settings.get("approver", "nobody"),
                settings.get_json("approver", []),
                settings.get("undeclared"),
                settings.names(),
            ]

        self.app.command("/get", "Get")(read)
        self.app.tick("get")(read)
        self.app.webhook("get")(read)

    def test_the_declared_default_when_the_operator_set_none(self):
        self.app.on_command(CommandRequest(command="/get", subcommand=None, text="", context=CONTEXT))
        self.assertEqual(self.got, ["C0HOOKS", "0", 0, None, "nobody", [], None, ["channel", "fail_times", "zone"]])

    def test_the_operators_value_wins(self):
        self.host.answers["get"] = "7"
        self.app.on_tick(Tick(name="get", due_ms=0))
        self.assertEqual(self.got[:4], ["7", "7", 7, "7"])
        self.assertIn(("get", "channel"), self.host.calls)

    def test_webhook_handlers_see_the_defaults_too(self):
        self.app.on_webhook(
            WebhookRequest(name="get", delivery_id="d", attempt=1, content_type="", headers=[], body=b"")
        )
        self.assertEqual(self.got[0], "C0HOOKS")

    def test_another_apps_request_sees_only_its_own_defaults(self):
        self.app.on_tick(Tick(name="get", due_ms=0))
        other = App("other")
        other.tick("get")(lambda _: setattr(self, "got", [settings.get("channel"), settings.names()]))
        other.on_tick(Tick(name="get", due_ms=0))
        self.assertEqual(self.got, [None, ["channel", "zone"]])

    def test_a_request_with_no_handler_still_leaves_no_other_apps_defaults(self):
        self.app.on_tick(Tick(name="get", due_ms=0))
        with self.assertRaises(Err):
            App("other").on_tick(Tick(name="nobody", due_ms=0))
        self.assertIsNone(settings.get("channel"))


if __name__ == "__main__":
    unittest.main()
