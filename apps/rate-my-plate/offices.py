"""The offices and the house team, from the app's settings
(`[apps.rate-my-plate.settings]` in botyard.toml); see README.md."""

import datetime
import json

from botyard import clock, settings, slack, store

import tz

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DEFAULT_WORKING_DAYS = ["mon", "tue", "wed", "thu", "fri"]
POST_BEFORE_MIN = 60  # the menu goes out one hour before lunch
DEFAULT_RATING_HOURS = 3  # ratings close three hours after lunch starts


class Office:
    def __init__(self, key, name, zone, lunch, closes, channel, holidays, working_days, menu_url, headcount):
        self.key = key
        self.name = name
        self.tz = zone
        self.lunch = lunch  # minutes after local midnight
        self.closes = closes  # minutes after local midnight
        self.channel = channel
        self.holidays = holidays  # {date: label}
        self.working_days = working_days  # set of weekday numbers, Monday 0
        self.setting_url = menu_url
        self.headcount = headcount

    # When things happen, for a local day

    def post_at(self, day):
        return tz.at(self.tz, day, self.lunch - POST_BEFORE_MIN)

    def lunch_at(self, day):
        return tz.at(self.tz, day, self.lunch)

    def close_at(self, day):
        return tz.at(self.tz, day, self.closes)

    def today(self, now_ms):
        return tz.today(self.tz, now_ms)

    def closed_because(self, day):
        """Why there is no lunch service on `day`, or None."""
        if day.isoformat() in self.holidays:
            label = self.holidays[day.isoformat()]
            return f"a holiday ({label})" if label else "a holiday"
        if day.weekday() not in self.working_days:
            return f"not a working day ({tz.DAYS[day.weekday()]})"
        return None

    def next_service_day(self, day, include=True):
        """The first day from `day` (or after it) with lunch service."""
        d = day if include else day + datetime.timedelta(days=1)
        for _ in range(370):
            if self.closed_because(d) is None:
                return d
            d += datetime.timedelta(days=1)
        return None

    def menu_url(self):
        """The URL the house team set with `/plate url`, else the setting."""
        override = store.get_json(f"url/{self.key}")
        if override is not None:
            return override or None  # "" means switched off
        return self.setting_url

    def label(self):
        return f"*{self.name}* ({self.key})"


def _holidays(raw, problems, where):
    """`["2026-12-25", …]` or `{"2026-12-25" = "Christmas"}` -> {iso: label}."""
    out = {}
    if raw is None:
        return out
    items = raw.items() if isinstance(raw, dict) else [(h, "") for h in raw] if isinstance(raw, list) else None
    if items is None:
        problems.append(f"{where}: `holidays` is a list of dates, e.g. [\"2026-12-25\"]")
        return out
    for day, label in items:
        if isinstance(day, dict) and len(day) == 1:  # an unquoted TOML date, as JSON
            day = next(iter(day.values()))
        parsed = tz.parse_date(day) if isinstance(day, str) else None
        if parsed is None:
            problems.append(f"{where}: holiday `{day}` is not a date (YYYY-MM-DD)")
            continue
        out[parsed.isoformat()] = str(label or "")
    return out


def load():
    """(offices sorted by key, problems): an office with a mistake is left
    out, and the mistake is named for the house team (`/plate help`)."""
    problems = []
    raw = settings.get("offices")
    if raw is None:
        return [], problems
    try:
        table = json.loads(raw)
    except ValueError:
        table = None
    if not isinstance(table, dict):
        return [], ["`offices` is a table of offices: [apps.rate-my-plate.settings.offices.paris]"]
    offices = []
    for key in sorted(table):
        conf = table[key]
        where = f"office `{key}`"
        if not isinstance(conf, dict):
            problems.append(f"{where}: it is a table (name, timezone, lunch, channel …)")
            continue
        before = len(problems)
        unknown = set(conf) - {"name", "timezone", "lunch", "ratings_close", "channel", "holidays",
                               "working_days", "menu_url", "headcount"}
        for k in sorted(unknown):
            problems.append(f"{where}: `{k}` is not an office setting")
        zone = conf.get("timezone", "UTC")
        if not isinstance(zone, str) or not tz.known(zone):
            problems.append(f"{where}: timezone `{zone}` is not one this app knows (an IANA name such as \"Europe/Paris\")")
        lunch = tz.parse_hhmm(conf.get("lunch", "12:00"))
        if lunch is None or lunch < POST_BEFORE_MIN:
            problems.append(f"{where}: lunch `{conf.get('lunch')}` is not a time (HH:MM, after 01:00)")
            lunch = 12 * 60
        closes = conf.get("ratings_close")
        if closes is None:
            closes_min = min(lunch + DEFAULT_RATING_HOURS * 60, 23 * 60 + 59)
        else:
            closes_min = tz.parse_hhmm(closes)
            if closes_min is None or closes_min <= lunch:
                problems.append(f"{where}: ratings_close `{closes}` is not a time (HH:MM) after lunch")
        channel = conf.get("channel")
        if not isinstance(channel, str) or not channel.strip():
            problems.append(f"{where}: `channel` is missing (where the menu is posted, e.g. \"#lunch-paris\")")
        days = conf.get("working_days", DEFAULT_WORKING_DAYS)
        working = set()
        if not isinstance(days, list) or not days:
            problems.append(f"{where}: working_days is a list such as [\"mon\", \"tue\"]")
        else:
            for d in days:
                short = str(d).strip().lower()[:3]
                if short not in WEEKDAYS:
                    problems.append(f"{where}: working day `{d}` is not a day (mon … sun)")
                else:
                    working.add(WEEKDAYS.index(short))
        holidays = _holidays(conf.get("holidays"), problems, where)
        url = conf.get("menu_url")
        if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
            problems.append(f"{where}: menu_url `{url}` is not an http(s) URL")
        headcount = conf.get("headcount")
        if headcount is not None and (not isinstance(headcount, int) or isinstance(headcount, bool) or headcount < 1):
            problems.append(f"{where}: headcount is a whole number of people above 0")
        if len(problems) > before:
            continue
        name = conf.get("name") or key.replace("-", " ").title()
        offices.append(Office(key, str(name), zone, lunch, closes_min, channel.strip(), holidays,
                              working, url, headcount))
    return offices, problems


def find(offices, word):
    """The office whose key or name is `word` (any case), or None."""
    w = word.strip().lower()
    for o in offices:
        if o.key.lower() == w or o.name.lower() == w:
            return o
    return None


# The house team


def house_team_entries():
    """The `house_team` setting as a list of ids / `@handles`."""
    raw = settings.get("house_team")
    if raw is None:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, list):
        return []
    return [str(v).strip() for v in value if str(v).strip()]


GROUP_CACHE_MS = 5 * 60 * 1000  # Slack allows ~20 user-group lookups a minute


def _cached(key, fetch):
    """`fetch()`, remembered in the store for a few minutes."""
    now = clock.now_ms()
    hit = store.get_json(key)
    if hit and hit.get("until", 0) > now:
        return hit["value"]
    value = fetch()
    store.set_json(key, {"value": value, "until": now + GROUP_CACHE_MS})
    return value


def _group_ids(entries):
    """User-group ids for the entries that name a group (`@handle`, `S…`)."""
    wanted = [e for e in entries if e.startswith("@") or e.startswith("S")]
    if not wanted:
        return []
    ids = []
    groups = _cached("cache/groups", lambda: [[g.id, g.handle] for g in slack.user_groups()])
    for e in wanted:
        for gid, handle in groups:
            if e == gid or e.lstrip("@").lower() == handle.lower():
                ids.append(gid)
    return ids


def _members(gid):
    return _cached(f"cache/group/{gid}", lambda: list(slack.user_group_members(gid)))


def unknown_groups():
    """The `house_team` entries that name a user group Slack does not have."""
    entries = [e for e in house_team_entries() if e.startswith("@") or e.startswith("S")]
    if not entries:
        return []
    groups = _cached("cache/groups", lambda: [[g.id, g.handle] for g in slack.user_groups()])
    known = {gid for gid, _ in groups} | {"@" + handle.lower() for _, handle in groups}
    return [e for e in entries if e not in known and e.lower() not in known]


def is_house_team(user):
    entries = house_team_entries()
    if user in entries:
        return True
    for gid in _group_ids(entries):
        if user in _members(gid):
            return True
    return False


def house_team_members():
    """Every user id the house team names: its people and its groups' members."""
    entries = house_team_entries()
    members = [e for e in entries if not e.startswith("@") and not e.startswith("S")]
    for gid in _group_ids(entries):
        for u in _members(gid):
            if u not in members:
                members.append(u)
    return members


def house_team_shown():
    entries = house_team_entries()
    return ", ".join(e if e.startswith("@") else f"<@{e}>" for e in entries) or "nobody yet"
