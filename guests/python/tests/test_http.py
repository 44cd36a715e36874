"""`botyard.http`: requests-style calls over the `http` capability, against
a fake host."""

import unittest

from componentize_py_types import Err
from wit_world.imports import http as bindings

from botyard import Error, http
from tests.fakes import host


def answer(status=200, headers=(), body=b"", url="https://api.example.com/x"):
    return bindings.Response(status=status, headers=list(headers), body=body, url=url)


class Requests(unittest.TestCase):
    def setUp(self):
        self.host = host(self, http, bindings)
        self.host.answers["send"] = answer()

    def sent(self):
        name, request = self.host.calls[-1]
        self.assertEqual(name, "send")
        return request

    def test_a_get_with_params_headers_and_a_timeout(self):
        http.get(
            "https://api.example.com/items",
            params={"page": 2, "q": "pho bo", "tag": ["a", "b"], "skip": None},
            headers={"Accept": "application/json"},
            timeout=2,
        )
        self.assertEqual(
            self.sent(),
            bindings.Request(
                method="GET",
                url="https://api.example.com/items?page=2&q=pho+bo&tag=a&tag=b",
                headers=[("Accept", "application/json")],
                body=None,
                timeout_ms=2000,
            ),
        )

    def test_params_join_a_query_and_keep_a_fragment(self):
        http.get("https://x/a?b=1#top", params=[("c", "ä")], timeout=0.25)
        self.assertEqual((self.sent().url, self.sent().timeout_ms), ("https://x/a?b=1&c=%C3%A4#top", 250))
        http.get("https://x/a?", params="c=1")
        self.assertEqual(self.sent().url, "https://x/a?c=1")
        http.get("https://x/a", params={})
        self.assertEqual(self.sent().url, "https://x/a")

    def test_json_is_sent_with_its_content_type_unless_one_is_set(self):
        http.post("https://x/items", json={"name": "phở", "n": 1})
        request = self.sent()
        self.assertEqual((request.method, request.body), ("POST", '{"name":"phở","n":1}'.encode()))
        self.assertEqual(request.headers, [("Content-Type", "application/json")])
        http.patch("https://x/items/1", json=[1], headers=[("content-type", "application/merge-patch+json")])
        self.assertEqual(self.sent().headers, [("content-type", "application/merge-patch+json")])

    def test_data_is_sent_as_it_is_or_as_a_form(self):
        http.put("https://x/raw", data=b"\x00\xff")
        self.assertEqual((self.sent().method, self.sent().body, self.sent().headers), ("PUT", b"\x00\xff", []))
        http.post("https://x/text", data="ÿ ✓")
        self.assertEqual(self.sent().body, "ÿ ✓".encode())
        http.post("https://x/form", data={"a": "1 2", "b": ["x", "y"]})
        self.assertEqual(self.sent().body, b"a=1+2&b=x&b=y")
        self.assertEqual(self.sent().headers, [("Content-Type", "application/x-www-form-urlencoded")])

    def test_every_method(self):
        for call, method in (
            (http.get, "GET"),
            (http.post, "POST"),
            (http.put, "PUT"),
            (http.patch, "PATCH"),
            (http.delete, "DELETE"),
            (http.head, "HEAD"),
            (lambda url: http.request("delete", url), "DELETE"),
        ):
            call("https://x/")
            self.assertEqual(self.sent().method, method)

    def test_headers_may_repeat_a_name(self):
        http.get("https://x/", headers=[("X-A", "1"), ("X-A", 2)])
        self.assertEqual(self.sent().headers, [("X-A", "1"), ("X-A", "2")])

    def test_arguments_the_host_would_not_send_are_refused_before_sending(self):
        for call, message in (
            (lambda: http.get("https://x/", data="x"), "a GET request cannot have a body"),
            (lambda: http.head("https://x/", json={}), "a HEAD request cannot have a body"),
            (lambda: http.post("https://x/", data="a", json=1), "give data or json, not both"),
            (lambda: http.post("https://x/", data=3), "send other values as JSON with json="),
            (lambda: http.post("https://x/", json={1, 2}), "cannot be written as JSON"),
            (lambda: http.get("https://x/", timeout="2s"), "timeout is a number of seconds"),
            (lambda: http.get("https://x/", timeout=0), "timeout is a number of seconds"),
            (lambda: http.get("https://x/", headers="Accept: */*"), "headers are a dict or (name, value) pairs"),
            (lambda: http.get("https://x/", headers=[("a", "b", "c")]), "is a (name, value) pair"),
        ):
            with self.assertRaises(TypeError) as raised:
                call()
            self.assertIn(message, str(raised.exception))
        with self.assertRaises(TypeError):
            http.get("https://x/", verify=False)  # not an option here
        self.assertEqual(self.host.calls, [])


class Responses(unittest.TestCase):
    def setUp(self):
        self.host = host(self, http, bindings)

    def test_a_response_is_read_at_once(self):
        self.host.answers["send"] = answer(
            201,
            [("Content-Type", "application/json"), ("Set-Cookie", "a=1"), ("set-cookie", "b=2")],
            '{"id": 7, "name": "ÿ"}'.encode(),
            "https://api.example.com/items/7",
        )
        response = http.post("https://api.example.com/items", json={})
        self.assertEqual(response.status_code, 201)
        self.assertTrue(response.ok)
        self.assertTrue(response)
        self.assertEqual(response.url, "https://api.example.com/items/7")
        self.assertEqual(response.content, '{"id": 7, "name": "ÿ"}'.encode())
        self.assertEqual(response.text, '{"id": 7, "name": "ÿ"}')
        self.assertEqual(response.json(), {"id": 7, "name": "ÿ"})
        self.assertEqual(repr(response), "<Response [201]>")
        self.assertIs(response.raise_for_status(), response)

    def test_headers_are_looked_up_in_any_case(self):
        self.host.answers["send"] = answer(
            200, [("Content-Type", "text/plain"), ("Set-Cookie", "a=1"), ("set-cookie", "b=2")]
        )
        headers = http.get("https://x/").headers
        self.assertEqual(headers["content-type"], "text/plain")
        self.assertEqual(headers.get("CONTENT-TYPE"), "text/plain")
        self.assertEqual(headers["Set-Cookie"], "a=1, b=2")
        self.assertEqual(headers.get_all("SET-COOKIE"), ["a=1", "b=2"])
        self.assertIsNone(headers.get("missing"))
        self.assertIn("content-TYPE", headers)
        self.assertNotIn("missing", headers)
        self.assertEqual(list(headers), ["Content-Type", "Set-Cookie"])
        self.assertEqual(len(headers), 2)
        with self.assertRaises(KeyError):
            headers["missing"]

    def test_text_follows_the_charset_and_never_fails(self):
        self.host.answers["send"] = answer(200, [("Content-Type", 'text/plain; charset="latin-1"')], b"caf\xe9")
        self.assertEqual(http.get("https://x/").text, "café")
        self.host.answers["send"] = answer(200, [("Content-Type", "text/plain; charset=klingon")], b"ok \xff")
        self.assertEqual(http.get("https://x/").text, "ok \ufffd")
        self.host.answers["send"] = answer(200, [], b"\xe2\x9c\x93")
        self.assertEqual(http.get("https://x/").text, "✓")

    def test_a_status_other_than_2xx_is_not_ok_and_raise_for_status_says_so(self):
        for status in (304, 404, 500):
            self.host.answers["send"] = answer(status, [], b"no", "https://x/missing")
            response = http.get("https://x/missing")
            self.assertFalse(response.ok)
            self.assertEqual(response.text, "no")  # still a response
            with self.assertRaises(http.StatusError) as raised:
                response.raise_for_status()
            e = raised.exception
            self.assertEqual(str(e), f"https://x/missing answered {status}")
            self.assertEqual((e.kind, e.status_code, e.response), ("status", status, response))
            self.assertIsInstance(e, http.HTTPError)
        self.host.answers["send"] = answer(204)
        self.assertTrue(http.get("https://x/").ok)


class Errors(unittest.TestCase):
    def setUp(self):
        self.host = host(self, http, bindings)

    def test_each_case_of_the_wit_error_is_its_own_exception_with_the_hosts_text(self):
        for case, cls, kind in (
            (bindings.HttpError_NotAllowed, http.NotAllowed, "not-allowed"),
            (bindings.HttpError_InvalidRequest, http.InvalidRequest, "invalid-request"),
            (bindings.HttpError_Timeout, http.Timeout, "timeout"),
            (bindings.HttpError_TooLarge, http.TooLarge, "too-large"),
            (bindings.HttpError_TooMany, http.TooMany, "too-many"),
            (bindings.HttpError_Transport, http.Transport, "transport"),
        ):
            why = f"the host's reason for {kind}"
            self.host.answers["send"] = Err(case(why))
            with self.assertRaises(cls) as raised:
                http.post("https://api.example.com/x", json={})
            e = raised.exception
            self.assertEqual(str(e), why)
            self.assertEqual((e.kind, e.method, e.url), (kind, "POST", "https://api.example.com/x"))
            self.assertIsInstance(e, http.HTTPError)
            self.assertIsInstance(e, Error)  # left uncaught, the user sees it

    def test_not_allowed_names_the_rule_to_add(self):
        why = "no rule lets app `x` reach https://evil.example/: add one under [apps.x.http]"
        self.host.answers["send"] = Err(bindings.HttpError_NotAllowed(why))
        with self.assertRaises(http.NotAllowed) as raised:
            http.get("https://evil.example/")
        self.assertEqual(str(raised.exception), why)


if __name__ == "__main__":
    unittest.main()
