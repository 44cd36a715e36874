"""The module componentize-py builds the component from: the app's `App`,
served as the `handler`, `shortcuts`, `webhooks` and `settings-schema`
exports (see `_exports`). componentize-py finds each by its class name."""

from ._exports import APP_MODULE, load

Handler, Shortcuts, Webhooks, SettingsSchema = load(APP_MODULE)
