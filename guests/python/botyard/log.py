"""Structured log lines, tagged by the host with the app and invocation.

`print()` works too (stdout and stderr become the app's log lines); these add
a level::

    from botyard import log
    log.info(f"{user} voted for {choice}")
"""

from wit_world.imports import log as _wit
from wit_world.imports.log import Level


def write(level: Level, message: str) -> None:
    """Writes one log line at `level`."""
    _wit.write(level, message)


def debug(message: str) -> None:
    write(Level.DEBUG, message)


def info(message: str) -> None:
    write(Level.INFO, message)


def warn(message: str) -> None:
    write(Level.WARN, message)


def error(message: str) -> None:
    write(Level.ERROR, message)
