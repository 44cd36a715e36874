"""botyard: Slack apps in Python, run by the botyard host as sandboxed
WebAssembly components.

An app is a module `app.py` with one `App`, its handlers registered with
decorators the way Slack's Bolt does it; what the app answers to is derived
from them, and the build wires the component to it::

    from botyard import App, ephemeral, store

    app = App("ping", "Answers pong")

    @app.command("/ping", "Check the bot is alive")
    def ping(request):
        n = store.increment(f"pings/{request.context.user_id}")
        return ephemeral(f"pong #{n}")

Handlers receive the WIT records (`CommandRequest`, `ActionRequest`, …, all
importable from here) and answer with the helpers below. Raise `Error` to
show the user a short message instead of an answer. Every call runs in a
fresh instance: keep state in `botyard.store`, not in globals.
`@app.webhook("github")` handlers receive a `WebhookRequest` (raising asks
the host to try again later); `app.setting("channel", default="#general")`
declares a setting `settings.get` reads.

Modules: `blocks` (Block Kit builders), `store` (key-value, JSON helpers),
`slack` (post, update, DM, modals, App Home), `schedule` (one-off ticks),
`log`, `clock`, `settings` (what the operator set in `botyard.toml`), `http`
(outbound requests, `requests`-style, to what the operator allowed). The
component imports only the capabilities the app's code uses, so it needs
only those grants.
"""

from wit_world.exports.shortcuts import (
    ShortcutKind,
    ShortcutMessage,
    ShortcutRequest,
)
from wit_world.imports.types import (
    ActionRequest,
    ActionResponse,
    AppInfo,
    CommandRequest,
    Event,
    InvocationContext,
    Message,
    MessageRef,
    Reply,
    Tick,
    ViewResponse,
    ViewSubmission,
    Visibility,
)

from . import blocks, clock, http, log, schedule, settings, slack, store
from ._app import App, RegistrationError, ViewClosed, WebhookRequest
from ._core import (
    Blocks,
    CapabilityNotImported,
    Error,
    View,
    clear_views,
    close_view,
    ephemeral,
    field_errors,
    in_channel,
    message,
    push_view,
    update,
    update_view,
)

__all__ = [
    "App",
    "Error",
    "CapabilityNotImported",
    "RegistrationError",
    "Blocks",
    "View",
    # replies
    "message",
    "ephemeral",
    "in_channel",
    "update",
    # answers to a modal submission
    "close_view",
    "clear_views",
    "field_errors",
    "update_view",
    "push_view",
    # modules
    "blocks",
    "clock",
    "http",
    "log",
    "schedule",
    "settings",
    "slack",
    "store",
    # what handlers receive and return
    "ActionRequest",
    "ActionResponse",
    "AppInfo",
    "CommandRequest",
    "Event",
    "InvocationContext",
    "Message",
    "MessageRef",
    "Reply",
    "ShortcutKind",
    "ShortcutMessage",
    "ShortcutRequest",
    "Tick",
    "ViewClosed",
    "ViewResponse",
    "ViewSubmission",
    "Visibility",
    "WebhookRequest",
]
