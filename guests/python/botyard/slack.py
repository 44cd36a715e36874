"""Talking to Slack beyond the direct reply: post (with a thread, broadcast,
metadata), schedule, update, DM, modals, App Home, reactions, users, threads,
channels and their members, user groups, topics, pins, file uploads.

The calls keep the WIT's names and argument order. Wherever the WIT takes a
message, give a `botyard.message(text, blocks)` or just the text (with
`blocks=` beside it); blocks and views may be lists/dicts from
`botyard.blocks` or JSON text. Calls that change something are queued
durably by the host before they return; calls that ask a question
(`get_permalink`, `thread_replies`, `channel_members`, `user_groups`,
`user_group_members`, `lookup_user`) ask Slack at once::

    from botyard import slack, blocks as b

    ref = slack.post_message("C123", "Lunch is here", blocks=[b.header("Lunch is here")])
    slack.add_reaction(ref, "tada")
    slack.post("C123", "Deployed 1.2.3", thread_ts=ref.ts, reply_broadcast=True,
               metadata={"event_type": "deploy", "payload": {"version": "1.2.3"}})
    slack.open_view(request.context.trigger_id, b.modal("New order", "order", [...]))

A failing call raises `SlackError`; left uncaught in a handler, its message is
shown to the user.
"""

from __future__ import annotations

import datetime
import json
from typing import Any, Callable, Iterable, List, Mapping, Optional, Tuple, TypeVar, Union

from componentize_py_types import Err
from wit_world.imports.types import Message, MessageRef

from ._core import Blocks, Error, View, absent, as_message, view_json

try:
    from wit_world.imports import slack as _wit
    from wit_world.imports.slack import MessageMetadata, ThreadMessage, UserGroup, UserInfo
except ImportError:  # the build found no use of slack: this component does not import it
    _wit = absent("slack")
    MessageMetadata = ThreadMessage = UserGroup = UserInfo = Any  # type: ignore[misc,assignment]

T = TypeVar("T")

__all__ = [
    "SlackError",
    "MessageRef",
    "UserInfo",
    "MessageMetadata",
    "ThreadMessage",
    "UserGroup",
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
    "post",
    "schedule_message",
    "get_permalink",
    "thread_replies",
    "channel_members",
    "user_groups",
    "user_group_members",
    "create_channel",
    "invite",
    "set_topic",
    "pin",
    "upload_file",
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


Metadata = Union["MessageMetadata", Mapping[str, Any], Tuple[str, Any]]
"""Message metadata: `{"event_type": "deploy", "payload": {...}}`, the pair
`("deploy", {...})`, or a `MessageMetadata`; the payload is a JSON object
(a dict, or its JSON text)."""


def post(
    channel: str,
    message: Union[Message, str],
    thread_ts: Optional[str] = None,
    reply_broadcast: bool = False,
    metadata: Optional[Metadata] = None,
    *,
    blocks: Blocks = None,
) -> MessageRef:
    """Posts to `channel`: in the thread of `thread_ts` if given, also shown
    in the channel with `reply_broadcast=True`, carrying Slack message
    `metadata` (an event type and a JSON object) if given."""
    if not isinstance(reply_broadcast, bool):
        raise TypeError(f"slack.post: reply_broadcast is True or False, not {reply_broadcast!r}")
    options = _wit.PostOptions(
        thread_ts=thread_ts, reply_broadcast=reply_broadcast, metadata=_metadata(metadata)
    )
    return _call("post", _wit.post, channel, as_message(message, blocks), options)


def _metadata(metadata: Optional[Metadata]) -> Any:
    """`metadata` as the WIT's `message-metadata` (or `None`)."""
    if metadata is None or type(metadata).__name__ == "MessageMetadata":
        return metadata
    shape = 'metadata is {"event_type": ..., "payload": {...}} (or the pair (event_type, payload))'
    if isinstance(metadata, Mapping):
        unknown = set(metadata) - {"event_type", "payload"}
        if unknown or "event_type" not in metadata or "payload" not in metadata:
            raise TypeError(f"slack.post: {shape}, not {dict(metadata)!r}")
        event_type, payload = metadata["event_type"], metadata["payload"]
    elif isinstance(metadata, tuple) and len(metadata) == 2:
        event_type, payload = metadata
    else:
        raise TypeError(f"slack.post: {shape}, not {metadata!r}")
    if not isinstance(event_type, str) or not event_type:
        raise TypeError(f"slack.post: the metadata's event_type is a non-empty string, not {event_type!r}")
    if not isinstance(payload, str):
        if not isinstance(payload, Mapping):
            raise TypeError(f"slack.post: the metadata's payload is a JSON object (a dict), not {payload!r}")
        payload = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return _wit.MessageMetadata(event_type=event_type, payload=payload)


def schedule_message(
    channel: str,
    message: Union[Message, str],
    post_at: Union[int, float, datetime.datetime],
    thread_ts: Optional[str] = None,
    *,
    blocks: Blocks = None,
) -> str:
    """Posts `message` at `post_at` — a `datetime` or Unix **seconds**
    (`time.time() + 3600`), within 120 days — in `channel` or the thread of
    `thread_ts`. Returns the scheduled message's id."""
    return _call(
        "schedule-message",
        _wit.schedule_message,
        channel,
        as_message(message, blocks),
        _unix_seconds(post_at),
        thread_ts,
    )


def _unix_seconds(at: Any) -> int:
    if isinstance(at, datetime.datetime):
        seconds = at.timestamp()  # a naive datetime is the sandbox's local time: UTC
    elif isinstance(at, (int, float)) and not isinstance(at, bool):
        seconds = at
    else:
        raise TypeError(f"slack.schedule_message: post_at is a datetime or Unix seconds, not {at!r}")
    if not seconds >= 0:
        raise ValueError(f"slack.schedule_message: post_at is a datetime or Unix seconds, not {at!r}")
    if seconds >= 1e11:
        raise ValueError(
            f"slack.schedule_message: post_at is in seconds; {at!r} looks like milliseconds "
            "(divide by 1000, or pass a datetime)"
        )
    return int(seconds)


def get_permalink(target: MessageRef) -> str:
    """A link to a message, for people to follow (asks Slack at once)."""
    return _call("get-permalink", _wit.get_permalink, target)


def thread_replies(target: MessageRef, limit: int = 100) -> List[ThreadMessage]:
    """The messages of the thread of `target` — each with `ts`, `user` and
    `text` — the parent first, at most `limit` (asks Slack at once)."""
    return _call("thread-replies", _wit.thread_replies, target, limit)


def channel_members(channel: str) -> List[str]:
    """The user ids of a channel's members (asks Slack at once)."""
    return _call("channel-members", _wit.channel_members, channel)


def user_groups() -> List[UserGroup]:
    """The workspace's user groups — `id`, `handle` (what people type after
    `@`), `name` (asks Slack at once)."""
    return _call("user-groups", _wit.user_groups)


def user_group_members(group: str) -> List[str]:
    """The user ids of a user group's members, by the group's id (asks Slack at once)."""
    return _call("user-group-members", _wit.user_group_members, group)


def create_channel(name: str, is_private: bool = False) -> str:
    """Creates a channel (`name`: lowercase, no `#`) and returns its id,
    which later calls may use at once."""
    if not isinstance(is_private, bool):
        raise TypeError(f"slack.create_channel: is_private is True or False, not {is_private!r}")
    return _call("create-channel", _wit.create_channel, name, is_private)


def invite(channel: str, users: Union[str, Iterable[str]]) -> None:
    """Adds people to a channel: one user id, or several."""
    _call("invite", _wit.invite, channel, [users] if isinstance(users, str) else list(users))


def set_topic(channel: str, topic: str) -> None:
    """Sets a channel's topic."""
    _call("set-topic", _wit.set_topic, channel, topic)


def pin(target: MessageRef) -> None:
    """Pins a message to its channel."""
    _call("pin", _wit.pin, target)


def upload_file(
    channel: str,
    filename: str,
    title: str,
    content: Union[bytes, bytearray, memoryview, str],
    thread_ts: Optional[str] = None,
) -> None:
    """Uploads a file into `channel` (or the thread of `thread_ts`), e.g. a
    CSV export: `content` is bytes, or text sent as UTF-8; at most 1 MiB. A
    user id as `channel` means that person's DM (the host opens it)."""
    if isinstance(content, str):
        data = content.encode()
    elif isinstance(content, (bytes, bytearray, memoryview)):
        data = bytes(content)
    else:
        raise TypeError(f"slack.upload_file: content is bytes or text, not {type(content).__name__}")
    _call("upload-file", _wit.upload_file, channel, filename, title, data, thread_ts)
