"""Block Kit builders: named after Slack's `type`, arguments in reading order."""

import unittest

from botyard import blocks as b, message

P = lambda t: {"type": "plain_text", "text": t}  # noqa: E731


class Builders(unittest.TestCase):
    def test_visible_text_comes_first_then_the_id(self):
        self.assertEqual(
            b.static_select("Pick a city", "city", [("Lisbon", "lisbon"), "Oslo"], initial="Oslo"),
            {
                "type": "static_select",
                "action_id": "city",
                "options": [{"text": P("Lisbon"), "value": "lisbon"}, {"text": P("Oslo"), "value": "Oslo"}],
                "placeholder": P("Pick a city"),
                "initial_option": {"text": P("Oslo"), "value": "Oslo"},
            },
        )
        self.assertEqual(b.button("Click me", "count", value="1"), {"type": "button", "action_id": "count", "text": P("Click me"), "value": "1"})
        self.assertEqual(b.option("Lisbon", "lisbon"), {"text": P("Lisbon"), "value": "lisbon"})
        self.assertEqual(b.users_select("Someone", "who"), {"type": "users_select", "action_id": "who", "placeholder": P("Someone")})
        self.assertEqual(
            b.channels_select("Where", "channel", initial_channel="C1"),
            {"type": "channels_select", "action_id": "channel", "placeholder": P("Where"), "initial_channel": "C1"},
        )
        self.assertEqual(
            b.plain_text_input("Ada", "name", multiline=True),
            {"type": "plain_text_input", "action_id": "name", "multiline": True, "placeholder": P("Ada")},
        )
        self.assertEqual(b.input("Title", b.datepicker("day")), {"type": "input", "label": P("Title"), "element": {"type": "datepicker", "action_id": "day"}})

    def test_optional_visible_text_may_be_left_out_or_given_by_name(self):
        self.assertEqual(b.datepicker("day"), {"type": "datepicker", "action_id": "day"})
        self.assertEqual(b.datepicker("Pick a day", "day"), b.datepicker("day", placeholder="Pick a day"))
        self.assertEqual(b.static_select("city", ["a"]), {"type": "static_select", "action_id": "city", "options": [{"text": P("a"), "value": "a"}]})
        self.assertEqual(b.users_select("who"), {"type": "users_select", "action_id": "who"})

    def test_a_modal_reads_title_callback_id_blocks(self):
        self.assertEqual(
            b.modal("New order", "order", [b.divider()], submit="Order", notify_on_close=True),
            {
                "type": "modal",
                "title": P("New order"),
                "blocks": [{"type": "divider"}],
                "callback_id": "order",
                "submit": P("Order"),
                "notify_on_close": True,
            },
        )
        self.assertEqual(b.modal("Thanks", [b.divider()]), {"type": "modal", "title": P("Thanks"), "blocks": [{"type": "divider"}]})

    def test_arguments_in_the_wrong_order_are_refused(self):
        with self.assertRaises(TypeError) as raised:
            b.static_select("city", [("A", "a")], "Pick one")  # the old order
        self.assertIn("static_select([placeholder], action_id, options, ...)", str(raised.exception))
        with self.assertRaises(TypeError):
            b.modal("Title", [b.divider()], "callback")
        with self.assertRaises(TypeError):
            b.datepicker()
        with self.assertRaises(TypeError):
            b.datepicker("Pick", "day", placeholder="Pick")

    def test_text_objects_and_messages(self):
        self.assertEqual(b.plain_text("hi", emoji=True), {"type": "plain_text", "text": "hi", "emoji": True})
        self.assertEqual(b.mrkdwn("*hi*"), {"type": "mrkdwn", "text": "*hi*"})
        self.assertEqual(message("hi", [b.divider()]).blocks, '[{"type":"divider"}]')
        self.assertIsNone(message("hi").blocks)


if __name__ == "__main__":
    unittest.main()
