"""Fake host imports: a capability module's `_wit` replaced, for a test, by
an object that records each call and answers what the test set."""

import types
import unittest.mock

from componentize_py_types import Err


class Host:
    """Stands in for one capability's bindings (`botyard.<module>._wit`).

    `answers[name]` is what function `name` returns; an `Err` there is
    raised instead (the WIT result's error case). `calls` lists every call
    as `(name, *args)`. The bindings' records and variants (`Request`,
    `PostOptions` …) stay the real ones."""

    def __init__(self, bindings: types.ModuleType):
        self._bindings = bindings
        self.answers = {}
        self.calls = []

    def __getattr__(self, name):
        real = getattr(self._bindings, name)
        if isinstance(real, type) or not callable(real):
            return real  # a record, variant or enum

        def call(*args):
            self.calls.append((name, *args))
            answer = self.answers.get(name)
            if isinstance(answer, Err):
                raise answer
            return answer

        return call


def host(test: unittest.TestCase, module: types.ModuleType, bindings: types.ModuleType) -> Host:
    """Replaces `module._wit` with a `Host` for the rest of `test`."""
    fake = Host(bindings)
    patcher = unittest.mock.patch.object(module, "_wit", fake)
    patcher.start()
    test.addCleanup(patcher.stop)
    return fake
