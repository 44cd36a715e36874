"""Talking to Slack beyond the direct reply: post, update, DM, modals, App Home.

The calls keep the WIT's names and argument order. Wherever the WIT takes a
message, give a `botyard.message(text, blocks)` or just the text (with
`blocks=` beside it); blocks and views may be lists/dicts from
`botyard.blocks` or JSON text. Calls are queued durably by the host before
they return::

    from botyard import slack, blocks as b

    ref = slack.post_message("C123", "Lunch is here", blocks=[b.header("Lunch is here")])
    slack.add_reaction(ref, "tada")
    slack.open_view(request.context.trigger_id, b.modal("New order", "order", [...]))

A failing call raises `SlackError`; left uncaught in a handler, its message is
shown to the user.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, TypeVar, Union

from componentize_py_types import Err
from wit_world.imports.types import Message, MessageRef

from ._core import Blocks, Error, View, absent, as_message, view_json

try:
    from wit_world.imports import slack as _wit
    from wit_world.imports.slack import UserInfo
except ImportError:  # the build found no use of slack: this component does not import it
    _wit = absent("slack")
    UserInfo = Any  # type: ignore[misc,assignment]

T = TypeVar("T")

__all__ = [
    "SlackError",
    "MessageRef",
    "UserInfo",
    "post_message",
    "update_message",
    "delete_message",
    "post_ephemeral",
    "send_dm",
    "open_view",
    "push_view",
    "update_view",
    "publish_home",
    "add_reaction",
    "lookup_user",
]


class SlackError(Error):
    """A Slack call failed. `kind` is `"invalid_blocks"` (a Block Kit limit
    is broken; the message says which), `"api"` (Slack's error code) or
    `"invalid_argument"`; `detail` is the host's text."""

    def __init__(self, call: str, cause: Any):
        name = type(cause).__name__.removeprefix("SlackError_")
        self.kind = "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
        self.detail = getattr(cause, "value", "")
        super().__init__(f"slack {call} failed ({self.kind.replace('_', ' ')}): {self.detail}")


def _call(call: str, fn: Callable[..., T], *args: Any) -> T:
    try:
        return fn(*args)
    except Err as e:
        raise SlackError(call, e.value) from None


def post_message(
    channel: str,
    message: Union[Message, str],
    thread_ts: Optional[str] = None,
    *,
    blocks: Blocks = None,
) -> MessageRef:
    """Posts to `channel` (in the thread of `thread_ts` if given)."""
    return _call("post-message", _wit.post_message, channel, as_message(message, blocks), thread_ts)


def update_message(target: MessageRef, message: Union[Message, str], *, blocks: Blocks = None) -> None:
    """Replaces a message the app posted."""
    _call("update-message", _wit.update_message, target, as_message(message, blocks))


def delete_message(target: MessageRef) -> None:
    """Deletes a message the app posted."""
    _call("delete-message", _wit.delete_message, target)


def post_ephemeral(
    channel: str, user: str, message: Union[Message, str], *, blocks: Blocks = None
) -> None:
    """Shows a message in `channel` that only `user` sees."""
    _call("post-ephemeral", _wit.post_ephemeral, channel, user, as_message(message, blocks))


def send_dm(user: str, message: Union[Message, str], *, blocks: Blocks = None) -> MessageRef:
    """Sends `user` a direct message."""
    return _call("send-dm", _wit.send_dm, user, as_message(message, blocks))


def open_view(trigger_id: str, view: View) -> str:
    """Opens a modal; `trigger_id` comes from the request's context (valid ~3 s).
    Returns the view id."""
    return _call("open-view", _wit.open_view, trigger_id, view_json(view))


def push_view(trigger_id: str, view: View) -> str:
    """Pushes a modal on top of the open one. Returns the view id."""
    return _call("push-view", _wit.push_view, trigger_id, view_json(view))


def update_view(view_id: str, view: View) -> None:
    """Replaces an open modal."""
    _call("update-view", _wit.update_view, view_id, view_json(view))


def publish_home(user: str, view: View) -> None:
    """Publishes `user`'s App Home tab (a `blocks.home(...)` view)."""
    _call("publish-home", _wit.publish_home, user, view_json(view))


def add_reaction(target: MessageRef, emoji: str) -> None:
    """Reacts to a message with an emoji name, without colons (`unicorn_face`)."""
    _call("add-reaction", _wit.add_reaction, target, emoji)


def lookup_user(user: str) -> UserInfo:
    """What Slack knows of `user`: name, real name, time zone, whether a bot."""
    return _call("lookup-user", _wit.lookup_user, user)
