"""The app's private key-value store, with JSON helpers.

Every invocation runs in a fresh instance, so whatever must outlive one call
lives here. Keys are private to the app. Values are bytes; `get_json`,
`set_json` and `update_json` store any JSON-serialisable value::

    from botyard import store

    votes = store.increment(f"votes/{choice}")          # atomic counter
    store.set_json("poll", {"question": q, "open": True})
    poll = store.get_json("poll", default={})
    store.update_json("voters", lambda v: v + [user], default=[])  # safe under concurrency

A failing store call raises `StoreError`; left uncaught in a handler, its
message is shown to the user.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Callable, List, Optional, TypeVar, Union

from componentize_py_types import Err

from ._core import Error, absent

try:
    from wit_world.imports import store as _wit
except ImportError:  # the build found no use of the store: this component does not import it
    _wit = absent("store")

T = TypeVar("T")


class StoreError(Error):
    """A store call failed. `cause` is the WIT `store-error` variant
    (`StoreError_TooLarge`, `StoreError_NotANumber`, `StoreError_Unavailable`),
    or `None` when the SDK itself gave up."""

    def __init__(self, message: str, cause: Any = None):
        super().__init__(message)
        self.cause = cause


def _call(operation: str, key: str, fn: Callable[..., T], *args: Any) -> T:
    try:
        return fn(*args)
    except Err as e:
        kind = type(e.value).__name__.removeprefix("StoreError_")
        detail = getattr(e.value, "value", None)
        message = f"store {operation} `{key}` failed: {kind}" + (f" ({detail})" if detail else "")
        raise StoreError(message, e.value) from None


def _bytes(value: Union[bytes, str]) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def get(key: str) -> Optional[bytes]:
    """The value at `key`, or `None` when there is none."""
    return _call("get", key, _wit.get, key)


def get_text(key: str) -> Optional[str]:
    """The value at `key` decoded as UTF-8, or `None`."""
    value = get(key)
    return None if value is None else value.decode()


def set(key: str, value: Union[bytes, str]) -> None:
    """Stores `value` (bytes, or text stored as UTF-8) at `key`."""
    _call("set", key, _wit.set, key, _bytes(value))


def delete(key: str) -> bool:
    """Removes `key`; returns whether it existed."""
    return _call("delete", key, _wit.delete, key)


def list_keys(prefix: str = "", limit: int = 1000) -> List[str]:
    """Keys starting with `prefix`, in byte order, at most `limit`."""
    return _call("list-keys", prefix, _wit.list_keys, prefix, limit)


def increment(key: str, delta: int = 1) -> int:
    """Atomically adds `delta` to the number at `key` (missing counts as 0)
    and returns the new value."""
    return _call("increment", key, _wit.increment, key, delta)


def compare_and_swap(
    key: str,
    expected: Optional[Union[bytes, str]],
    new: Optional[Union[bytes, str]],
) -> bool:
    """Atomically sets `key` to `new` if it currently holds `expected`
    (`None`: must be absent; `new` of `None` deletes). Returns whether it did."""
    return _call(
        "compare-and-swap",
        key,
        _wit.compare_and_swap,
        key,
        None if expected is None else _bytes(expected),
        None if new is None else _bytes(new),
    )


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def get_json(key: str, default: Any = None) -> Any:
    """The JSON value at `key`, or `default` when there is none."""
    raw = get(key)
    return default if raw is None else json.loads(raw)


def set_json(key: str, value: Any) -> None:
    """Stores `value` as JSON at `key`."""
    set(key, _dumps(value))


def update_json(key: str, change: Callable[[Any], T], default: Any = None, attempts: int = 20) -> T:
    """Atomically replaces the JSON value at `key` with `change(old)` and
    returns the new value; `old` is `default` when the key is absent.

    Two people clicking at once never overwrite each other: when the value
    changed between the read and the write, `change` runs again on the newer
    value (so it must not have side effects)."""
    for _ in range(attempts):
        raw = get(key)
        new = change(copy.deepcopy(default) if raw is None else json.loads(raw))
        if compare_and_swap(key, raw, _dumps(new)):
            return new
    raise StoreError(f"store update `{key}` failed: still contended after {attempts} attempts")
