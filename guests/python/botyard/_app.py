"""The app: handlers registered with decorators, the way Slack's Bolt does it,
and the router that takes each request to its handler.

What the app answers to (`describe`) is derived from the registrations, so
a command can never be declared without a handler or handled without being
declared. Ids of actions, views, closed views and ticks match exactly, or by
prefix when they end in `*`; an exact registration wins over a prefix, and
the longest prefix wins over a shorter one. Commands, events, schedules,
shortcuts, webhooks and settings match exactly. Registering an id twice
makes `describe` fail, so such a version is refused at load (and `botyard
build` refuses to build it). A request nobody registered for is an error
that names it.
"""

from __future__ import annotations

import json
import re
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

from componentize_py_types import Err
from wit_world.exports import phrases as _phrases
from wit_world.exports.settings_schema import SettingSpec
from wit_world.exports.shortcuts import (
    ShortcutKind,
    ShortcutRequest,
    ShortcutSpec,
)
from wit_world.exports.webhooks import WebhookSpec
from wit_world.imports.types import (
    ActionRequest,
    ActionResponse,
    ActionResponse_None_,
    ActionResponse_Reply,
    ActionResponse_Update,
    AppInfo,
    CommandRequest,
    CommandSpec,
    Event,
    InvocationContext,
    Reply,
    ScheduleSpec,
    SubcommandSpec,
    Tick,
    ViewResponse,
    ViewResponse_Clear,
    ViewResponse_Close,
    ViewResponse_Errors,
    ViewResponse_Push,
    ViewResponse_Update,
    ViewSubmission,
)

from ._core import Error, ephemeral, handling

Handler = TypeVar("Handler", bound=Callable[[Any], Any])

_APP_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
_COMMAND = re.compile(r"/\S+")
# Words a subcommand may have after its umbrella (the host's limit).
_MAX_SUBCOMMAND_WORDS = 3
# A webhook's name: the last part of its path, `/hooks/<app>/<name>`.
_WEBHOOK_NAME = re.compile(r"[a-z0-9_-]+")
# A setting's name: a TOML bare key, so the operator writes it unquoted.
_SETTING_NAME = re.compile(r"[A-Za-z0-9_-]+")

# The kinds of request, each its own id space. A recurring schedule and a
# one-off tick share one: both arrive as ticks, by name. Settings are
# declared, never requested, but are names the app may declare only once.
_KINDS = ("command", "action", "view", "view_closed", "event", "tick", "shortcut", "webhook", "setting")

_ACTION_RESPONSES = (ActionResponse_None_, ActionResponse_Reply, ActionResponse_Update)
_VIEW_RESPONSES = (
    ViewResponse_Close,
    ViewResponse_Clear,
    ViewResponse_Errors,
    ViewResponse_Update,
    ViewResponse_Push,
)

# The event type under which the host delivers a closed view today.
VIEW_CLOSED_EVENT = "view_closed"


class RegistrationError(Exception):
    """The registrations contradict each other (an id registered twice):
    `describe` fails with it, and so does `botyard build`."""


@dataclass
class ViewClosed:
    """A modal that asked for `notify_on_close` was closed (cancelled, or
    cleared with `is_cleared`) instead of submitted. The fields match a
    `ViewSubmission`: `values` is the form's state as JSON text, for
    `blocks.view_values`."""

    callback_id: str
    view_id: str
    values: str
    private_metadata: str
    is_cleared: bool
    context: InvocationContext


@dataclass
class WebhookRequest:
    """A delivery to one of the app's webhooks, as the host received it:
    which webhook (`name`), the sender's `delivery_id` (a redelivery carries
    the same one), `attempt` (1 for the first try), `content_type`,
    `headers` (`(name, value)` pairs, less the credentials the host checked)
    and `body` (bytes), read with `header(name)`, `text()` and `json()`."""

    name: str
    delivery_id: str
    attempt: int
    content_type: str
    headers: List[Tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> Optional[str]:
        """The first value of header `name`, in any case, or `None`."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    def text(self) -> str:
        """The body as text (UTF-8; what does not decode becomes `�`)."""
        return bytes(self.body).decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; a body that is not JSON is an error
        naming the webhook and the delivery."""
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise BodyNotJSON(
                f"webhook `{self.name}` delivery {self.delivery_id}: the body is not JSON: {e}"
            ) from None


class BodyNotJSON(Error, ValueError):
    """`WebhookRequest.json()` on a body that is not JSON."""


@dataclass
class _Route:
    kind: str
    pattern: str
    handler: Optional[Callable[[Any], Any]]
    """`None` for a declaration (a setting)."""
    via: str
    """The decorator as written, for messages: `@app.action("count")`."""


class App:
    """A botyard app: `app = App("hello", "Greets you")`, then handlers
    registered with its decorators. The build finds the module-level `App`
    in `app.py` and serves it; write no other glue.

    ::

        app = App("hello", "Greets you")

        @app.command("/hello", "Say hello", usage="[name]")
        def hello(request):
            return in_channel(f"Hello, <@{request.context.user_id}>!")
    """

    def __init__(self, name: str, description: str = ""):
        if not isinstance(name, str) or not _APP_NAME.fullmatch(name):
            raise ValueError(
                f"App name {name!r} must be short and stable, of [a-z0-9-] "
                '(it is the app\'s storage namespace): App("hello", "Greets you")'
            )
        if not isinstance(description, str):
            raise TypeError(f"App description must be a string, not {type(description).__name__}")
        self.name = name
        self.description = description
        self._routes: List[_Route] = []
        self._exact: Dict[str, Dict[str, _Route]] = {kind: {} for kind in _KINDS}
        self._prefixes: Dict[str, List[Tuple[str, _Route]]] = {kind: [] for kind in _KINDS}
        self._commands: List[CommandSpec] = []
        self._subcommands: List[SubcommandSpec] = []
        self._events: List[str] = []
        self._schedules: List[ScheduleSpec] = []
        self._shortcuts: List[ShortcutSpec] = []
        self._webhooks: List[WebhookSpec] = []
        self._settings: List[SettingSpec] = []
        self._phrases: List[Any] = []

    def __repr__(self) -> str:
        return f"App({self.name!r}, {self.description!r})"

    # Registration

    def command(self, name: str, description: str, usage: str = "") -> Callable[[Handler], Handler]:
        """A slash command, `"/hello"`, or a subcommand of a shared umbrella
        command, `"/spy status"` — up to three words after the umbrella for
        an area's verbs, `"/spy servers stop"`. The handler receives a `CommandRequest`
        and may return a reply (`ephemeral(...)`, `in_channel(...)`), a
        string (an ephemeral reply) or `None` (acknowledged silently)."""
        words = _text("command name", name).split()
        if not 1 <= len(words) <= 1 + _MAX_SUBCOMMAND_WORDS or not _COMMAND.fullmatch(words[0]) or "*" in name:
            raise ValueError(
                f"command name {name!r} must be a slash command, `/hello`, or an umbrella "
                f"subcommand, `/spy status` or `/spy servers stop` (up to {_MAX_SUBCOMMAND_WORDS} "
                "words after the umbrella)"
            )
        _text("description", description)
        _text("usage", usage)
        key = " ".join(words)

        def declare() -> None:
            if len(words) == 1:
                self._commands.append(CommandSpec(name=key, description=description, usage=usage))
            else:
                self._subcommands.append(
                    SubcommandSpec(umbrella=words[0], name=" ".join(words[1:]), description=description, usage=usage)
                )

        return self._register("command", key, _via("command", name), exact_only=True, declare=declare)

    def action(self, action_id: str) -> Callable[[Handler], Handler]:
        """A click on a button, a choice in a select … with this `action_id`
        (`"vote:*"`: every id starting `vote:`). The handler receives an
        `ActionRequest` and may return `update(...)` (replace the message),
        a reply or a string (answer the clicker), or `None`."""
        return self._register("action", action_id, _via("action", action_id))

    def view(self, callback_id: str) -> Callable[[Handler], Handler]:
        """A modal with this `callback_id` was submitted. The handler receives
        a `ViewSubmission` and may return `field_errors(...)`,
        `update_view(...)`, `push_view(...)`, `clear_views()`, or `None`
        (close it)."""
        return self._register("view", callback_id, _via("view", callback_id))

    def view_closed(self, callback_id: str) -> Callable[[Handler], Handler]:
        """A modal with this `callback_id` that set `notify_on_close` was
        closed without submitting. The handler receives a `ViewClosed`."""
        return self._register("view_closed", callback_id, _via("view_closed", callback_id))

    def event(self, event_type: str) -> Callable[[Handler], Handler]:
        """An Events API event (`"app_mention"`, `"reaction_added"` …); the
        app subscribes to it. The handler receives an `Event` whose
        `payload` is Slack's inner event as JSON text."""
        if event_type == VIEW_CLOSED_EVENT:
            raise ValueError(
                'a closed modal is not an Events API event: register its handler with '
                '@app.view_closed("<callback_id>")'
            )
        return self._register(
            "event",
            event_type,
            _via("event", event_type),
            exact_only=True,
            declare=lambda: self._events.append(event_type),
        )

    def schedule(self, name: str, cron: str) -> Callable[[Handler], Handler]:
        """A recurring tick named `name`, cron in UTC with five fields
        (`"0 11 * * 1-5"`: 11:00 on weekdays) or six (leading seconds). The
        handler receives a `Tick`."""
        _text("cron", cron)
        return self._register(
            "tick",
            name,
            _via("schedule", name, cron),
            exact_only=True,
            declare=lambda: self._schedules.append(ScheduleSpec(name=name, cron=cron)),
        )

    def tick(self, name: str) -> Callable[[Handler], Handler]:
        """One-off ticks set with `schedule.once(name, at_ms)` (`"close:*"`:
        every name starting `close:`). The handler receives a `Tick`."""
        return self._register("tick", name, _via("tick", name))

    def shortcut(
        self, callback_id: str, name: str, kind: str = "global", description: str = ""
    ) -> Callable[[Handler], Handler]:
        """A shortcut called `name` in Slack's menus: `kind="global"` (the
        shortcuts menu) or `"message"` (a message's "More actions" menu). The
        handler receives a `ShortcutRequest`; it usually opens a modal with
        `request.context.trigger_id`."""
        _text("shortcut name", name)
        _text("description", description)
        kinds = {"global": ShortcutKind.GLOBAL, "message": ShortcutKind.MESSAGE}
        if kind not in kinds:
            raise ValueError(f'shortcut kind must be "global" or "message", not {kind!r}')
        if isinstance(callback_id, str) and "*" in callback_id:
            raise ValueError(
                f"shortcut {callback_id!r}: a shortcut is listed in Slack's app manifest under its "
                "exact callback id, so it cannot be a `*` prefix"
            )
        spec = ShortcutSpec(callback_id=callback_id, kind=kinds[kind], name=name, description=description)
        return self._register(
            "shortcut",
            callback_id,
            _via("shortcut", callback_id, name),
            exact_only=True,
            declare=lambda: self._shortcuts.append(spec),
        )

    def webhook(self, name: str, description: str = "") -> Callable[[Handler], Handler]:
        """A webhook, which the host serves at `POST /hooks/<app>/<name>`
        once the operator configures who may call it (`name`: `[a-z0-9_-]`).
        The handler receives a `WebhookRequest` — `body`, `headers`,
        `header(name)`, `text()`, `json()` — and returns nothing when done.
        Raising an exception (or returning one) asks the host to try again
        later, with the same `delivery_id` and a higher `attempt`::

            @app.webhook("github", "Pushes and pull requests")
            def github(request):
                if request.header("X-GitHub-Event") == "push":
                    slack.post_message(settings.get("channel"), request.json()["head_commit"]["message"])
        """
        via = _via("webhook", name)
        _text("webhook name", name)
        if not _WEBHOOK_NAME.fullmatch(name):
            raise ValueError(
                f"{via}: a webhook's name is the last part of its path (`/hooks/<app>/<name>`): "
                "[a-z0-9_-]"
            )
        _text("description", description)
        spec = WebhookSpec(name=name, description=description)
        return self._register(
            "webhook", name, via, exact_only=True, declare=lambda: self._webhooks.append(spec)
        )

    def setting(
        self, name: str, description: str = "", default: Any = None, required: bool = False
    ) -> None:
        """Declares a setting the app reads with `settings.get(name)`, so the
        host can show it, fill in its default, and refuse to load the app
        while a `required` one is missing (`name`: a key of
        `[apps.<id>.settings]`, `[A-Za-z0-9_-]`). While a handler runs,
        `settings.get(name)` answers the operator's value, else `default`.
        `default` is text as `settings.get` returns it; anything else is kept
        as JSON (`default=0` reads back as `"0"`, and `get_json` gives `0`)::

            app.setting("channel", "Where to post", default="#general")
            app.setting("approver", "Who approves orders", required=True)
        """
        via = f"app.setting({json.dumps(name, ensure_ascii=False) if isinstance(name, str) else repr(name)})"
        _text("setting name", name)
        if not _SETTING_NAME.fullmatch(name):
            raise ValueError(f"{via}: a setting's name is a key of [apps.<id>.settings]: [A-Za-z0-9_-]")
        _text("description", description)
        if not isinstance(required, bool):
            raise TypeError(f"{via}: required is True or False, not {required!r}")
        if default is None or isinstance(default, str):
            text = default
        else:
            try:
                text = json.dumps(default, ensure_ascii=False, allow_nan=False)
            except (TypeError, ValueError) as e:
                raise TypeError(f"{via}: the default is text, or a value JSON can write: {e}") from None
        route = _Route("setting", name, None, via)
        self._routes.append(route)
        self._exact["setting"].setdefault(name, route)
        self._settings.append(SettingSpec(name=name, description=description, default=text, required=required))

    def phrase(
        self,
        line: str,
        aliases: Optional[List[str]] = None,
        examples: Optional[List[str]] = None,
        slots: Optional[Dict[str, Any]] = None,
        read_only: bool = False,
    ) -> None:
        """Declares what people may say to `@botyard` for one of this app's
        commands. The host matches every app's phrases, fills the slots from
        the words, and answers with the command line it understood: a
        read-only one runs at once, anything else is offered with a button,
        never run on its own. `line` is the command line, slots in braces
        (`[for {reason}]` is dropped when `reason` is empty); a slot is a
        kind — "user", "number", "amount", "duration", "date", "word",
        "text" — or {"id": "PO-"}, {"pattern": "web-[0-9]+"},
        {"choice": {"month": ["month", "달"]}}, with "default" and
        "optional" beside it::

            app.phrase("/po approve {po}", aliases=["approve", "승인"],
                       examples=["please approve {po}"], slots={"po": {"id": "PO-"}})
        """
        via = f"app.phrase({json.dumps(line, ensure_ascii=False) if isinstance(line, str) else repr(line)})"
        _text("phrase line", line)
        if not line.startswith("/"):
            raise ValueError(f"{via}: the line is a command line like \"/po approve {{po}}\"")
        words = {}
        for name, given in (("aliases", aliases), ("examples", examples)):
            given = list(given or [])
            if not all(isinstance(t, str) for t in given):
                raise TypeError(f"{via}: {name} is a list of strings")
            words[name] = given
        specs = [_slot_spec(via, name, spec) for name, spec in (slots or {}).items()]
        self._phrases.append(
            _phrases.PhraseSpec(
                line=line,
                aliases=words["aliases"],
                examples=words["examples"],
                slots=specs,
                read_only=bool(read_only),
            )
        )

    def describe_phrases(self) -> List[Any]:
        """The phrases declared: the WIT's `describe-phrases`."""
        return list(self._phrases)

    def _register(
        self,
        kind: str,
        pattern: str,
        via: str,
        exact_only: bool = False,
        declare: Optional[Callable[[], None]] = None,
    ) -> Callable[[Handler], Handler]:
        _text(f"{kind} id", pattern)
        if not pattern:
            raise ValueError(f"{via}: the id is empty")
        star = pattern.find("*")
        if star != -1 and (exact_only or star != len(pattern) - 1):
            where = "" if exact_only else " except as its last character (a prefix)"
            raise ValueError(f"{via}: `*` is not allowed in the id{where}")

        def register(handler: Handler) -> Handler:
            if not callable(handler):
                raise TypeError(f"{via} decorates a function, not {type(handler).__name__}")
            route = _Route(kind, pattern, handler, via)
            self._routes.append(route)
            if pattern.endswith("*"):
                self._prefixes[kind].append((pattern[:-1], route))
            else:
                self._exact[kind].setdefault(pattern, route)
            if declare is not None:
                declare()
            return handler

        return register

    # What the app answers to

    def check(self) -> None:
        """Raises `RegistrationError` if an id is registered more than once."""
        seen: Dict[Tuple[str, str], List[_Route]] = {}
        for route in self._routes:
            seen.setdefault((route.kind, route.pattern), []).append(route)
        problems = [
            f"{kind} `{pattern}` is registered {len(routes)} times "
            f"({', '.join(_where(r) for r in routes)})"
            for (kind, pattern), routes in seen.items()
            if len(routes) > 1
        ]
        if problems:
            raise RegistrationError(f"app `{self.name}`: " + "; ".join(problems))

    def describe(self) -> AppInfo:
        """Derived from the registrations; fails on a duplicate."""
        self.check()
        return AppInfo(
            name=self.name,
            description=self.description,
            commands=list(self._commands),
            subcommands=list(self._subcommands),
            events=list(self._events),
            schedules=list(self._schedules),
        )

    def describe_shortcuts(self) -> List[ShortcutSpec]:
        """The shortcuts registered; fails on a duplicate like `describe`."""
        self.check()
        return list(self._shortcuts)

    def describe_webhooks(self) -> List[WebhookSpec]:
        """The webhooks registered; fails on a duplicate like `describe`."""
        self.check()
        return list(self._webhooks)

    def describe_settings(self) -> List[SettingSpec]:
        """The settings declared; fails on a duplicate like `describe`."""
        self.check()
        return list(self._settings)

    def declared_defaults(self) -> Dict[str, str]:
        """`{name: default}` of the settings declared with a default (what
        `settings.get` falls back on while this app handles a request)."""
        defaults: Dict[str, str] = {}
        for spec in self._settings:
            if spec.default is not None:
                defaults.setdefault(spec.name, spec.default)
        return defaults

    def handler_for(self, kind: str, key: str) -> Optional[Callable[[Any], Any]]:
        """The handler a request of `kind` ("command", "action", "view",
        "view_closed", "event", "tick", "shortcut", "webhook") with id `key` goes to:
        the exact registration, else the longest matching prefix."""
        route = self._exact[kind].get(key)
        if route is None:
            matching = [(p, r) for p, r in self._prefixes[kind] if key.startswith(p)]
            if matching:
                route = max(matching, key=lambda pr: len(pr[0]))[1]
        return None if route is None else route.handler

    # Requests (called by the component's exports)

    def on_command(self, request: CommandRequest) -> Optional[Reply]:
        key = request.command if request.subcommand is None else f"{request.command} {request.subcommand}"
        result = self._dispatch("command", key, request)
        if result is None or isinstance(result, Reply):
            return result
        if isinstance(result, str):
            return ephemeral(result)
        raise _bad_answer("command", key, result, "ephemeral(...), in_channel(...), a string or None")

    def on_action(self, request: ActionRequest) -> ActionResponse:
        result = self._dispatch("action", request.action_id, request)
        if result is None:
            return ActionResponse_None_()
        if isinstance(result, str):
            result = ephemeral(result)
        if isinstance(result, Reply):
            return ActionResponse_Reply(result)
        if isinstance(result, _ACTION_RESPONSES):
            return result
        raise _bad_answer(
            "action", request.action_id, result, "update(...), a reply, a string or None"
        )

    def on_view_submission(self, submission: ViewSubmission) -> ViewResponse:
        result = self._dispatch("view", submission.callback_id, submission)
        if result is None:
            return ViewResponse_Close()
        if isinstance(result, _VIEW_RESPONSES):
            return result
        raise _bad_answer(
            "view",
            submission.callback_id,
            result,
            "field_errors(...), update_view(...), push_view(...), clear_views(), close_view() or None",
        )

    def on_event(self, event: Event) -> None:
        if event.event_type == VIEW_CLOSED_EVENT:
            closed = _view_closed(event)
            self._dispatch("view_closed", closed.callback_id, closed)
        else:
            self._dispatch("event", event.event_type, event)

    def on_tick(self, tick: Tick) -> None:
        self._dispatch("tick", tick.name, tick)

    def on_shortcut(self, request: ShortcutRequest) -> None:
        self._dispatch("shortcut", request.callback_id, request)

    def on_webhook(self, request: Any) -> None:
        """Runs the webhook's handler. Anything it raises (or returns as an
        exception) is the WIT's `err`, which asks the host to try again
        later; an exception other than `botyard.Error` has its traceback
        written to the app's log first."""
        delivery = WebhookRequest(
            name=request.name,
            delivery_id=request.delivery_id,
            attempt=request.attempt,
            content_type=request.content_type,
            headers=[(k, v) for k, v in request.headers],
            body=bytes(request.body),
        )
        handling(self.declared_defaults())
        handler = self.handler_for("webhook", delivery.name)
        if handler is None:
            raise Err(f"app `{self.name}` has no handler for webhook `{delivery.name}`")
        try:
            result = handler(delivery)
        except Err:
            raise
        except Exception as e:
            if not isinstance(e, Error):
                traceback.print_exc(file=sys.stderr)
            raise Err(_failure(e)) from None
        if isinstance(result, Exception):
            raise Err(_failure(result))

    def _dispatch(self, kind: str, key: str, request: Any) -> Any:
        handling(self.declared_defaults())
        handler = self.handler_for(kind, key)
        if handler is None:
            raise Err(f"app `{self.name}` has no handler for {kind} `{key}`")
        try:
            return handler(request)
        except Error as e:
            # The WIT `result`'s error case: shown to the user, not a crash.
            raise Err(str(e)) from None


def _via(decorator: str, *args: str) -> str:
    """The decorator as written: `@app.action("count")`."""
    shown = (json.dumps(a, ensure_ascii=False) if isinstance(a, str) else repr(a) for a in args)
    return f"@app.{decorator}({', '.join(shown)})"


def _text(what: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, not {type(value).__name__}")
    return value


def _name_of(handler: Callable[..., Any]) -> str:
    return getattr(handler, "__name__", None) or repr(handler)


def _where(route: _Route) -> str:
    """A registration, for messages: the decorator and what it decorates."""
    return route.via if route.handler is None else f"{route.via} on {_name_of(route.handler)}"


def _failure(e: BaseException) -> str:
    """What a failed webhook delivery records: a `botyard.Error`'s message,
    or the exception's type and message."""
    if isinstance(e, Error):
        return str(e)
    text = str(e)
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _bad_answer(kind: str, key: str, result: Any, expected: str) -> TypeError:
    return TypeError(
        f"the handler for {kind} `{key}` returned {type(result).__name__}; return {expected}"
    )


def _view_closed(event: Event) -> ViewClosed:
    payload = json.loads(event.payload or "{}")
    return ViewClosed(
        callback_id=payload.get("callback_id") or "",
        view_id=payload.get("view_id") or "",
        values=json.dumps(payload.get("values") or {}),
        private_metadata=payload.get("private_metadata") or "",
        is_cleared=bool(payload.get("is_cleared")),
        context=InvocationContext(
            user_id=payload.get("user_id") or "", channel_id="", trigger_id=None
        ),
    )


_SLOT_KINDS = {
    "user": _phrases.SlotKind_User,
    "number": _phrases.SlotKind_Number,
    "amount": _phrases.SlotKind_Amount,
    "duration": _phrases.SlotKind_Duration,
    "date": _phrases.SlotKind_Date,
    "word": _phrases.SlotKind_Word,
    "text": _phrases.SlotKind_Text,
}


def _slot_spec(via: str, name: str, spec: Any) -> Any:
    """A slot of `App.phrase` as the WIT's `slot-spec`."""
    s = {"kind": spec} if isinstance(spec, str) else dict(spec)
    if "id" in s:
        kind: Any = _phrases.SlotKind_Id(str(s["id"]))
    elif "pattern" in s:
        kind = _phrases.SlotKind_Pattern(str(s["pattern"]))
    elif "choice" in s:
        kind = _phrases.SlotKind_Choice(
            [_phrases.ChoiceSpec(value=str(v), words=[str(w) for w in ws]) for v, ws in s["choice"].items()]
        )
    elif s.get("kind") in _SLOT_KINDS:
        kind = _SLOT_KINDS[s["kind"]]()
    else:
        raise ValueError(
            f"{via}: slot {name}: kind {s.get('kind')!r} is none of {', '.join(_SLOT_KINDS)}, id, pattern or choice"
        )
    default = s.get("default")
    return _phrases.SlotSpec(
        name=name,
        kind=kind,
        default=None if default is None else str(default),
        optional=bool(s.get("optional", False)),
    )
