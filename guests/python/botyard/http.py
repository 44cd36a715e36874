"""Outbound HTTP, the way `requests` does it, to what the operator allowed
this app to reach (`[apps.<id>.http]` in `botyard.toml`). Needs the `http`
grant::

    from botyard import http

    issues = http.get(
        "https://api.github.com/repos/acme/shop/issues",
        params={"state": "open", "per_page": 5},
        headers={"Accept": "application/vnd.github+json"},
        timeout=2,
    ).raise_for_status().json()

    http.post("https://api.example.com/orders", json={"item": "pho"})

Only URLs a rule allows are reached, and the credentials the operator
attached to that rule are added by the host, so the app never sees them.
Calls are synchronous, like every capability. Any status is a `Response`
(`raise_for_status()` turns any status but 2xx into `StatusError`); when there is
no response the call raises an `HTTPError` subclass — `NotAllowed`,
`InvalidRequest`, `Timeout`, `TooLarge`, `TooMany`, `Transport` — whose
message is the host's (a URL no rule allows names the rule to add). They
are `botyard.Error`s: left uncaught in a handler, the message reaches the
user.
"""

from __future__ import annotations

import json as _json
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple, Union
from urllib.parse import urlencode

from componentize_py_types import Err

from ._core import Error, absent

try:
    from wit_world.imports import http as _wit
except ImportError:  # the build found no use of http: this component does not import it
    _wit = absent("http")

__all__ = [
    "request",
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "head",
    "Response",
    "Headers",
    "HTTPError",
    "NotAllowed",
    "InvalidRequest",
    "Timeout",
    "TooLarge",
    "TooMany",
    "Transport",
    "StatusError",
]

HeadersLike = Union[Mapping[str, Any], Iterable[Tuple[str, Any]], None]
Params = Union[Mapping[str, Any], Iterable[Tuple[str, Any]], str, None]
Data = Union[bytes, bytearray, memoryview, str, Mapping[str, Any], Iterable[Tuple[str, Any]], None]

_MAX_TIMEOUT_MS = 2**32 - 1  # the WIT's `u32`


# Errors


class HTTPError(Error):
    """A request got no response (or, as `StatusError`, one that
    `raise_for_status` refused). `kind` is the WIT's name for the case
    (`"not-allowed"`, `"invalid-request"`, `"timeout"`, `"too-large"`,
    `"too-many"`, `"transport"`, or `"status"`); the message is the host's
    text as it is. `method` and `url` are the request's."""

    kind = "transport"

    def __init__(self, message: str, *, method: str = "", url: str = ""):
        super().__init__(message)
        self.method = method
        self.url = url


class NotAllowed(HTTPError):
    """No rule lets this app reach the URL (or where it redirected); the
    message names the rule to add to `botyard.toml`."""

    kind = "not-allowed"


class InvalidRequest(HTTPError):
    """Not a request the host sends: a bad method, URL or header."""

    kind = "invalid-request"


class Timeout(HTTPError):
    """No answer in time (the request's `timeout`, or what is left of the
    invocation's own deadline)."""

    kind = "timeout"


class TooLarge(HTTPError):
    """The response body was over the app's limit."""

    kind = "too-large"


class TooMany(HTTPError):
    """The app already has as many requests in flight as it may."""

    kind = "too-many"


class Transport(HTTPError):
    """The connection failed."""

    kind = "transport"


class StatusError(HTTPError):
    """`Response.raise_for_status()` on an answer that is not 2xx; `response` is it."""

    kind = "status"

    def __init__(self, response: "Response"):
        super().__init__(f"{response.url} answered {response.status_code}", url=response.url)
        self.response = response
        self.status_code = response.status_code


# The WIT variant's cases, by the name of their binding (`HttpError_NotAllowed`).
_ERRORS = {
    cls.__name__: cls for cls in (NotAllowed, InvalidRequest, Timeout, TooLarge, TooMany, Transport)
}


def _error(cause: Any, method: str, url: str) -> HTTPError:
    """The `HTTPError` for the WIT's `http-error` value `cause`."""
    case = type(cause).__name__.removeprefix("HttpError_")
    cls = _ERRORS.get(case, HTTPError)
    return cls(str(getattr(cause, "value", cause)), method=method, url=url)


# Responses


class Headers(Mapping[str, str]):
    """Response headers: looked up in any case (`headers["content-type"]`),
    several of one name joined with `", "` as `requests` does; `get_all`
    keeps them apart (`Set-Cookie`). Iterates the names as first received."""

    def __init__(self, pairs: Iterable[Tuple[str, str]] = ()):
        self._pairs: List[Tuple[str, str]] = [(str(k), str(v)) for k, v in pairs]
        self._names: Dict[str, str] = {}
        for name, _ in self._pairs:
            self._names.setdefault(name.lower(), name)

    def __getitem__(self, name: str) -> str:
        values = self.get_all(name)
        if not values:
            raise KeyError(name)
        return ", ".join(values)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names.values())

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._names

    def get_all(self, name: str) -> List[str]:
        """Every value of header `name` (any case), in order."""
        wanted = name.lower()
        return [v for k, v in self._pairs if k.lower() == wanted]

    @property
    def pairs(self) -> List[Tuple[str, str]]:
        """The headers as received: `(name, value)` in order."""
        return list(self._pairs)

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


class Response:
    """What answered: `status_code`, `ok` (2xx), `url` (after any
    redirects), `headers` (any case), and the body, read at once: `content`
    (bytes), `text`, `json()`."""

    def __init__(self, response: Any, method: str = ""):
        self.status_code: int = response.status
        self.headers = Headers(response.headers)
        self.content: bytes = bytes(response.body)
        self.url: str = response.url
        self.method = method

    @property
    def ok(self) -> bool:
        """Whether the status is 2xx (what `raise_for_status` accepts), as
        in botyard's JavaScript and Rust SDKs. (`requests` counts 3xx as ok
        too; the host follows redirects, so a 3xx here is one it did not
        follow, such as `304 Not Modified`.)"""
        return 200 <= self.status_code < 300

    @property
    def encoding(self) -> str:
        """The `charset` of `Content-Type`, else UTF-8."""
        for part in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.strip().lower() == "charset" and value.strip():
                return value.strip().strip('"')
        return "utf-8"

    @property
    def text(self) -> str:
        """The body decoded (see `encoding`); what does not decode becomes `�`."""
        try:
            return self.content.decode(self.encoding, errors="replace")
        except LookupError:  # a charset Python does not know
            return self.content.decode("utf-8", errors="replace")

    def json(self, **kwargs: Any) -> Any:
        """The body parsed as JSON (`json.loads`' keyword arguments apply)."""
        return _json.loads(self.text, **kwargs)

    def raise_for_status(self) -> "Response":
        """Raises `StatusError` unless the status is 2xx; returns the response
        otherwise, so calls chain: `http.get(url).raise_for_status().json()`."""
        if not self.ok:
            raise StatusError(self)
        return self

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"


# Requests


def request(
    method: str,
    url: str,
    *,
    params: Params = None,
    headers: HeadersLike = None,
    data: Data = None,
    json: Any = None,
    timeout: Optional[float] = None,
) -> Response:
    """Sends `method url` through the host and returns the `Response`.

    - `params`: added to the URL's query string (a dict or pairs; a list
      value repeats the key; `None` values are left out).
    - `headers`: a dict or `(name, value)` pairs (pairs may repeat a name).
    - `data`: bytes or text (sent as UTF-8) as they are, or a dict / pairs
      sent as a form (`application/x-www-form-urlencoded`).
    - `json`: any value `json` can write, sent with `Content-Type:
      application/json` (unless `headers` set one).
    - `timeout`: seconds to wait at most (never longer than the invocation
      may still run).

    The method is one the host sends: `GET`, `POST`, `PUT`, `PATCH`,
    `DELETE`, `HEAD`."""
    if not isinstance(method, str) or not method:
        raise TypeError(f"the method is a string such as 'GET', not {method!r}")
    if not isinstance(url, str):
        raise TypeError(f"the URL is a string, not {type(url).__name__}")
    method = method.upper()
    where = f"http.{method.lower()}({url!r})" if method in _METHODS else f"http.request({method!r}, {url!r})"
    pairs = _header_pairs(headers, where)
    body: Optional[bytes] = None
    if json is not None:
        if data is not None:
            raise TypeError(f"{where}: give data or json, not both")
        try:
            body = _json.dumps(json, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
        except (TypeError, ValueError) as e:
            raise TypeError(f"{where}: json= cannot be written as JSON: {e}") from None
        _content_type(pairs, "application/json")
    elif data is not None:
        body = _body(data, pairs, where)
    if body is not None and method in ("GET", "HEAD"):
        raise TypeError(f"{where}: a {method} request cannot have a body")
    timeout_ms = _timeout_ms(timeout, where)
    target = _with_params(url, params, where)
    try:
        answer = _wit.send(
            _wit.Request(method=method, url=target, headers=pairs, body=body, timeout_ms=timeout_ms)
        )
    except Err as e:
        raise _error(e.value, method, target) from None
    return Response(answer, method)


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")


def get(url: str, params: Params = None, **kwargs: Any) -> Response:
    """`GET url` (see `request` for `headers`, `timeout` …)."""
    return request("GET", url, params=params, **kwargs)


def post(url: str, data: Data = None, json: Any = None, **kwargs: Any) -> Response:
    """`POST url` with `data` or `json` (see `request`)."""
    return request("POST", url, data=data, json=json, **kwargs)


def put(url: str, data: Data = None, json: Any = None, **kwargs: Any) -> Response:
    """`PUT url` with `data` or `json` (see `request`)."""
    return request("PUT", url, data=data, json=json, **kwargs)


def patch(url: str, data: Data = None, json: Any = None, **kwargs: Any) -> Response:
    """`PATCH url` with `data` or `json` (see `request`)."""
    return request("PATCH", url, data=data, json=json, **kwargs)


def delete(url: str, **kwargs: Any) -> Response:
    """`DELETE url` (see `request`)."""
    return request("DELETE", url, **kwargs)


def head(url: str, **kwargs: Any) -> Response:
    """`HEAD url`: the status and headers, no body (see `request`)."""
    return request("HEAD", url, **kwargs)


def _pairs(value: Any, where: str, what: str) -> List[Tuple[str, Any]]:
    """A dict or `(name, value)` pairs as a list of pairs."""
    items = value.items() if isinstance(value, Mapping) else value
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise TypeError(f"{where}: {what} are a dict or (name, value) pairs, not {type(value).__name__}")
    out = []
    for pair in items:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"{where}: each of the {what} is a (name, value) pair, not {pair!r}")
        out.append((str(pair[0]), pair[1]))
    return out


def _header_pairs(headers: HeadersLike, where: str) -> List[Tuple[str, str]]:
    if headers is None:
        return []
    return [(name, str(value)) for name, value in _pairs(headers, where, "headers") if value is not None]


def _content_type(pairs: List[Tuple[str, str]], value: str) -> None:
    if not any(name.lower() == "content-type" for name, _ in pairs):
        pairs.append(("Content-Type", value))


def _body(data: Data, pairs: List[Tuple[str, str]], where: str) -> bytes:
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if not isinstance(data, (Mapping, list, tuple)):
        raise TypeError(
            f"{where}: data is bytes, text, or a dict or (name, value) pairs sent as a form, "
            f"not {type(data).__name__}; send other values as JSON with json="
        )
    form = urlencode(_pairs(data, where, "form fields"), doseq=True)
    _content_type(pairs, "application/x-www-form-urlencoded")
    return form.encode()


def _timeout_ms(timeout: Optional[float], where: str) -> Optional[int]:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise TypeError(f"{where}: timeout is a number of seconds above 0, not {timeout!r}")
    ms = max(1, round(timeout * 1000))
    if ms > _MAX_TIMEOUT_MS:
        raise ValueError(f"{where}: timeout={timeout!r} is seconds; at most {_MAX_TIMEOUT_MS // 1000}")
    return ms


def _with_params(url: str, params: Params, where: str) -> str:
    if params is None:
        return url
    if isinstance(params, str):
        query = params.lstrip("?")
    else:
        query = urlencode([(k, v) for k, v in _pairs(params, where, "params") if v is not None], doseq=True)
    if not query:
        return url
    url, hash_, fragment = url.partition("#")
    separator = "" if url.endswith(("?", "&")) else "&" if "?" in url else "?"
    return f"{url}{separator}{query}{hash_}{fragment}"
