"""The router: registration, derived `describe`, matching, duplicates,
missing handlers, answers. Runs on CPython against componentize-py's
bindings for world `app-with-triggers` (see tests/python.rs)."""

import json
import unittest

from componentize_py_types import Err

from botyard import (
    ActionRequest,
    App,
    CommandRequest,
    Error,
    Event,
    InvocationContext,
    RegistrationError,
    ShortcutKind,
    ShortcutRequest,
    Tick,
    ViewClosed,
    ViewSubmission,
    blocks as b,
    close_view,
    ephemeral,
    field_errors,
    in_channel,
    update,
    update_view,
)
from wit_world.imports.types import (
    ActionResponse_None_,
    ActionResponse_Reply,
    ActionResponse_Update,
    CommandSpec,
    ScheduleSpec,
    SubcommandSpec,
    ViewResponse_Close,
    ViewResponse_Errors,
    ViewResponse_Update,
    Visibility,
)
from wit_world.exports.shortcuts import ShortcutSpec

CONTEXT = InvocationContext(user_id="U1", channel_id="C1", trigger_id="T1")


def command(line, subcommand=None, text=""):
    return CommandRequest(command=line, subcommand=subcommand, text=text, context=CONTEXT)


def action(action_id, value=None):
    return ActionRequest(action_id=action_id, block_id=None, value=value, message=None, context=CONTEXT)


def submission(callback_id, values="{}"):
    return ViewSubmission(
        callback_id=callback_id, view_id="V1", values=values, private_metadata="", context=CONTEXT
    )


def event(event_type, payload):
    return Event(event_type=event_type, event_id="Ev1", payload=json.dumps(payload))


def shortcut(callback_id):
    return ShortcutRequest(callback_id=callback_id, kind=ShortcutKind.GLOBAL, message=None, context=CONTEXT)


def error_of(call, *args):
    """The `Err` text a call raises (the WIT result's error case)."""
    try:
        call(*args)
    except Err as e:
        return e.value
    raise AssertionError(f"{call.__name__} did not fail")


class Describe(unittest.TestCase):
    def test_describe_is_derived_from_the_registrations_in_order(self):
        app = App("spy-status", "Queue status")

        @app.command("/status", "Say how the queue is", usage="[queue]")
        def status(request):
            pass

        @app.command("/spy status", "Queue status", usage="[phone|email]")
        def spy_status(request):
            pass

        @app.command("/spy  route", "Route a request")  # spaces are not significant
        def spy_route(request):
            pass

        @app.event("reaction_added")
        def reacted(event):
            pass

        @app.event("app_mention")
        def mentioned(event):
            pass

        @app.schedule("digest", "0 8 * * 1-5")
        def digest(tick):
            pass

        # Neither actions, views, one-off ticks nor shortcuts are part of `describe`.
        app.action("go")(lambda r: None)
        app.view("form")(lambda r: None)
        app.tick("later:*")(lambda r: None)
        app.shortcut("triage", "Triage")(lambda r: None)

        info = app.describe()
        self.assertEqual(info.name, "spy-status")
        self.assertEqual(info.description, "Queue status")
        self.assertEqual(info.commands, [CommandSpec(name="/status", description="Say how the queue is", usage="[queue]")])
        self.assertEqual(
            info.subcommands,
            [
                SubcommandSpec(umbrella="/spy", name="status", description="Queue status", usage="[phone|email]"),
                SubcommandSpec(umbrella="/spy", name="route", description="Route a request", usage=""),
            ],
        )
        self.assertEqual(info.events, ["reaction_added", "app_mention"])
        self.assertEqual(info.schedules, [ScheduleSpec(name="digest", cron="0 8 * * 1-5")])

    def test_an_app_with_no_registrations_describes_itself_empty(self):
        info = App("quiet").describe()
        self.assertEqual(
            (info.name, info.description, info.commands, info.subcommands, info.events, info.schedules),
            ("quiet", "", [], [], [], []),
        )
        self.assertEqual(App("quiet").describe_shortcuts(), [])

    def test_shortcuts_are_described_with_their_kind(self):
        app = App("help")
        app.shortcut("triage", "Send to a team", kind="message", description="Forward it")(lambda r: None)
        app.shortcut("new-ticket", "New ticket")(lambda r: None)
        self.assertEqual(
            app.describe_shortcuts(),
            [
                ShortcutSpec(callback_id="triage", kind=ShortcutKind.MESSAGE, name="Send to a team", description="Forward it"),
                ShortcutSpec(callback_id="new-ticket", kind=ShortcutKind.GLOBAL, name="New ticket", description=""),
            ],
        )

    def test_a_decorator_returns_the_function_unchanged(self):
        app = App("x")

        def hello(request):
            return "hi"

        self.assertIs(app.command("/hello", "Hi")(hello), hello)
        self.assertEqual(hello(None), "hi")


class Duplicates(unittest.TestCase):
    def test_an_id_registered_twice_makes_describe_fail_naming_both(self):
        app = App("hello")

        @app.action("count")
        def count(request):
            pass

        @app.action("count")
        def count_again(request):
            pass

        with self.assertRaises(RegistrationError) as raised:
            app.describe()
        self.assertEqual(
            str(raised.exception),
            'app `hello`: action `count` is registered 2 times '
            '(@app.action("count") on count, @app.action("count") on count_again)',
        )
        with self.assertRaises(RegistrationError):
            app.describe_shortcuts()

    def test_every_kind_is_checked_and_every_duplicate_reported(self):
        app = App("busy")
        for register in (
            lambda: app.command("/busy", "Busy"),
            lambda: app.command("/spy busy", "Busy"),
            lambda: app.view("form"),
            lambda: app.view_closed("form"),
            lambda: app.event("app_mention"),
            lambda: app.tick("close:*"),
            lambda: app.shortcut("triage", "Triage"),
            lambda: app.webhook("github"),
        ):
            register()(lambda r: None)
            register()(lambda r: None)
        app.setting("channel")
        app.setting("channel")
        message = str(self._raised(app.check))
        for part in (
            "command `/busy`",
            "command `/spy busy`",
            "view `form`",
            "view_closed `form`",
            "event `app_mention`",
            "tick `close:*`",
            "shortcut `triage`",
            "webhook `github`",
            "setting `channel`",
        ):
            self.assertIn(part + " is registered 2 times", message)

    def test_a_schedule_and_a_tick_share_their_names(self):
        app = App("menu")
        app.schedule("menu", "0 11 * * 1-5")(lambda t: None)
        app.tick("menu")(lambda t: None)
        self.assertIn("tick `menu` is registered 2 times", str(self._raised(app.describe)))

    def test_the_same_id_in_different_kinds_is_no_duplicate(self):
        app = App("form")
        app.view("order")(lambda r: None)
        app.view_closed("order")(lambda r: None)
        app.action("order")(lambda r: None)
        app.tick("order")(lambda r: None)
        app.shortcut("order", "Order")(lambda r: None)
        app.describe()

    def test_a_prefix_and_an_exact_id_are_no_duplicate(self):
        app = App("vote")
        app.action("vote:*")(lambda r: None)
        app.action("vote:")(lambda r: None)
        app.describe()

    def _raised(self, call):
        with self.assertRaises(RegistrationError) as raised:
            call()
        return raised.exception


class Matching(unittest.TestCase):
    def setUp(self):
        self.app = App("poll")
        for pattern in ("vote:*", "vote:close", "vote:c*", "vote:cl*", "*"):
            self.app.action(pattern)(self._answer(pattern))

    @staticmethod
    def _answer(pattern):
        return lambda request: f"{pattern} got {request.action_id}"

    def took(self, action_id):
        return self.app.on_action(action(action_id)).value.message.text.split(" got ")[0]

    def test_an_exact_registration_wins_over_every_prefix(self):
        self.assertEqual(self.took("vote:close"), "vote:close")

    def test_the_longest_matching_prefix_wins(self):
        self.assertEqual(self.took("vote:clear"), "vote:cl*")
        self.assertEqual(self.took("vote:cast"), "vote:c*")
        self.assertEqual(self.took("vote:1"), "vote:*")
        self.assertEqual(self.took("vote:"), "vote:*")

    def test_a_bare_star_takes_whatever_nothing_else_does(self):
        self.assertEqual(self.took("colour"), "*")

    def test_registration_order_does_not_matter(self):
        app = App("poll")
        for pattern in ("*", "vote:cl*", "vote:c*", "vote:close", "vote:*"):
            app.action(pattern)(self._answer(pattern))
        self.assertEqual(app.handler_for("action", "vote:clear")(action("vote:clear")), "vote:cl* got vote:clear")
        self.assertEqual(app.handler_for("action", "vote:close")(action("vote:close")), "vote:close got vote:close")

    def test_prefixes_work_for_views_closed_views_and_ticks(self):
        app = App("p")
        app.view("order:*")(lambda s: update_view({"type": "modal", "title": s.callback_id}))
        app.view_closed("order:*")(lambda c: None)
        app.tick("close:*")(lambda t: None)
        self.assertIsInstance(app.on_view_submission(submission("order:42")), ViewResponse_Update)
        app.on_event(event("view_closed", {"callback_id": "order:42"}))
        app.on_tick(Tick(name="close:7", due_ms=1))

    def test_a_star_inside_an_id_or_in_exact_only_ids_is_refused(self):
        app = App("p")
        for register, message in (
            (lambda: app.action("a*b"), "except as its last character"),
            (lambda: app.command("/x*", "X"), "slash command"),
            (lambda: app.event("app_*"), "`*` is not allowed"),
            (lambda: app.schedule("menu*", "0 11 * * *"), "`*` is not allowed"),
            (lambda: app.shortcut("triage*", "Triage"), "exact callback id"),
        ):
            with self.assertRaises(ValueError) as raised:
                register()
            self.assertIn(message, str(raised.exception))


class Missing(unittest.TestCase):
    def test_a_request_with_no_handler_is_an_error_naming_it(self):
        app = App("hello")
        app.action("count")(lambda r: None)
        self.assertEqual(error_of(app.on_action, action("colour")), "app `hello` has no handler for action `colour`")
        for call, request, expected in (
            (app.on_command, command("/hello"), "command `/hello`"),
            (app.on_command, command("/spy", "status"), "command `/spy status`"),
            (app.on_view_submission, submission("order"), "view `order`"),
            (app.on_event, event("app_mention", {}), "event `app_mention`"),
            (app.on_event, event("view_closed", {"callback_id": "order"}), "view_closed `order`"),
            (app.on_tick, Tick(name="close:1", due_ms=0), "tick `close:1`"),
            (app.on_shortcut, shortcut("triage"), "shortcut `triage`"),
        ):
            self.assertEqual(error_of(call, request), f"app `hello` has no handler for {expected}")

    def test_a_subcommand_is_not_taken_by_its_umbrella(self):
        app = App("spy")
        app.command("/spy", "Spy")(lambda r: "umbrella")
        self.assertEqual(error_of(app.on_command, command("/spy", "status")), "app `spy` has no handler for command `/spy status`")


class Answers(unittest.TestCase):
    def test_command_answers(self):
        app = App("a")
        answers = iter([None, "psst", in_channel("all", [b.divider()]), ephemeral("me")])
        app.command("/a", "A")(lambda r: next(answers))
        self.assertIsNone(app.on_command(command("/a")))
        reply = app.on_command(command("/a"))
        self.assertEqual((reply.visibility, reply.message.text), (Visibility.EPHEMERAL, "psst"))
        reply = app.on_command(command("/a"))
        self.assertEqual((reply.visibility, reply.message.blocks), (Visibility.IN_CHANNEL, '[{"type":"divider"}]'))
        self.assertEqual(app.on_command(command("/a")).visibility, Visibility.EPHEMERAL)

    def test_the_handler_gets_the_request_and_subcommand_text(self):
        app = App("spy")
        app.command("/spy status", "Status")(lambda r: f"{r.command}|{r.subcommand}|{r.text}|{r.context.user_id}")
        self.assertEqual(app.on_command(command("/spy", "status", "phone")).message.text, "/spy|status|phone|U1")

    def test_an_areas_verbs_are_subcommands_of_several_words(self):
        app = App("servers")
        app.command("/spy servers  stop", "Stop", "<name>")(lambda r: f"{r.subcommand}: {r.text}")
        self.assertEqual([s.name for s in app.describe().subcommands], ["servers stop"])
        self.assertEqual(app.on_command(command("/spy", "servers stop", "web-1")).message.text, "servers stop: web-1")
        with self.assertRaisesRegex(ValueError, "up to 3"):
            app.command("/spy a b c d", "Too deep")

    def test_action_answers(self):
        app = App("a")
        answers = iter([None, "just you", update("new text"), in_channel("everyone")])
        app.action("go")(lambda r: next(answers))
        self.assertIsInstance(app.on_action(action("go")), ActionResponse_None_)
        answer = app.on_action(action("go"))
        self.assertIsInstance(answer, ActionResponse_Reply)
        self.assertEqual(answer.value.message.text, "just you")
        answer = app.on_action(action("go"))
        self.assertIsInstance(answer, ActionResponse_Update)
        self.assertEqual(answer.value.text, "new text")
        self.assertEqual(app.on_action(action("go")).value.visibility, Visibility.IN_CHANNEL)

    def test_view_answers(self):
        app = App("a")
        answers = iter([None, field_errors({"what": "Say what"}), close_view()])
        app.view("order")(lambda s: next(answers))
        self.assertIsInstance(app.on_view_submission(submission("order")), ViewResponse_Close)
        errors = app.on_view_submission(submission("order"))
        self.assertIsInstance(errors, ViewResponse_Errors)
        self.assertEqual([(e.block_id, e.message) for e in errors.value], [("what", "Say what")])
        self.assertIsInstance(app.on_view_submission(submission("order")), ViewResponse_Close)

    def test_a_wrong_answer_is_a_type_error_saying_what_to_return(self):
        app = App("a")
        app.command("/a", "A")(lambda r: {"text": "hi"})
        app.view("v")(lambda s: "closed")
        with self.assertRaises(TypeError) as raised:
            app.on_command(command("/a"))
        self.assertIn("the handler for command `/a` returned dict; return ephemeral", str(raised.exception))
        with self.assertRaises(TypeError):
            app.on_view_submission(submission("v"))

    def test_an_error_reaches_the_user_and_other_exceptions_crash(self):
        app = App("a")

        @app.command("/a", "A")
        def fail(request):
            raise Error("no poll is open")

        @app.action("boom")
        def boom(request):
            raise ValueError("boom")

        self.assertEqual(error_of(app.on_command, command("/a")), "no poll is open")
        with self.assertRaises(ValueError):
            app.on_action(action("boom"))

    def test_a_closed_view_arrives_like_a_submission(self):
        app = App("a")
        got = []
        app.view_closed("order")(got.append)
        app.on_event(
            event(
                "view_closed",
                {
                    "user_id": "U7",
                    "view_id": "V3",
                    "callback_id": "order",
                    "private_metadata": "42",
                    "values": {"what": {"item": {"type": "plain_text_input", "value": "Pizza"}}},
                    "is_cleared": True,
                },
            )
        )
        (closed,) = got
        self.assertIsInstance(closed, ViewClosed)
        self.assertEqual(
            (closed.callback_id, closed.view_id, closed.private_metadata, closed.is_cleared, closed.context.user_id),
            ("order", "V3", "42", True, "U7"),
        )
        self.assertEqual(b.view_values(closed.values), {"what": {"item": "Pizza"}})

    def test_events_ticks_and_shortcuts_reach_their_handlers(self):
        app = App("a")
        got = []
        app.event("app_mention")(lambda e: got.append(json.loads(e.payload)["text"]))
        app.schedule("nightly", "0 3 * * *")(lambda t: got.append(t.name))
        app.shortcut("triage", "Triage", kind="message")(lambda s: got.append(s.callback_id))
        app.on_event(event("app_mention", {"text": "hi"}))
        app.on_tick(Tick(name="nightly", due_ms=5))
        app.on_shortcut(shortcut("triage"))
        self.assertEqual(got, ["hi", "nightly", "triage"])


class Registration(unittest.TestCase):
    def test_app_names_are_checked(self):
        for bad in ("", "Hello", "a b", "x/y", 3):
            with self.assertRaises((ValueError, TypeError)):
                App(bad)

    def test_command_names_are_checked(self):
        app = App("x")
        for bad in ("hello", "/spy a b c d", "/", ""):
            with self.assertRaises(ValueError):
                app.command(bad, "X")
        with self.assertRaises(TypeError):
            app.command("/x", None)

    def test_a_closed_view_is_registered_with_view_closed_not_event(self):
        with self.assertRaises(ValueError) as raised:
            App("x").event("view_closed")
        self.assertIn("@app.view_closed", str(raised.exception))

    def test_a_decorator_used_without_its_id_says_so(self):
        app = App("x")
        with self.assertRaises(TypeError) as raised:

            @app.action
            def clicked(request):
                pass

        self.assertIn("action id must be a string", str(raised.exception))

    def test_shortcut_kinds_are_checked(self):
        with self.assertRaises(ValueError):
            App("x").shortcut("t", "T", kind="menu")


if __name__ == "__main__":
    unittest.main()
