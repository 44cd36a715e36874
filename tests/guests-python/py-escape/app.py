"""`/escape <port>` tries to reach outside its sandbox and reports, one line
per attempt, `<probe>: denied (<error>)` or `<probe>: GOT <what it got>`,
then how many calls its instance has served (1 if every call is fresh)."""

import encodings.idna  # noqa: F401  (socket needs it for host names; imported here, in the snapshot)
import os
import socket

from botyard import App


CALLS = []


def probe(name, attempt):
    try:
        return f"{name}: GOT {attempt()!r}"
    except Exception as e:  # every failure is the expected outcome
        return f"{name}: denied ({type(e).__name__}: {e})"


def read(path):
    with open(path) as f:
        return f.read(200)


def connect(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        s.connect(("127.0.0.1", port))
        s.sendall(b"escaped")
        return s.recv(100)


def resolve():
    return socket.getaddrinfo("localhost", 80)


def nonempty(value):
    if not value:
        raise LookupError(f"empty: {value!r}")
    return value


app = App("py-escape", "Test guest: tries to get out of its sandbox")


@app.command("/escape", "Try to get out", usage="<port>")
def escape(request):
    port = int(request.text)
    lines = [
        probe("absolute file", lambda: read("/etc/passwd")),
        probe("relative file", lambda: read("app.py")),
        probe("list /", lambda: os.listdir("/")),
        probe("write file", lambda: open("/tmp/escaped", "w").write("x")),
        probe("environ", lambda: nonempty(dict(os.environ))),
        probe("getenv PATH", lambda: nonempty(os.getenv("PATH"))),
        probe("getenv HOME", lambda: nonempty(os.getenv("HOME"))),
        probe("connect", lambda: connect(port)),
        probe("dns", resolve),
    ]
    CALLS.append(port)
    lines.append(f"instance calls: {len(CALLS)}")
    return "\n".join(lines)
