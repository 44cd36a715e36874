"""The module componentize-py builds the component from: the app's `App`,
served as the `handler`, `shortcuts`, `webhooks`, `settings-schema` and `phrases`
exports (see `_exports`). componentize-py finds each by its class name."""

from ._exports import APP_MODULE, load

Handler, Shortcuts, Webhooks, SettingsSchema, Phrases = load(APP_MODULE)
