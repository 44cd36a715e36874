"""What the rest of the SDK shares: the error type, messages, replies, the
answers to a modal submission, the stand-in for a capability this
component does not import, and the settings defaults of the app handling
the request."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, NoReturn, Optional, Sequence, Union

from wit_world.imports.types import (
    ActionResponse,
    ActionResponse_Update,
    FieldError,
    Message,
    Reply,
    ViewResponse,
    ViewResponse_Clear,
    ViewResponse_Close,
    ViewResponse_Errors,
    ViewResponse_Push,
    ViewResponse_Update,
    Visibility,
)

from .blocks import to_json

Blocks = Union[Sequence[dict], str, None]
"""Block Kit blocks: a list from `botyard.blocks`, JSON text, or `None`."""

View = Union[dict, str]
"""A view: a dict from `blocks.modal` / `blocks.home`, or its JSON text."""


class Error(Exception):
    """Raise it from a handler to answer the user with its message (Slack
    shows it; the audit log records it) instead of a reply."""


class CapabilityNotImported(Error):
    """The app called a capability its component does not import: the build
    found no use of it in the app's code (see `guests/python/README.md`)."""


class _Absent:
    """Stands in for the bindings of a capability this component does not
    import; any use says so, naming the capability."""

    def __init__(self, capability: str):
        self._capability = capability

    def __getattr__(self, name: str) -> NoReturn:
        if name.startswith("__"):
            raise AttributeError(name)  # introspection (copy, inspect …) is not a call
        raise CapabilityNotImported(
            f"this build does not import botyard's `{self._capability}` capability: "
            f"`botyard build` found no use of `botyard.{self._capability}` in the app's code. "
            f"Call it by name (`from botyard import {self._capability}`) and build again"
        )


def absent(capability: str) -> Any:
    """The bindings of `capability` when the component does not import it."""
    return _Absent(capability)


# The settings the app handling the request declared


_declared_defaults: Dict[str, str] = {}


def handling(defaults: Mapping[str, str]) -> None:
    """Called by the app before a handler runs: the defaults it declared
    (`app.setting(..., default=...)`), which `settings.get` falls back on."""
    global _declared_defaults
    _declared_defaults = dict(defaults)


def declared_default(name: str) -> Optional[str]:
    """The default the handling app declared for setting `name`, if any."""
    return _declared_defaults.get(name)


def declared_names() -> List[str]:
    """The settings the handling app declared with a default."""
    return list(_declared_defaults)


# Messages and replies


def message(text: str, blocks: Blocks = None) -> Message:
    """A message: `text` is the notification and fallback text; `blocks`,
    when given, is what Slack renders."""
    if not isinstance(text, str):
        raise TypeError(f"a message's text must be a string, not {type(text).__name__}")
    if blocks is not None and not isinstance(blocks, str):
        blocks = to_json(list(blocks))
    return Message(text=text, blocks=blocks)


def as_message(value: Union[Message, str], blocks: Blocks = None) -> Message:
    """`value` if it is a `Message` already, else `message(value, blocks)`."""
    if isinstance(value, Message):
        if blocks is not None:
            raise TypeError("give `blocks` with a text, not with a message that has its own")
        return value
    return message(value, blocks)


def ephemeral(text: str, blocks: Blocks = None) -> Reply:
    """A reply only the person who acted sees."""
    return Reply(visibility=Visibility.EPHEMERAL, message=message(text, blocks))


def in_channel(text: str, blocks: Blocks = None) -> Reply:
    """A reply everyone in the channel sees."""
    return Reply(visibility=Visibility.IN_CHANNEL, message=message(text, blocks))


def update(text: str, blocks: Blocks = None) -> ActionResponse:
    """From an action handler: replace the message that held the clicked element."""
    return ActionResponse_Update(message(text, blocks))


def view_json(view: View) -> str:
    return view if isinstance(view, str) else to_json(view)


# Answers to a modal submission (from a `view` handler)


def close_view() -> ViewResponse:
    """Close the submitted view (what returning `None` does)."""
    return ViewResponse_Close()


def clear_views() -> ViewResponse:
    """Close every view in the stack."""
    return ViewResponse_Clear()


def field_errors(errors: Mapping[str, str]) -> ViewResponse:
    """Keep the modal open and show `{block_id: message}` under those input blocks."""
    return ViewResponse_Errors([FieldError(block_id=b, message=m) for b, m in errors.items()])


def update_view(view: View) -> ViewResponse:
    """Replace the submitted view with `view` (e.g. a confirmation modal)."""
    return ViewResponse_Update(view_json(view))


def push_view(view: View) -> ViewResponse:
    """Push `view` on top of the submitted one."""
    return ViewResponse_Push(view_json(view))
