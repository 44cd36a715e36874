"""Webhooks: registration, validation, duplicates, dispatch, and a failure
asking the host for another try."""

import contextlib
import io
import json
import unittest

from componentize_py_types import Err
from wit_world.exports import webhooks as bindings
from wit_world.exports.webhooks import WebhookSpec

from botyard import App, Error, RegistrationError, WebhookRequest


def delivery(name, body=b"", headers=(), attempt=2):
    """A delivery as the host hands it over (the WIT record)."""
    return bindings.WebhookRequest(
        name=name,
        delivery_id="d-1",
        attempt=attempt,
        content_type="application/json",
        headers=list(headers),
        body=body if isinstance(body, bytes) else body.encode(),
    )


def error_of(call, *args):
    try:
        call(*args)
    except Err as e:
        return e.value
    raise AssertionError("no err")


class Registration(unittest.TestCase):
    def test_webhooks_are_described_in_order(self):
        app = App("hooks")

        @app.webhook("github", "Pushes and PRs")
        def github(request):
            pass

        app.webhook("alert_manager-2")(lambda r: None)
        self.assertEqual(
            app.describe_webhooks(),
            [WebhookSpec(name="github", description="Pushes and PRs"), WebhookSpec(name="alert_manager-2", description="")],
        )
        # Webhooks are neither commands nor events.
        info = app.describe()
        self.assertEqual((info.commands, info.events), ([], []))
        self.assertEqual(App("none").describe_webhooks(), [])

    def test_a_webhook_name_is_the_last_part_of_its_path(self):
        for bad in ("Git Hub", "GitHub", "hooks*", "a/b", "", "ü"):
            with self.assertRaises(ValueError) as raised:
                App("x").webhook(bad)
            self.assertIn("[a-z0-9_-]", str(raised.exception))
        with self.assertRaises(TypeError):
            App("x").webhook(None)
        with self.assertRaises(TypeError):
            App("x").webhook("github", 3)

    def test_a_decorator_used_without_its_name_says_so(self):
        with self.assertRaises(TypeError) as raised:

            @App("x").webhook
            def github(request):
                pass

        self.assertIn("webhook name must be a string", str(raised.exception))

    def test_a_webhook_registered_twice_makes_describe_fail_naming_both(self):
        app = App("dup")

        @app.webhook("github", "One")
        def one(request):
            pass

        @app.webhook("github")
        def two(request):
            pass

        for call in (app.describe, app.describe_webhooks, app.check):
            with self.assertRaises(RegistrationError) as raised:
                call()
            self.assertEqual(
                str(raised.exception),
                'app `dup`: webhook `github` is registered 2 times '
                '(@app.webhook("github") on one, @app.webhook("github") on two)',
            )

    def test_the_same_name_as_another_kind_is_no_duplicate(self):
        app = App("x")
        app.webhook("order")(lambda r: None)
        app.tick("order")(lambda r: None)
        app.shortcut("order", "Order")(lambda r: None)
        app.setting("order")
        app.describe()


class Dispatch(unittest.TestCase):
    def test_the_handler_reads_the_delivery(self):
        app = App("hooks")
        seen = []

        @app.webhook("github")
        def github(request):
            self.assertIsInstance(request, WebhookRequest)
            seen.append(
                (
                    request.name,
                    request.delivery_id,
                    request.attempt,
                    request.content_type,
                    request.header("x-github-event"),
                    request.header("X-GITHUB-EVENT"),
                    request.header("missing"),
                    request.text(),
                    request.json()["sender"]["login"],
                    request.body,
                    request.headers,
                )
            )

        body = json.dumps({"sender": {"login": "ada"}, "note": "✓"})
        headers = [("X-GitHub-Event", "push"), ("x-github-event", "second")]
        self.assertIsNone(app.on_webhook(delivery("github", body, headers)))
        self.assertEqual(
            seen,
            [("github", "d-1", 2, "application/json", "push", "push", None, body, "ada", body.encode(), headers)],
        )

    def test_text_never_fails(self):
        self.assertEqual(WebhookRequest("w", "d", 1, "", [], b"ok \xff").text(), "ok \ufffd")

    def test_a_body_that_is_not_json_is_an_error_naming_the_webhook(self):
        app = App("hooks")
        app.webhook("github")(lambda r: r.json())
        text = error_of(app.on_webhook, delivery("github", "nope"))
        self.assertTrue(text.startswith("webhook `github` delivery d-1: the body is not JSON"), text)
        with self.assertRaises(ValueError):  # as json.loads would
            WebhookRequest("w", "d", 1, "", [], b"{").json()

    def test_an_exception_asks_for_another_try(self):
        app = App("hooks")

        @app.webhook("error")
        def error(request):
            raise Error("not yet")

        @app.webhook("crash")
        def crash(request):
            raise KeyError("sender")

        @app.webhook("returned")
        def returned(request):
            return Error("the API is down")

        @app.webhook("fine")
        def fine(request):
            return "ok"  # anything but an exception means done

        self.assertEqual(error_of(app.on_webhook, delivery("error")), "not yet")
        log = io.StringIO()
        with contextlib.redirect_stderr(log):
            self.assertEqual(error_of(app.on_webhook, delivery("crash")), "KeyError: 'sender'")
        self.assertIn("Traceback", log.getvalue())  # the app's log shows where
        self.assertIn('raise KeyError("sender")', log.getvalue())
        self.assertEqual(error_of(app.on_webhook, delivery("returned")), "the API is down")
        self.assertIsNone(app.on_webhook(delivery("fine")))

    def test_a_delivery_with_no_handler_is_an_error_naming_it(self):
        app = App("hooks")
        app.webhook("github")(lambda r: None)
        self.assertEqual(
            error_of(app.on_webhook, delivery("gitlab")), "app `hooks` has no handler for webhook `gitlab`"
        )


if __name__ == "__main__":
    unittest.main()
