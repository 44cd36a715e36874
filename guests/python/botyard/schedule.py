"""One-off ticks at a time of the app's choosing; recurring ones are
registered with `@app.schedule("menu", "0 11 * * 1-5")`.

A one-off arrives at the `@app.tick` handler registered for its name (or a
`*` prefix of it)::

    from botyard import clock, schedule

    schedule.once(f"remind:{user}", clock.now_ms() + 30 * 60 * 1000)

    @app.tick("remind:*")
    def remind(tick): ...
"""

from componentize_py_types import Err

from ._core import Error, absent

try:
    from wit_world.imports import schedule as _wit
except ImportError:  # the build found no use of schedule: this component does not import it
    _wit = absent("schedule")


def once(name: str, at_ms: int) -> None:
    """Delivers a tick named `name` at `at_ms` (Unix milliseconds) to the
    `@app.tick` handler for it; replaces a pending one-off of the same name."""
    try:
        _wit.once(name, at_ms)
    except Err as e:
        raise Error(f"schedule once `{name}` failed: {e.value}") from None


def cancel(name: str) -> bool:
    """Cancels a pending one-off; returns whether one was pending."""
    return _wit.cancel(name)
