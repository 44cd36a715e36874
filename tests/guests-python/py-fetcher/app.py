"""Exercises the SDK's reach beyond Slack: `/pyfetch <METHOD> <url> [body]`
sends a request through `botyard.http` and answers one line of JSON —
`{"status", "body", "url"}`, or `{"error": "<kind>: <message>"}` with the
`HTTPError` subclass's name as kind; `/pygreet` answers the setting
`greeting` (declared with a default); the webhook `ping` stores its body at
`ping/<delivery_id>`, and fails on purpose when the body is `fail`. It
imports `http`, `settings` and `store`, and nothing of Slack."""

import json

from botyard import App, http, settings, store

app = App("py-fetcher", "Test guest: outbound HTTP, a setting and a webhook")
app.setting("greeting", "What /pygreet answers", default="hi")


@app.command("/pyfetch", "Send an HTTP request", usage="<METHOD> <url> [body]")
def pyfetch(request):
    method, _, rest = request.text.strip().partition(" ")
    url, _, body = rest.partition(" ")
    try:
        response = http.request(method, url, data=body or None)
    except http.HTTPError as e:
        return json.dumps({"error": f"{type(e).__name__}: {e}"})
    return json.dumps({"status": response.status_code, "body": response.text, "url": response.url})


@app.command("/pygreet", "Answer the greeting the operator set")
def pygreet(request):
    return settings.get("greeting")


@app.webhook("ping", "Stores what it is sent")
def ping(request):
    text = request.text()
    if text == "fail":
        raise RuntimeError("failing on purpose")
    store.set(f"ping/{request.delivery_id}", text)
