"""Structured log lines, tagged by the host with the app and invocation.

`print()` works too (stdout and stderr become the app's log lines, at info
and warn); these add a level::

    from botyard import log
    log.info(f"{user} voted for {choice}")
"""

from typing import Any

from ._core import absent

try:
    from wit_world.imports import log as _wit
except ImportError:  # the build found no use of log: this component does not import it
    _wit = absent("log")

LEVELS = ("debug", "info", "warn", "error")


def write(level: Any, message: str) -> None:
    """Writes one log line at `level`: `"debug"`, `"info"`, `"warn"` or
    `"error"` (or the WIT's `log.Level`)."""
    if isinstance(level, str):
        if level not in LEVELS:
            raise ValueError(f"log level must be one of {', '.join(LEVELS)}, not {level!r}")
        level = getattr(_wit.Level, level.upper())
    _wit.write(level, message)


def debug(message: str) -> None:
    write("debug", message)


def info(message: str) -> None:
    write("info", message)


def warn(message: str) -> None:
    write("warn", message)


def error(message: str) -> None:
    write("error", message)
