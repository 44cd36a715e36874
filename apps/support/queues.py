"""The queue's numbers per channel, from the unsolved tickets Zendesk's
search returns (with their SLA policy metrics sideloaded), and how they
read in Slack. The definitions are the README's."""

import datetime

# The rows of the status, and the `via.channel` values each one counts
# (Zendesk's ticket `via` object: `voice` for calls and voicemails, `email`,
# `chat` for Zendesk Chat and `native_messaging` for messaging).
CHANNELS = [
    ("phone", "📞", "Phone", ("voice",)),
    ("email", "✉️", "E-mail", ("email",)),
    ("chat", "💬", "Chat", ("chat", "native_messaging")),
]

# One search for the whole queue: every ticket not yet solved (new, open,
# pending, on hold), with each ticket's SLA policy metrics.
QUERY = "type:ticket status<solved"
INCLUDE = "tickets(slas)"


def parse_time(text):
    """Milliseconds since the epoch of a Zendesk timestamp (`2026-01-05T09:00:00Z`), or None."""
    if not isinstance(text, str) or not text:
        return None
    try:
        t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return int(t.timestamp() * 1000)


def channel_of(ticket):
    via = (ticket.get("via") or {}).get("channel")
    for key, _, _, names in CHANNELS:
        if via in names:
            return key
    return "other"


def is_open(ticket):
    """The team's turn: `new` or `open` (not pending on the customer, not on hold)."""
    return ticket.get("status") in ("new", "open")


def is_waiting(ticket):
    """Open and nobody has picked it up: no assignee."""
    return is_open(ticket) and not ticket.get("assignee_id")


def breached(ticket, now_ms):
    """An SLA target missed and still running: an `active` policy metric
    whose `breach_at` has passed."""
    metrics = ((ticket.get("slas") or {}).get("policy_metrics")) or []
    for m in metrics:
        if not isinstance(m, dict) or m.get("stage") != "active":
            continue
        at = parse_time(m.get("breach_at"))
        if at is not None and at <= now_ms:
            return True
    return False


def tally(tickets, now_ms):
    """Per row (and `other`, and `total`): open, waiting, oldest waiting (ms
    since the oldest waiting ticket was created, or None), SLA breaches."""
    rows = {key: {"open": 0, "waiting": 0, "oldest_ms": None, "breaches": 0}
            for key in [c[0] for c in CHANNELS] + ["other", "total"]}
    for t in tickets:
        if t.get("status") in ("solved", "closed", "deleted"):
            continue
        for key in (channel_of(t), "total"):
            row = rows[key]
            if is_open(t):
                row["open"] += 1
            if is_waiting(t):
                row["waiting"] += 1
                created = parse_time(t.get("created_at"))
                if created is not None:
                    age = max(0, now_ms - created)
                    if row["oldest_ms"] is None or age > row["oldest_ms"]:
                        row["oldest_ms"] = age
            if breached(t, now_ms):
                row["breaches"] += 1
    return rows


def age(ms):
    """`45s`, `12m`, `1h 05m`, `2d 3h`."""
    if ms is None:
        return "—"
    s = ms // 1000
    if s < 60:
        return f"{s}s"
    m = s // 60
    if m < 60:
        return f"{m}m"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h}h {m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d {h}h"


def line(row):
    return (f"open {row['open']} · waiting {row['waiting']} · oldest waiting {age(row['oldest_ms'])} · "
            f"SLA breaches {row['breaches']}")


def hhmm_utc(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def render(rows, now_ms, desk):
    """`(text, lines)`: the status as one message."""
    lines = [f"*🎧 Support queue* · {hhmm_utc(now_ms)}"]
    for key, icon, label, _ in CHANNELS:
        lines.append(f"{icon} *{label}* — {line(rows[key])}")
    other = rows["other"]
    if other["open"] or other["breaches"] or other["waiting"]:
        lines.append(f"🌐 *Other* (web, API …) — {line(other)}")
    lines.append(f"*All channels* — {line(rows['total'])}")
    lines.append(f"_Open: new or open tickets. Waiting: open with no assignee. "
                 f"From {desk}._")
    return lines


def summary(rows):
    """`phone 2, e-mail 1, chat 0` — waiting tickets per channel."""
    parts = [f"{label.lower()} {rows[key]['waiting']}" for key, _, label, _ in CHANNELS]
    if rows["other"]["waiting"]:
        parts.append(f"other {rows['other']['waiting']}")
    return ", ".join(parts)
