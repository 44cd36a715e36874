"""The Zendesk Support API v2, as the app uses it: search, tickets, groups.

Every call goes through the host's `http` capability: the operator allows
`zendesk_url` with a `basic` credential (`{email}/token` and the API token),
which the host adds to each request — the app never sees it."""

import urllib.parse

from botyard import Error, http, settings

TIMEOUT_S = 8
MAX_PAGES = 10  # Zendesk's search returns at most 1,000 results: 10 pages of 100


class Trouble(Error):
    """Zendesk could not be asked, or refused: the text says what to do."""


def base():
    url = (settings.get("zendesk_url") or "").strip().rstrip("/")
    if url.endswith("/api/v2"):
        url = url[: -len("/api/v2")]
    if not url.startswith(("http://", "https://")):
        raise Trouble(f"The `zendesk_url` setting (`{url}`) is not a web address: the operator sets it to "
                      "the help desk's address, e.g. `https://acme.zendesk.com`.")
    return url


def agent_link(ticket_id):
    return f"{base()}/agent/tickets/{ticket_id}"


def _send(method, url, **kwargs):
    try:
        r = http.request(method, url, timeout=TIMEOUT_S, headers={"Accept": "application/json"}, **kwargs)
    except http.NotAllowed as e:
        raise Trouble(f"Zendesk is not reachable from this app: {e}")
    except http.Timeout:
        raise Trouble(f"Zendesk did not answer within {TIMEOUT_S} s ({_where(url)}); try again in a moment.")
    except http.HTTPError as e:
        raise Trouble(f"Zendesk could not be reached ({_where(url)}): {e}")
    return r


def _where(url):
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _error_text(r):
    try:
        body = r.json()
    except Exception:
        return (r.text or "").strip()[:200]
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):  # {"error": {"title": …, "message": …}}
            error = error.get("message") or error.get("title")
        words = [str(w) for w in (error, body.get("description")) if w]
        return ": ".join(words) or str(body)[:200]
    return str(body)[:200]


def _json(r, url):
    if r.status_code in (401, 403):
        raise Trouble(f"Zendesk refused the app's credentials ({r.status_code} {_error_text(r)}): the operator "
                      "checks the `basic` credential of the `[[apps.support.http.allow]]` rule — user "
                      "`&lt;agent e-mail&gt;/token`, password the API token.")
    if r.status_code == 429:
        raise Trouble(f"Zendesk's rate limit: retry after {r.headers.get('Retry-After', 'a minute')} s.")
    if not r.ok:
        raise Trouble(f"Zendesk answered {r.status_code} to {_where(url)}: {_error_text(r)}")
    try:
        return r.json()
    except Exception:
        raise Trouble(f"{_where(url)} did not answer JSON: is `zendesk_url` the help desk's address?")


def get(path, params=None):
    url = base() + path
    if params:
        url += "?" + urllib.parse.urlencode(params)
    return _json(_send("GET", url), url)


def follow(url):
    """A `next_page` URL, as Zendesk gives it (absolute). Pages are only
    followed on the help desk's own address."""
    if not url.startswith(base() + "/"):
        raise Trouble(f"Zendesk's next page ({_where(url)}) is not under `zendesk_url` ({base()}).")
    return _json(_send("GET", url), url)


def search_tickets(query, include=None):
    """Every ticket the search finds (following `next_page`, up to 1,000)."""
    params = {"query": query, "per_page": 100}
    if include:
        params["include"] = include
    page = get("/api/v2/search.json", params)
    results = list(page.get("results") or [])
    pages = 1
    while page.get("next_page") and pages < MAX_PAGES:
        page = follow(page["next_page"])
        results.extend(page.get("results") or [])
        pages += 1
    return [t for t in results if t.get("result_type", "ticket") == "ticket"]


def groups():
    page = get("/api/v2/groups.json")
    found = list(page.get("groups") or [])
    pages = 1
    while page.get("next_page") and pages < MAX_PAGES:
        page = follow(page["next_page"])
        found.extend(page.get("groups") or [])
        pages += 1
    return found


def ticket(ticket_id):
    """`(ticket, users by id)`, or `(None, {})` when Zendesk has no such ticket."""
    url = f"{base()}/api/v2/tickets/{ticket_id}.json?include=users"
    r = _send("GET", url)
    if r.status_code == 404:
        return None, {}
    body = _json(r, url)
    users = {u.get("id"): u for u in body.get("users") or [] if isinstance(u, dict)}
    return body.get("ticket"), users


def set_group(ticket_id, group_id):
    url = f"{base()}/api/v2/tickets/{ticket_id}.json"
    r = _send("PUT", url, json={"ticket": {"group_id": group_id}})
    if r.status_code == 404:
        raise Trouble(f"Zendesk has no ticket #{ticket_id} (any more).")
    if r.status_code == 422:
        raise Trouble(f"Zendesk refused to move ticket #{ticket_id}: {_error_text(r)}")
    return _json(r, url).get("ticket") or {}
