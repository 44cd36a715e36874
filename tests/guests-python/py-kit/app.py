"""Exercises the SDK: `/kit blocks` renders every Block Kit builder, `/kit
store` the JSON helpers, `/kit fail` an error for the user, `/kit crash` an
uncaught exception; a modal submission answers with field errors; a tick
prints."""

import json
import time

import botyard
from botyard import blocks as b, log, store


def every_block():
    return [
        b.header("Lunch"),
        b.section("*Pick*", fields=["a", b.plain("b")], accessory=b.button("Go", "go"), block_id="s"),
        b.context("small", b.image_element("https://x/i.png", "i")),
        b.divider(),
        b.image("https://x/m.png", "menu", title="Menu"),
        b.actions(
            b.button("Yes", "yes", value="1", style="primary"),
            b.static_select("pick", [("A", "a"), "b", b.option("C", "c", description="see")],
                            placeholder="Choose", initial="b"),
            b.users_select("who", placeholder="Someone"),
            b.datepicker("day", initial_date="2025-06-01"),
        ),
        b.input("Name", b.plain_text_input("name", multiline=True, placeholder="Ada"),
                block_id="n", optional=True, hint="yours"),
    ]


class Handler(botyard.App):
    name = "py-kit"
    commands = [botyard.command("/kit", "SDK checks", "blocks|store|fail|crash")]
    schedules = [botyard.recurring("nightly", "0 3 * * *")]

    def on_command(self, request):
        if request.text == "blocks":
            view = b.modal("Order", every_block(), callback_id="order", submit="Send",
                           close="Cancel", private_metadata="m")
            return botyard.ephemeral("blocks", [b.section(b.to_json(view))])
        if request.text == "store":
            store.set_json("poll", {"q": "Lunch?", "open": True})
            voters = store.update_json("voters", lambda v: v + ["U1"], default=[])
            voters = store.update_json("voters", lambda v: v + ["U2"], default=[])
            store.set("raw", "bytes")
            return botyard.in_channel(json.dumps({
                "poll": store.get_json("poll"),
                "missing": store.get_json("nope", default={"d": 1}),
                "voters": voters,
                "raw": store.get_text("raw"),
                "keys": store.keys("vo"),
                "cas_absent": store.compare_and_swap("lock", None, "me"),
                "cas_again": store.compare_and_swap("lock", None, "me"),
                "deleted": store.delete("raw"),
                "clock_ok": abs(time.time() * 1000 - botyard.now_ms()) < 60_000,
            }))
        if request.text == "fail":
            raise botyard.Error("no poll is open")
        if request.text == "crash":
            raise ValueError("boom")
        return "usage: /kit blocks|store|fail|crash"

    def on_view_submission(self, submission):
        form = b.view_values(submission.values)
        if not form["n"]["name"]:
            return botyard.field_errors({"n": "Say your name"})
        return botyard.replace_view(b.modal("Thanks", [b.section(f"Thanks, {form['n']['name']}")]))

    def on_tick(self, tick):
        print(f"tick {tick.name}")
        log.warn(f"due {tick.due_ms}")
