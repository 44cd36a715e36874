"""botyard: Slack apps in Python, run by the botyard host as sandboxed
WebAssembly components.

An app is a module `app.py` with a class named `Handler` (that is the name
componentize-py serves) deriving from `App`. Declare what the app answers to
as class attributes and write only the handlers it needs::

    import botyard
    from botyard import store

    class Handler(botyard.App):
        name = "ping"
        description = "Answers pong"
        commands = [botyard.command("/ping", "Check the bot is alive")]

        def on_command(self, request):
            n = store.increment(f"pings/{request.context.user_id}")
            return botyard.ephemeral(f"pong #{n}")

Handlers receive the WIT records (`CommandRequest`, `ActionRequest`, …, all
importable from here) and answer with the helpers below. Raise `Error` to
show the user a short message instead of an answer. Every call runs in a
fresh instance: keep state in `botyard.store`, not in globals.

Modules: `blocks` (Block Kit builders), `store` (key-value, JSON helpers),
`slack` (post, update, DM, modals, App Home), `log`, `schedule`.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Mapping, Optional, Sequence, Union

from componentize_py_types import Err
from wit_world.imports import clock as _clock
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
    FieldError,
    InvocationContext,
    Message,
    MessageRef,
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
    Visibility,
)

from .blocks import to_json

Blocks = Union[Sequence[dict], str, None]
"""Block Kit blocks: a list from `botyard.blocks`, JSON text, or `None`."""


class Error(Exception):
    """Raise it from a handler to answer the user with its message (Slack
    shows it; the audit log records it) instead of a reply."""


# Messages and replies


def message(text: str, blocks: Blocks = None) -> Message:
    """A message: `text` is the notification and fallback text; `blocks`,
    when given, is what Slack renders."""
    if blocks is not None and not isinstance(blocks, str):
        blocks = to_json(list(blocks))
    return Message(text=text, blocks=blocks)


def ephemeral(text: str, blocks: Blocks = None) -> Reply:
    """A reply only the person who acted sees."""
    return Reply(visibility=Visibility.EPHEMERAL, message=message(text, blocks))


def in_channel(text: str, blocks: Blocks = None) -> Reply:
    """A reply everyone in the channel sees."""
    return Reply(visibility=Visibility.IN_CHANNEL, message=message(text, blocks))


def update(text: str, blocks: Blocks = None) -> ActionResponse:
    """From `on_action`: replace the message that held the clicked element."""
    return ActionResponse_Update(message(text, blocks))


# Answers to a modal submission (from `on_view_submission`)


def close_view() -> ViewResponse:
    """Close the submitted view (what returning `None` does)."""
    return ViewResponse_Close()


def clear_views() -> ViewResponse:
    """Close every view in the stack."""
    return ViewResponse_Clear()


def field_errors(errors: Mapping[str, str]) -> ViewResponse:
    """Keep the modal open and show `{block_id: message}` under those input blocks."""
    return ViewResponse_Errors([FieldError(block_id=b, message=m) for b, m in errors.items()])


def replace_view(view: Union[dict, str]) -> ViewResponse:
    """Replace the submitted view with `view` (e.g. a confirmation modal)."""
    return ViewResponse_Update(view if isinstance(view, str) else to_json(view))


def push_view(view: Union[dict, str]) -> ViewResponse:
    """Push `view` on top of the submitted one."""
    return ViewResponse_Push(view if isinstance(view, str) else to_json(view))


# What an app declares


def command(name: str, description: str, usage: str = "") -> CommandSpec:
    """A slash command, with its slash: `command("/poll", "Run a poll", "<question>")`."""
    return CommandSpec(name=name, description=description, usage=usage)


def subcommand(umbrella: str, name: str, description: str, usage: str = "") -> SubcommandSpec:
    """A subcommand of a shared umbrella command: `subcommand("/spy", "status", "Queue status")`."""
    return SubcommandSpec(umbrella=umbrella, name=name, description=description, usage=usage)


def recurring(name: str, cron: str) -> ScheduleSpec:
    """A recurring tick, cron in UTC: `recurring("menu", "0 11 * * 1-5")`
    calls `on_tick` with `tick.name == "menu"` at 11:00 on weekdays."""
    return ScheduleSpec(name=name, cron=cron)


def now_ms() -> int:
    """Wall-clock time in Unix milliseconds, from the host."""
    return _clock.now_ms()


# The app


def _command_result(result: Any) -> Optional[Reply]:
    return ephemeral(result) if isinstance(result, str) else result


def _action_result(result: Any) -> ActionResponse:
    if result is None:
        return ActionResponse_None_()
    if isinstance(result, str):
        result = ephemeral(result)
    if isinstance(result, Reply):
        return ActionResponse_Reply(result)
    return result


def _view_result(result: Any) -> ViewResponse:
    return ViewResponse_Close() if result is None else result


def _nothing(_: Any) -> None:
    return None


_HANDLERS: Mapping[str, Callable[[Any], Any]] = {
    "on_command": _command_result,
    "on_action": _action_result,
    "on_view_submission": _view_result,
    "on_event": _nothing,
    "on_tick": _nothing,
}


def _wrap(method: Callable[..., Any], convert: Callable[[Any], Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def handle(self: Any, request: Any) -> Any:
        try:
            return convert(method(self, request))
        except Error as e:
            # The WIT `result`'s error case: shown to the user, not a crash.
            raise Err(str(e)) from None

    return handle


class App:
    """Base class of an app. Set `name` (short, `[a-z0-9-]`), `description`
    and what it answers to; override only the handlers you need.

    Return values are forgiving:

    - `on_command`: a `Reply` (`ephemeral(...)`, `in_channel(...)`), a string
      (an ephemeral reply), or `None` (acknowledge silently).
    - `on_action`: `update(...)` to replace the clicked message, a `Reply` or
      string to answer the clicking user, or `None` for nothing visible.
    - `on_view_submission`: `None` (close), `field_errors(...)`,
      `replace_view(...)`, `push_view(...)`, `clear_views()`.
    """

    name: str = ""
    description: str = ""
    commands: Sequence[CommandSpec] = ()
    subcommands: Sequence[SubcommandSpec] = ()
    events: Sequence[str] = ()
    """Events API types to receive: `["app_mention", "reaction_added"]`."""
    schedules: Sequence[ScheduleSpec] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for attr, convert in _HANDLERS.items():
            if attr in cls.__dict__:
                setattr(cls, attr, _wrap(cls.__dict__[attr], convert))

    def describe(self) -> AppInfo:
        """Built from the class attributes; runs when a version is loaded."""
        if not self.name:
            raise ValueError(f"set `name` on {type(self).__name__}: it is the app's short name")
        return AppInfo(
            name=self.name,
            description=self.description,
            commands=list(self.commands),
            subcommands=list(self.subcommands),
            events=list(self.events),
            schedules=list(self.schedules),
        )

    def on_command(self, request: CommandRequest) -> Union[Reply, str, None]:
        """A slash command or subcommand the app declared."""
        return None

    def on_action(self, request: ActionRequest) -> Union[ActionResponse, Reply, str, None]:
        """A click on a button or select the app posted."""
        raise Error(f"{self.name} has no handler for the action `{request.action_id}`")

    def on_view_submission(self, submission: ViewSubmission) -> Optional[ViewResponse]:
        """A modal the app opened was submitted; `blocks.view_values(submission.values)`
        reads the form."""
        return None

    def on_event(self, event: Event) -> None:
        """An Events API event; `json.loads(event.payload)` is Slack's inner event."""

    def on_tick(self, tick: Tick) -> None:
        """A schedule from `schedules` or `schedule.once` is due."""


for _attr, _convert in _HANDLERS.items():
    setattr(App, _attr, _wrap(App.__dict__[_attr], _convert))
del _attr, _convert

# Last: these modules import the names above.
from . import blocks, log, schedule, slack, store  # noqa: E402

__all__ = [
    "App",
    "Error",
    "Blocks",
    "message",
    "ephemeral",
    "in_channel",
    "update",
    "close_view",
    "clear_views",
    "field_errors",
    "replace_view",
    "push_view",
    "command",
    "subcommand",
    "recurring",
    "now_ms",
    "blocks",
    "log",
    "schedule",
    "slack",
    "store",
    # WIT records handlers receive and return
    "ActionRequest",
    "ActionResponse",
    "AppInfo",
    "CommandRequest",
    "Event",
    "InvocationContext",
    "Message",
    "MessageRef",
    "Reply",
    "Tick",
    "ViewResponse",
    "ViewSubmission",
    "Visibility",
]
