"""The component's exports, made from the app.

The build points componentize-py at `botyard._component`, not at the app;
it calls `load`, which imports the app's `app.py`, finds the one `App` it
defines at module level, and serves it as the `handler` interface and the
optional triggers `shortcuts`, `webhooks` and `settings-schema` (an app that
registers none of one answers with an empty list). App authors write no
glue. Anything wrong is a `BuildError`,
which `botyard build` shows as it is.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, List, NamedTuple, Tuple, Type

from ._app import App, RegistrationError

APP_MODULE = "app"
"""The module the app's code starts in (`MODULE` in host/src/build/python.rs)."""


class BuildError(Exception):
    """Why this app cannot be made a component; the build shows the message."""


def find_app(module: ModuleType) -> App:
    """The one `App` instance `module` defines at module level."""
    found: List[Tuple[App, List[str]]] = []
    for name, value in vars(module).items():
        if isinstance(value, App):
            for app, names in found:
                if app is value:
                    names.append(name)
                    break
            else:
                found.append((value, [name]))
    where = f"{module.__name__}.py"
    if not found:
        hint = ""
        if any(
            isinstance(v, type) and issubclass(v, App) and v is not App for v in vars(module).values()
        ):
            hint = (
                " (a class deriving from botyard.App is the old style: make an instance instead "
                "and register its handlers with decorators)"
            )
        raise BuildError(
            f"{where} defines no botyard App{hint}: create one at module level, "
            '`app = App("name", "what it does")`, and register handlers on it, '
            '`@app.command("/name", "Do it")` (see examples/hello-python)'
        )
    if len(found) > 1:
        names = ", ".join(f"`{' = '.join(names)}` ({app.name})" for app, names in found)
        raise BuildError(
            f"{where} defines {len(found)} botyard Apps, {names}; a component serves exactly one: "
            "keep one at module level (build the others as apps of their own)"
        )
    return found[0][0]


class Exports(NamedTuple):
    """The classes componentize-py serves, one per export of world
    `app-with-triggers`, named as componentize-py looks for them."""

    Handler: Type[Any]
    Shortcuts: Type[Any]
    Webhooks: Type[Any]
    SettingsSchema: Type[Any]
    Phrases: Type[Any]


def exports_for(app: App) -> Exports:
    """The classes componentize-py serves as the `handler`, `shortcuts`,
    `webhooks` and `settings-schema` exports, each calling into `app`.
    Fails like `describe` would."""
    try:
        app.check()
    except RegistrationError as e:
        raise BuildError(str(e)) from None

    class Handler:
        def describe(self) -> Any:
            return app.describe()

        def on_command(self, request: Any) -> Any:
            return app.on_command(request)

        def on_action(self, request: Any) -> Any:
            return app.on_action(request)

        def on_view_submission(self, submission: Any) -> Any:
            return app.on_view_submission(submission)

        def on_event(self, event: Any) -> None:
            app.on_event(event)

        def on_tick(self, tick: Any) -> None:
            app.on_tick(tick)

    class Shortcuts:
        def describe_shortcuts(self) -> Any:
            return app.describe_shortcuts()

        def on_shortcut(self, request: Any) -> None:
            app.on_shortcut(request)

    class Webhooks:
        def describe_webhooks(self) -> Any:
            return app.describe_webhooks()

        def on_webhook(self, request: Any) -> None:
            app.on_webhook(request)

    class SettingsSchema:
        def describe_settings(self) -> Any:
            return app.describe_settings()

    class Phrases:
        def describe_phrases(self) -> Any:
            return app.describe_phrases()

    return Exports(Handler, Shortcuts, Webhooks, SettingsSchema, Phrases)


def load(module_name: str = APP_MODULE) -> Exports:
    """Imports the app's module and returns its exports (`exports_for`)."""
    return exports_for(find_app(importlib.import_module(module_name)))
