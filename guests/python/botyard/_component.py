"""The module componentize-py builds the component from: the app's `App`,
served as the `handler` and `shortcuts` exports (see `_exports`)."""

from ._exports import APP_MODULE, load

Handler, Shortcuts = load(APP_MODULE)
