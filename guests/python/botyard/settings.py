"""What the operator set for this app in `botyard.toml`
(`[apps.<id>.settings]`): which channel, which office, who approves::

    from botyard import App, settings

    app = App("lunch", "Posts the menu")
    app.setting("channel", "Where to post the menu", default="#lunch")
    app.setting("seats", "How many people fit", required=True)

    @app.schedule("menu", "0 11 * * 1-5")
    def menu(tick):
        channel = settings.get("channel")        # "#lunch" unless the operator set one
        seats = settings.get_json("seats", 0)

Needs the `settings` grant. Declaring a setting with `app.setting` lets the
host show it and refuse to load the app while a required one is missing;
while a handler runs, `get` answers the operator's value, else the declared
default, else `default`. Strings come as they are; numbers, booleans and
lists as JSON text (`get_json` parses them).
"""

import json
from typing import Any, List, Optional

from ._core import absent, declared_default, declared_names

try:
    from wit_world.imports import settings as _wit
except ImportError:  # the build found no use of settings: this component does not import them
    _wit = absent("settings")


def get(name: str, default: Optional[str] = None) -> Optional[str]:
    """Setting `name` as text: the operator's value, else the default the
    app declared (`app.setting(name, default=...)`), else `default`."""
    value = _wit.get(name)
    if value is None:
        value = declared_default(name)
    return default if value is None else value


def get_json(name: str, default: Any = None) -> Any:
    """Setting `name` parsed as JSON (numbers, booleans, lists): the
    operator's value, else the declared default, else `default` (as it is)."""
    value = get(name)
    return default if value is None else json.loads(value)


def names() -> List[str]:
    """The names `get` answers for, sorted: every setting the operator set,
    and every one the app declared with a default."""
    return sorted(set(_wit.names()) | set(declared_names()))
