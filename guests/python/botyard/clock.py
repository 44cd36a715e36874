"""Time, from the host::

    from botyard import clock
    due = clock.now_ms() + 30 * 60 * 1000

(`time.time()` works too; both read the same clock.)
"""

from ._core import absent

try:
    from wit_world.imports import clock as _wit
except ImportError:  # the build found no use of the clock: this component does not import it
    _wit = absent("clock")


def now_ms() -> int:
    """Wall-clock time in Unix milliseconds."""
    return _wit.now_ms()
