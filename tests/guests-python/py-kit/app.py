"""Exercises the SDK: `/kit blocks` renders every Block Kit builder, `/kit
store` the JSON helpers, `/kit fail` an error for the user, `/kit crash` an
uncaught exception; `/pykit status` is an umbrella subcommand; `vote:*`
buttons show how ids match; a modal submission answers with field errors,
a closed one logs; ticks and mentions print."""

import json
import time

from botyard import App, Error, blocks as b, clock, ephemeral, field_errors, in_channel, log, store
from botyard import update, update_view

app = App("py-kit", "Test guest: exercises the Python SDK")


def every_block():
    return [
        b.header("Lunch"),
        b.section("*Pick*", fields=["a", b.plain_text("b")], accessory=b.button("Go", "go"), block_id="s"),
        b.context("small", b.image_element("https://x/i.png", "i")),
        b.divider(),
        b.image("https://x/m.png", "menu", title="Menu"),
        b.actions(
            b.button("Yes", "yes", value="1", style="primary"),
            b.static_select("Choose", "pick", [("A", "a"), "b", b.option("C", "c", description="see")],
                            initial="b"),
            b.users_select("Someone", "who"),
            b.datepicker("day", initial_date="2025-06-01"),
        ),
        b.input("Name", b.plain_text_input("Ada", "name", multiline=True),
                block_id="n", optional=True, hint="yours"),
    ]


@app.command("/kit", "SDK checks", usage="blocks|store|fail|crash")
def kit(request):
    if request.text == "blocks":
        view = b.modal("Order", "order", every_block(), submit="Send", close="Cancel",
                       private_metadata="m")
        return ephemeral("blocks", [b.section(b.to_json(view))])
    if request.text == "store":
        store.set_json("poll", {"q": "Lunch?", "open": True})
        voters = store.update_json("voters", lambda v: v + ["U1"], default=[])
        voters = store.update_json("voters", lambda v: v + ["U2"], default=[])
        store.set("raw", "bytes")
        return in_channel(json.dumps({
            "poll": store.get_json("poll"),
            "missing": store.get_json("nope", default={"d": 1}),
            "voters": voters,
            "raw": store.get_text("raw"),
            "keys": store.list_keys("vo"),
            "cas_absent": store.compare_and_swap("lock", None, "me"),
            "cas_again": store.compare_and_swap("lock", None, "me"),
            "deleted": store.delete("raw"),
            "clock_ok": abs(time.time() * 1000 - clock.now_ms()) < 60_000,
        }))
    if request.text == "fail":
        raise Error("no poll is open")
    if request.text == "crash":
        raise ValueError("boom")
    return "usage: /kit blocks|store|fail|crash"


@app.command("/pykit status", "Kit status")
def status(request):
    return f"status {request.text or 'ok'}"


@app.action("vote:*")
def vote(request):
    return f"prefix vote:* took {request.action_id}"


@app.action("vote:x*")
def vote_x(request):
    return f"prefix vote:x* took {request.action_id}"


@app.action("vote:close")
def close_vote(request):
    return update("closed")


@app.view("order")
def order(submission):
    form = b.view_values(submission.values)
    if not form["n"]["name"]:
        return field_errors({"n": "Say your name"})
    return update_view(b.modal("Thanks", [b.section(f"Thanks, {form['n']['name']}")]))


@app.view_closed("order")
def order_closed(closed):
    print(f"closed {closed.view_id} by {closed.context.user_id} cleared={closed.is_cleared}")


@app.event("app_mention")
def mentioned(event):
    print(f"mentioned: {json.loads(event.payload)['text']}")


@app.schedule("nightly", "0 3 * * *")
def nightly(tick):
    print(f"tick {tick.name}")
    log.warn(f"due {tick.due_ms}")


@app.tick("remind:*")
def remind(tick):
    print(f"remind {tick.name}")


@app.shortcut("triage", "Send to a team", kind="message", description="Forward to a -help channel")
def triage(request):
    print(f"triage {request.callback_id}")
