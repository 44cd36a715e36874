"""`botyard.slack`: what each wrapper hands the host, against a fake host."""

import datetime
import unittest

from componentize_py_types import Err
from wit_world.imports import slack as bindings
from wit_world.imports.types import Message, MessageRef

from botyard import blocks as b, message, slack
from tests.fakes import host

REF = MessageRef(channel="C1", ts="1700000000.000100")


class NewCalls(unittest.TestCase):
    def setUp(self):
        self.host = host(self, slack, bindings)

    def last(self):
        return self.host.calls[-1]

    def test_post_maps_its_options_to_the_wit_record(self):
        self.host.answers["post"] = REF
        self.assertEqual(slack.post("C1", "hi"), REF)
        self.assertEqual(
            self.last(),
            ("post", "C1", Message(text="hi", blocks=None), bindings.PostOptions(thread_ts=None, reply_broadcast=False, metadata=None)),
        )
        slack.post(
            "C1",
            "Deployed",
            thread_ts="0.5",
            reply_broadcast=True,
            metadata={"event_type": "deploy", "payload": {"version": "1.2.3"}},
            blocks=[b.section("Deployed")],
        )
        _, channel, sent, options = self.last()
        self.assertEqual(sent, message("Deployed", [b.section("Deployed")]))
        self.assertEqual(
            options,
            bindings.PostOptions(
                thread_ts="0.5",
                reply_broadcast=True,
                metadata=bindings.MessageMetadata(event_type="deploy", payload='{"version":"1.2.3"}'),
            ),
        )
        # The payload as JSON text, the metadata as a pair or as the record.
        slack.post("C1", message("raw"), metadata=("e", '{"a":2}'))
        self.assertEqual(self.last()[3].metadata, bindings.MessageMetadata(event_type="e", payload='{"a":2}'))
        record = bindings.MessageMetadata(event_type="r", payload="{}")
        slack.post("C1", "x", metadata=record)
        self.assertIs(self.last()[3].metadata, record)

    def test_post_refuses_options_it_cannot_send(self):
        for kwargs, text in (
            ({"metadata": {"payload": {}}}, 'metadata is {"event_type": ..., "payload": {...}}'),
            ({"metadata": {"event_type": "e", "payload": {}, "extra": 1}}, "metadata is"),
            ({"metadata": "deploy"}, "metadata is"),
            ({"metadata": ("e", [1, 2])}, "payload is a JSON object"),
            ({"metadata": ("", {})}, "event_type is a non-empty string"),
            ({"reply_broadcast": "yes"}, "reply_broadcast is True or False"),
        ):
            with self.assertRaises(TypeError) as raised:
                slack.post("C1", "x", **kwargs)
            self.assertIn(text, str(raised.exception))
        self.assertEqual(self.host.calls, [])

    def test_schedule_message_takes_seconds_or_a_datetime(self):
        self.host.answers["schedule_message"] = "Q1"
        self.assertEqual(slack.schedule_message("C1", "later", 1700000000), "Q1")
        self.assertEqual(self.last(), ("schedule_message", "C1", Message(text="later", blocks=None), 1700000000, None))
        slack.schedule_message("C1", "later", 1700000000.9, "0.5")
        self.assertEqual(self.last()[3:], (1700000000, "0.5"))
        at = datetime.datetime(2023, 11, 14, 22, 13, 20, tzinfo=datetime.timezone.utc)
        slack.schedule_message("C1", "later", at, blocks=[b.divider()])
        self.assertEqual(self.last()[3], 1700000000)
        with self.assertRaises(ValueError) as raised:
            slack.schedule_message("C1", "x", 1700000000000)
        self.assertIn("looks like milliseconds", str(raised.exception))
        for bad in ("soon", True, None):
            with self.assertRaises(TypeError):
                slack.schedule_message("C1", "x", bad)
        with self.assertRaises(ValueError):
            slack.schedule_message("C1", "x", -1)

    def test_questions_answer_what_the_host_answers(self):
        self.host.answers.update(
            get_permalink="https://slack.example/p1",
            thread_replies=[bindings.ThreadMessage(ts="1.0", user="U1", text="hi")],
            channel_members=["U1", "U2"],
            user_groups=[bindings.UserGroup(id="S1", handle="sre", name="SRE")],
            user_group_members=["U3"],
        )
        self.assertEqual(slack.get_permalink(REF), "https://slack.example/p1")
        self.assertEqual(slack.thread_replies(REF)[0].text, "hi")
        slack.thread_replies(REF, limit=5)
        self.assertEqual(slack.channel_members("C1"), ["U1", "U2"])
        self.assertEqual(slack.user_groups()[0].handle, "sre")
        self.assertEqual(slack.user_group_members("S1"), ["U3"])
        self.assertEqual(
            self.host.calls,
            [
                ("get_permalink", REF),
                ("thread_replies", REF, 100),
                ("thread_replies", REF, 5),
                ("channel_members", "C1"),
                ("user_groups",),
                ("user_group_members", "S1"),
            ],
        )

    def test_channels_topics_pins_and_files(self):
        self.host.answers["create_channel"] = "C9"
        self.assertEqual(slack.create_channel("inc-42"), "C9")
        slack.create_channel("secret", is_private=True)
        slack.invite("C9", ["U1", "U2"])
        slack.invite("C9", "U3")
        slack.invite("C9", (u for u in ("U4",)))
        slack.set_topic("C9", "Incident 42")
        slack.pin(REF)
        slack.upload_file("C1", "report.csv", "Report", "a,b\n1,ä\n")
        slack.upload_file("C1", "raw.bin", "Raw", bytearray(b"\x00\xff"), "0.5")
        self.assertEqual(
            self.host.calls,
            [
                ("create_channel", "inc-42", False),
                ("create_channel", "secret", True),
                ("invite", "C9", ["U1", "U2"]),
                ("invite", "C9", ["U3"]),
                ("invite", "C9", ["U4"]),
                ("set_topic", "C9", "Incident 42"),
                ("pin", REF),
                ("upload_file", "C1", "report.csv", "Report", "a,b\n1,ä\n".encode(), None),
                ("upload_file", "C1", "raw.bin", "Raw", b"\x00\xff", "0.5"),
            ],
        )
        with self.assertRaises(TypeError):
            slack.upload_file("C1", "x.json", "X", {"a": 1})
        with self.assertRaises(TypeError):
            slack.create_channel("x", is_private="no")

    def test_a_failure_is_a_slack_error_naming_the_call(self):
        self.host.answers["pin"] = Err(bindings.SlackError_Api("no_permission"))
        with self.assertRaises(slack.SlackError) as raised:
            slack.pin(REF)
        e = raised.exception
        self.assertEqual(str(e), "slack pin failed (api): no_permission")
        self.assertEqual((e.kind, e.detail), ("api", "no_permission"))
        self.host.answers["schedule_message"] = Err(bindings.SlackError_InvalidArgument("post_at is in the past"))
        with self.assertRaises(slack.SlackError) as raised:
            slack.schedule_message("C1", "x", 1)
        self.assertEqual(str(raised.exception), "slack schedule-message failed (invalid argument): post_at is in the past")


if __name__ == "__main__":
    unittest.main()
