"""One-off ticks at a time of the app's choosing; recurring ones are declared
with `schedules = [botyard.every("name", "0 11 * * 1-5")]` on the app.

Either kind arrives in `on_tick(tick)` with `tick.name`::

    from botyard import schedule, now_ms
    schedule.once(f"remind/{user}", now_ms() + 30 * 60 * 1000)
"""

from componentize_py_types import Err
from wit_world.imports import schedule as _wit

from . import Error


def once(name: str, at_ms: int) -> None:
    """Calls `on_tick` with `name` at `at_ms` (Unix milliseconds); replaces a
    pending one-off of the same name."""
    try:
        _wit.once(name, at_ms)
    except Err as e:
        raise Error(f"schedule once `{name}` failed: {e.value}") from None


def cancel(name: str) -> bool:
    """Cancels a pending one-off; returns whether one was pending."""
    return _wit.cancel(name)
