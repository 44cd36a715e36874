"""The help desk's arithmetic, with no Slack in it: durations as the
operator writes them, the clocks' due times, ISO weeks, and the
statistics `/helpdesk stats` shows. Times are Unix milliseconds (UTC)."""

import datetime
import re

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY

_PART = re.compile(r"(\d+)\s*([dhms])")
_UNITS = {"d": DAY, "h": HOUR, "m": MINUTE, "s": 1000}


def parse_duration(text):
    """`"30m"`, `"1h30m"`, `"1d"`, `"2h 15m"`, `"45s"` → milliseconds; a bare
    number is minutes. None when it is not a duration (or is zero)."""
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        ms = int(text * MINUTE)
        return ms if ms > 0 else None
    if not isinstance(text, str):
        return None
    t = text.strip().lower()
    if t.isdigit():
        ms = int(t) * MINUTE
        return ms if ms > 0 else None
    pos, total = 0, 0
    for m in _PART.finditer(t):
        if t[pos:m.start()].strip():
            return None
        total += int(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos == 0 or t[pos:].strip():
        return None
    return total if total > 0 else None


def duration(ms):
    """`45s`, `12m`, `1h 05m`, `2h`, `2d 3h`, `1d` (rounded down)."""
    if ms is None:
        return "—"
    s = max(0, int(ms)) // 1000
    if s < 60:
        return f"{s}s"
    m = s // 60
    if m < 60:
        return f"{m}m"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h}h {m:02d}m" if m else f"{h}h"
    d, h = divmod(h, 24)
    return f"{d}d {h}h" if h else f"{d}d"


def utc(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)


def hhmm(ms):
    """`10:30` in UTC."""
    return utc(ms).strftime("%H:%M")


def when(ms, now_ms):
    """`10:30 UTC` on the same UTC day as `now_ms`, else `Tue 6 Jan 10:30 UTC`."""
    t, n = utc(ms), utc(now_ms)
    if t.date() == n.date():
        return t.strftime("%H:%M UTC")
    return f"{t.strftime('%a')} {t.day} {t.strftime('%b %H:%M')} UTC"


def slack_date(ms, now_ms):
    """A time each reader sees on their own clock (Slack's date formatting),
    with the UTC text as the fallback."""
    secs = int(ms // 1000)
    same_day = utc(ms).date() == utc(now_ms).date()
    fmt = "{time}" if same_day else "{date_short_pretty} {time}"
    return f"<!date^{secs}^{fmt}|{when(ms, now_ms)}>"


# Weeks: ISO weeks, Monday 00:00 UTC to the next Monday.


def week_start(ms):
    """The Monday 00:00 UTC starting the ISO week `ms` is in."""
    d = utc(ms).date()
    monday = d - datetime.timedelta(days=d.weekday())
    start = datetime.datetime(monday.year, monday.month, monday.day, tzinfo=datetime.timezone.utc)
    return int(start.timestamp() * 1000)


def week_label(start_ms):
    """`2026-W02 (Mon 5 Jan – Sun 11 Jan)`."""
    s = utc(start_ms)
    e = utc(start_ms + WEEK - DAY)
    year, week, _ = s.isocalendar()
    return f"{year}-W{week:02d} (Mon {s.day} {s.strftime('%b')} – Sun {e.day} {e.strftime('%b')})"


def week_key(start_ms):
    """`2026-01-05`: the store's name for a week (its Monday)."""
    return utc(start_ms).strftime("%Y-%m-%d")


_ISO_WEEK = re.compile(r"^(\d{4})-?w(\d{1,2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_week(text, now_ms):
    """The Monday (ms) of the week `text` names: `this` (or nothing), `last`,
    `2026-W02`, or any date in it (`2026-01-07`). None when it names none."""
    t = (text or "").strip().lower()
    this = week_start(now_ms)
    if t in ("", "this", "week", "this-week", "current"):
        return this
    if t in ("last", "previous", "last-week"):
        return this - WEEK
    m = _ISO_WEEK.match(t)
    if m:
        try:
            d = datetime.date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        except ValueError:
            return None
        return int(datetime.datetime(d.year, d.month, d.day, tzinfo=datetime.timezone.utc).timestamp() * 1000)
    if _DATE.match(t):
        try:
            d = datetime.date.fromisoformat(t)
        except ValueError:
            return None
        at = datetime.datetime(d.year, d.month, d.day, tzinfo=datetime.timezone.utc)
        return week_start(int(at.timestamp() * 1000))
    return None


# Statistics


def median(values):
    """The middle value (the mean of the two middle ones for an even count)."""
    v = sorted(values)
    n = len(v)
    if n == 0:
        return None
    if n % 2:
        return v[n // 2]
    return (v[n // 2 - 1] + v[n // 2]) // 2


def p90(values):
    """The 90th percentile by nearest rank: the smallest value with at
    least 90% of the values at or below it."""
    v = sorted(values)
    if not v:
        return None
    rank = -(-9 * len(v) // 10)  # ceil(0.9 n)
    return v[rank - 1]


def team_stats(requests, now_ms):
    """For one team's requests (the store's records) opened in a week:
    how many; first responses (times, how many missed their target —
    answered late, or still waiting past it); resolutions (times, missed)."""
    first, resolved = [], []
    first_missed = resolution_missed = 0
    for r in requests:
        created = r["created_ms"]
        fr = r.get("first_response_ms")
        if fr is not None:
            first.append(fr - created)
            if fr > r["first_due_ms"]:
                first_missed += 1
        elif now_ms > r["first_due_ms"]:
            first_missed += 1
        done = r.get("resolved_ms")
        if done is not None:
            resolved.append(done - created)
            if done > r["resolution_due_ms"]:
                resolution_missed += 1
        elif now_ms > r["resolution_due_ms"]:
            resolution_missed += 1
    return {
        "count": len(requests),
        "first": {"n": len(first), "median": median(first), "p90": p90(first), "missed": first_missed},
        "resolution": {"n": len(resolved), "median": median(resolved), "p90": p90(resolved),
                       "missed": resolution_missed},
    }
