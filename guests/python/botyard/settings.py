"""What the operator set for this app in `botyard.toml`
(`[apps.<id>.settings]`): which channel, which office, who approves::

    from botyard import settings
    channel = settings.get("channel", "#general")

Needs the `settings` grant. Strings come as they are; numbers, booleans and
lists as JSON text (`get_json` parses them).
"""

import json
from typing import Any, List, Optional

from ._core import absent

try:
    from wit_world.imports import settings as _wit
except ImportError:  # the build found no use of settings: this component does not import them
    _wit = absent("settings")


def get(name: str, default: Optional[str] = None) -> Optional[str]:
    """Setting `name` as text, or `default` when the operator set none."""
    value = _wit.get(name)
    return default if value is None else value


def get_json(name: str, default: Any = None) -> Any:
    """Setting `name` parsed as JSON (numbers, booleans, lists), or `default`."""
    value = _wit.get(name)
    return default if value is None else json.loads(value)


def names() -> List[str]:
    """Every setting the operator set, sorted."""
    return list(_wit.names())
