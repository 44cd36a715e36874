"""Block Kit builders: small functions that return Slack's JSON as dicts.

Compose them into lists and hand them to a reply, an update or a Slack call;
the SDK turns them into the JSON text the host expects (`to_json`). Every
builder writes exactly the fields Slack documents, so anything not covered
here can be written as a plain dict next to them::

    from botyard import blocks as b

    b.header("Lunch poll")
    b.section("*Pick one*", fields=["*Where*\\nCafé", "*When*\\n12:30"])
    b.actions(b.button("Vote", "vote", value="pizza", style="primary"))

The host checks Slack's limits (50 blocks per message, 3000 characters of
section text, …) and tells you which one a message breaks.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping, Optional, Sequence, Tuple, Union

Block = dict
"""One Block Kit block or element: a JSON object as a dict."""

Text = Union[str, dict]
"""A string, or a text object from `plain_text` / `mrkdwn`."""

OptionLike = Union[dict, Tuple[str, str], str]
"""A select option: an `option(...)` dict, a `(text, value)` pair, or a string used for both."""


def to_json(value: Any) -> str:
    """Compact JSON text for blocks or a view, as the host expects it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def plain_text(text: str, emoji: Optional[bool] = None) -> dict:
    """A `plain_text` text object."""
    obj = {"type": "plain_text", "text": text}
    if emoji is not None:
        obj["emoji"] = emoji
    return obj


def mrkdwn(text: str) -> dict:
    """A `mrkdwn` text object (Slack's *bold*, _italic_, <@U123> mentions …)."""
    return {"type": "mrkdwn", "text": text}


def _mrkdwn(text: Text) -> dict:
    return mrkdwn(text) if isinstance(text, str) else text


def _placeholder(text: Optional[str]) -> Optional[dict]:
    return None if text is None else plain_text(text)


def _reading_order(
    builder: str, args: Tuple[Any, ...], names: Tuple[str, ...], optional: int, given: Any
) -> list:
    """`args` read as `names`, in the order the user reads them, where the
    one at index `optional` may be left out (or given as a keyword, `given`):
    `datepicker("day")` and `datepicker("Pick a day", "day")` both work.
    Every name but a trailing `options`/`blocks` list is text."""
    usage = ", ".join(f"[{n}]" if i == optional else n for i, n in enumerate(names))
    values = list(args)
    if len(values) == len(names) - 1:
        values.insert(optional, given)
    elif len(values) != len(names):
        raise TypeError(
            f"{builder}({usage}, ...) takes {len(names) - 1} or {len(names)} positional arguments "
            f"in that order, not {len(values)}"
        )
    elif given is not None:
        raise TypeError(f"{builder}: `{names[optional]}` is given twice, first and as a keyword")
    for name, value in zip(names, values):
        if name in ("options", "blocks"):
            if isinstance(value, (str, dict)) or not hasattr(value, "__iter__"):
                raise TypeError(f"{builder}({usage}, ...): `{name}` must be a list, not {type(value).__name__}")
        elif not (value is None and name == names[optional]) and not isinstance(value, str):
            raise TypeError(f"{builder}({usage}, ...): `{name}` must be a string, not {type(value).__name__}")
    return values


def _with(obj: dict, **optional: Any) -> dict:
    """`obj` plus the optional fields that were given, in argument order."""
    for key, value in optional.items():
        if value is not None:
            obj[key] = value
    return obj


# Blocks


def header(text: str, block_id: Optional[str] = None) -> Block:
    """A large bold title (plain text, up to 150 characters)."""
    return _with({"type": "header", "text": plain_text(text)}, block_id=block_id)


def section(
    text: Optional[Text] = None,
    fields: Optional[Sequence[Text]] = None,
    accessory: Optional[dict] = None,
    block_id: Optional[str] = None,
) -> Block:
    """A paragraph of mrkdwn `text`, and/or up to 10 `fields` shown in two
    columns, with an optional `accessory` element (a button, a select, an
    image element) on the right."""
    if text is None and not fields:
        raise ValueError("a section needs text, fields, or both")
    return _with(
        {"type": "section"},
        text=None if text is None else _mrkdwn(text),
        fields=None if not fields else [_mrkdwn(f) for f in fields],
        accessory=accessory,
        block_id=block_id,
    )


def context(*elements: Text, block_id: Optional[str] = None) -> Block:
    """A line of small grey text: strings become mrkdwn, dicts (e.g.
    `image_element`) are kept as they are."""
    return _with(
        {"type": "context", "elements": [_mrkdwn(e) for e in elements]},
        block_id=block_id,
    )


def divider(block_id: Optional[str] = None) -> Block:
    """A horizontal rule."""
    return _with({"type": "divider"}, block_id=block_id)


def image(
    url: str,
    alt_text: str,
    title: Optional[str] = None,
    block_id: Optional[str] = None,
) -> Block:
    """A full-width image from a public URL."""
    return _with(
        {"type": "image", "image_url": url, "alt_text": alt_text},
        title=None if title is None else plain_text(title),
        block_id=block_id,
    )


def actions(*elements: dict, block_id: Optional[str] = None) -> Block:
    """A row of interactive elements: buttons, selects, date pickers."""
    return _with({"type": "actions", "elements": list(elements)}, block_id=block_id)


def input(
    label: str,
    element: dict,
    block_id: Optional[str] = None,
    optional: bool = False,
    hint: Optional[str] = None,
) -> Block:
    """A labelled form field for a modal. Give it a `block_id` to find its
    value in `view_values(...)` and to attach an error to it."""
    return _with(
        {"type": "input", "label": plain_text(label), "element": element},
        block_id=block_id,
        optional=True if optional else None,
        hint=None if hint is None else plain_text(hint),
    )


# Elements


def button(
    text: str,
    action_id: str,
    value: Optional[str] = None,
    style: Optional[str] = None,
    url: Optional[str] = None,
) -> Block:
    """A button; clicks arrive at the `@app.action` handler for this `action_id`, with
    `value`. `style` is `"primary"` (green) or `"danger"` (red)."""
    if style not in (None, "primary", "danger"):
        raise ValueError(f'button style must be "primary" or "danger", not {style!r}')
    return _with(
        {"type": "button", "action_id": action_id, "text": plain_text(text)},
        value=value,
        style=style,
        url=url,
    )


def option(text: str, value: str, description: Optional[str] = None) -> dict:
    """One choice of a select menu."""
    return _with(
        {"text": plain_text(text), "value": value},
        description=None if description is None else plain_text(description),
    )


def _option(o: OptionLike) -> dict:
    if isinstance(o, dict):
        return o
    if isinstance(o, str):
        return option(o, o)
    text, value = o
    return option(text, value)


def static_select(*args: Any, placeholder: Optional[str] = None, initial: Optional[OptionLike] = None) -> Block:
    """`static_select([placeholder,] action_id, options, initial=None)`: a
    drop-down of fixed `options` (`option(...)`s, `(text, value)` pairs or
    strings); the chosen option's value arrives as the action's `value`::

        static_select("Pick a city", "city", [("Lisbon", "lisbon"), ("Oslo", "oslo")])
    """
    placeholder, action_id, options = _reading_order(
        "static_select", args, ("placeholder", "action_id", "options"), 0, placeholder
    )
    return _with(
        {
            "type": "static_select",
            "action_id": action_id,
            "options": [_option(o) for o in options],
        },
        placeholder=_placeholder(placeholder),
        initial_option=None if initial is None else _option(initial),
    )


def users_select(*args: str, placeholder: Optional[str] = None, initial_user: Optional[str] = None) -> Block:
    """`users_select([placeholder,] action_id, initial_user=None)`: a
    drop-down of the workspace's people; the value is a user id."""
    placeholder, action_id = _reading_order("users_select", args, ("placeholder", "action_id"), 0, placeholder)
    return _with(
        {"type": "users_select", "action_id": action_id},
        placeholder=_placeholder(placeholder),
        initial_user=initial_user,
    )


def channels_select(
    *args: str, placeholder: Optional[str] = None, initial_channel: Optional[str] = None
) -> Block:
    """`channels_select([placeholder,] action_id, initial_channel=None)`: a
    drop-down of the workspace's public channels; the value is a channel id."""
    placeholder, action_id = _reading_order(
        "channels_select", args, ("placeholder", "action_id"), 0, placeholder
    )
    return _with(
        {"type": "channels_select", "action_id": action_id},
        placeholder=_placeholder(placeholder),
        initial_channel=initial_channel,
    )


def datepicker(*args: str, placeholder: Optional[str] = None, initial_date: Optional[str] = None) -> Block:
    """`datepicker([placeholder,] action_id, initial_date=None)`: a date
    picker; dates are `YYYY-MM-DD`."""
    placeholder, action_id = _reading_order("datepicker", args, ("placeholder", "action_id"), 0, placeholder)
    return _with(
        {"type": "datepicker", "action_id": action_id},
        initial_date=initial_date,
        placeholder=_placeholder(placeholder),
    )


def plain_text_input(
    *args: str,
    placeholder: Optional[str] = None,
    multiline: bool = False,
    initial_value: Optional[str] = None,
) -> Block:
    """`plain_text_input([placeholder,] action_id, multiline=False,
    initial_value=None)`: a text field, for `input` blocks."""
    placeholder, action_id = _reading_order(
        "plain_text_input", args, ("placeholder", "action_id"), 0, placeholder
    )
    return _with(
        {"type": "plain_text_input", "action_id": action_id},
        multiline=True if multiline else None,
        placeholder=_placeholder(placeholder),
        initial_value=initial_value,
    )


def image_element(url: str, alt_text: str) -> dict:
    """A small image, for `context` lines and section accessories."""
    return {"type": "image", "image_url": url, "alt_text": alt_text}


# Views


def modal(
    *args: Any,
    callback_id: Optional[str] = None,
    submit: Optional[str] = None,
    close: Optional[str] = None,
    private_metadata: Optional[str] = None,
    notify_on_close: bool = False,
) -> dict:
    """`modal(title, [callback_id,] blocks, submit=None, close=None, ...)`: a
    modal view (title up to 24 characters). Open it with
    `slack.open_view(request.context.trigger_id, view)`; its submission
    arrives at the `@app.view(callback_id)` handler. A modal with `input`
    blocks needs a `submit` label. With `notify_on_close`, closing it
    without submitting reaches `@app.view_closed(callback_id)`."""
    title, callback_id, blocks = _reading_order(
        "modal", args, ("title", "callback_id", "blocks"), 1, callback_id
    )
    return _with(
        {"type": "modal", "title": plain_text(title), "blocks": list(blocks)},
        callback_id=callback_id,
        submit=None if submit is None else plain_text(submit),
        close=None if close is None else plain_text(close),
        private_metadata=private_metadata,
        notify_on_close=True if notify_on_close else None,
    )


def home(blocks: Sequence[Block]) -> dict:
    """An App Home tab view, for `slack.publish_home(user, view)`."""
    return {"type": "home", "blocks": list(blocks)}


# Reading what users entered


def view_values(values_json: str) -> dict:
    """Slack's `view.state.values` (a view submission's `values`) reduced to
    `{block_id: {action_id: value}}`, where value is the text typed, the
    selected option's value, the user id, the date … (`None` when empty)."""
    state: Mapping[str, Mapping[str, dict]] = json.loads(values_json or "{}")
    return {
        block_id: {action_id: _element_value(element) for action_id, element in fields.items()}
        for block_id, fields in state.items()
    }


_VALUE_KEYS = (
    "value",
    "selected_user",
    "selected_channel",
    "selected_conversation",
    "selected_date",
    "selected_time",
)


def _element_value(element: dict) -> Any:
    for key in _VALUE_KEYS:
        if key in element:
            return element[key]
    if "selected_option" in element:
        selected = element["selected_option"]
        return None if selected is None else selected["value"]
    if "selected_options" in element:
        return [o["value"] for o in element["selected_options"]]
    for key in ("selected_users", "selected_channels", "selected_conversations"):
        if key in element:
            return element[key]
    return None
