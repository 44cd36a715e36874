"""Menus: where they come from (the `/plate menu` form, or a URL), posting
them one hour before lunch, the rating buttons, and closing them."""

import datetime
import json

from botyard import blocks as b, http, log, schedule, slack, store

import offices as cfg
import tz

MAX_DISHES = 15
MAX_DISH_CHARS = 75
MAX_COMMENT_CHARS = 500
STARS = ["", "★☆☆☆☆", "★★☆☆☆", "★★★☆☆", "★★★★☆", "★★★★★"]


def dish_key(name):
    return " ".join(name.lower().split())


# Store keys


def menu_key(office, day):
    return f"menu/{office.key}/{day.isoformat()}"


def post_key(office, day):
    return f"post/{office.key}/{day.isoformat()}"


def ratings_prefix(office_key, day_iso):
    return f"r/{office_key}/{day_iso}/"


def get_menu(office, day):
    return store.get_json(menu_key(office, day))


def get_post(office, day):
    return store.get_json(post_key(office, day))


def ratings_of(office_key, day_iso):
    """{user: {dish_key: {"dish", "stars", "comment"}}} for one menu."""
    prefix = ratings_prefix(office_key, day_iso)
    out = {}
    for key in store.list_keys(prefix):
        value = store.get_json(key)
        if value:
            out[key[len(prefix):]] = value
    return out


def is_open(office, day, now_ms):
    """Whether ratings of `day`'s menu are open: posted, not closed, before its close time."""
    post = get_post(office, day)
    return bool(post) and not post.get("closed") and now_ms < office.close_at(day)


# Parsing menus


def clean_dishes(lines):
    """(dishes, error): the dishes of `lines` (blank lines and bullets
    dropped), or what is wrong with them."""
    dishes = []
    seen = {}
    for line in lines:
        name = " ".join(str(line).split()).lstrip("-•*· ").strip()
        if not name:
            continue
        if len(name) > MAX_DISH_CHARS:
            return None, f"“{name[:30]}…” is longer than {MAX_DISH_CHARS} characters: shorten it"
        k = dish_key(name)
        if k in seen:
            return None, f"“{name}” is there twice"
        seen[k] = name
        dishes.append(name)
    if not dishes:
        return None, "Write at least one dish, one per line"
    if len(dishes) > MAX_DISHES:
        return None, f"At most {MAX_DISHES} dishes a day ({len(dishes)} given)"
    return dishes, None


def _names(items):
    out = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("name") or item.get("dish") or ""
        out.append(str(item))
    return out


def parse_fetched(text, content_type, day):
    """(dishes, error) for `day` from what a menu URL answered: JSON — a
    list of dishes, `{"dishes": [...]}`, or dates to lists
    (`{"2026-11-26": [...]}`, also under `"days"`) — or plain text, one
    dish per line (`#` lines are comments)."""
    body = text.strip()
    data = None
    if "json" in content_type or body[:1] in ("[", "{"):
        try:
            data = json.loads(body)
        except ValueError:
            return None, "it is not valid JSON"
    if data is None:
        lines = [l for l in body.splitlines() if not l.strip().startswith("#")]
        return clean_dishes(lines)
    if isinstance(data, dict) and isinstance(data.get("days"), dict):
        data = data["days"]
    if isinstance(data, list):
        return clean_dishes(_names(data))
    if isinstance(data, dict):
        if isinstance(data.get("dishes"), list) and not any(tz.parse_date(k) for k in data):
            return clean_dishes(_names(data["dishes"]))
        for k, v in data.items():
            if tz.parse_date(k) == day:
                if isinstance(v, dict):
                    v = v.get("dishes", [])
                if isinstance(v, list):
                    return clean_dishes(_names(v))
        return None, f"it has no menu for {day.isoformat()}"
    return None, "it is neither a list of dishes nor dates with dishes"


def fetch(url, day):
    """(dishes, error) for `day` from `url`."""
    try:
        r = http.get(url, headers={"Accept": "application/json, text/plain"}, timeout=5)
    except http.HTTPError as e:
        return None, f"{url} could not be fetched: {e}"
    if not r.ok:
        return None, f"{url} answered {r.status_code}"
    dishes, error = parse_fetched(r.text, r.headers.get("content-type", ""), day)
    if error:
        return None, f"{url}: {error}"
    return dishes, None


# What the channel sees


def _value(office, day, key, stars=None):
    parts = [office.key, day.isoformat(), key]
    if stars is not None:
        parts.append(str(stars))
    return "|".join(parts)


def parse_value(value):
    """office key, date, dish key, stars (or None) from a button's value."""
    parts = (value or "").split("|")
    if len(parts) < 3:
        return None
    stars = int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else None
    return parts[0], tz.parse_date(parts[1]), parts[2], stars


def summary(office, day, dishes):
    """{dish_key: (sum, count)} and the number of people who rated, for the
    dishes on the menu (ratings of a dish removed from it no longer count)."""
    served = {dish_key(n) for n in dishes}
    totals = {}
    people = 0
    for user, mine in ratings_of(office.key, day.isoformat()).items():
        counted = False
        for k, r in mine.items():
            if r.get("stars") and k in served:
                s, n = totals.get(k, (0, 0))
                totals[k] = (s + r["stars"], n + 1)
                counted = True
        people += counted
    return totals, people


def average_text(total):
    s, n = total
    if not n:
        return "no ratings"
    avg = s / n
    return f"{STARS[max(1, min(5, int(avg + 0.5)))]} {avg:.1f} ({n} rating{'s' if n != 1 else ''})"


def render(office, day, dishes, closed=False):
    title = f"🍽️ {office.name} lunch menu — {tz.long_day(day)}"
    text = f"{office.name} lunch menu for {tz.long_day(day)}: " + ", ".join(dishes)
    blocks = [b.header(title[:150])]
    if closed:
        totals, people = summary(office, day, dishes)
        blocks.append(b.context(
            f"Ratings closed at {tz.hhmm(office.closes)}: {people} "
            f"{'person' if people == 1 else 'people'} rated. Thank you!"))
        for name in dishes:
            blocks.append(b.section(f"*{name}*   {average_text(totals.get(dish_key(name), (0, 0)))}"))
        return text, blocks
    blocks.append(b.context(
        f"Lunch is at {tz.hhmm(office.lunch)}. Tap 1 (poor) to 5 (excellent) for each dish you had; "
        f"you can change your rating until {tz.hhmm(office.closes)}."))
    for i, name in enumerate(dishes):
        k = dish_key(name)
        blocks.append(b.section(f"*{name}*"))
        blocks.append(b.actions(
            *[b.button(f"{n} ★", f"rate:{i}:{n}", value=_value(office, day, k, n)) for n in range(1, 6)],
            block_id=f"dish:{i}"))
    return text, blocks


# Posting and closing


def _notify_once(office, day, text):
    """Tells the house team, by DM, once per office and day."""
    if not store.compare_and_swap(f"notified/{office.key}/{day.isoformat()}", None, "1"):
        return
    for user in cfg.house_team_members():
        slack.send_dm(user, text)
    log.warn(text)


def menu_for(office, day):
    """(menu, error): the menu set for `day`, else the one its URL gives
    (kept, so it is what gets rated)."""
    menu = get_menu(office, day)
    if menu:
        return menu, None
    url = office.menu_url()
    if not url:
        return None, (f"No menu is set for {office.name} on {tz.long_day(day)}, so nothing was posted in "
                      f"{office.channel}. Set one with `/plate menu {office.key}` and it is posted at once.")
    dishes, error = fetch(url, day)
    if error:
        return None, (f"The {office.name} menu for {tz.long_day(day)} was not posted: {error}. "
                      f"Set it with `/plate menu {office.key}` and it is posted at once.")
    menu = {"dishes": dishes, "source": "url", "url": url}
    store.set_json(menu_key(office, day), menu)
    return menu, None


def post_menu(office, day, now_ms):
    """Posts `day`'s menu in the office's channel, once; tells the house
    team when there is none. Returns whether it posted."""
    if get_post(office, day):
        return False
    menu, error = menu_for(office, day)
    if error:
        _notify_once(office, day, error)
        return False
    if not store.compare_and_swap(post_key(office, day), None, json.dumps({"claimed": True})):
        return False
    text, blocks = render(office, day, menu["dishes"])
    ref = slack.post_message(office.channel, text, blocks=blocks)
    store.set_json(post_key(office, day), {"channel": ref.channel, "ts": ref.ts, "closed": False,
                                           "posted_ms": now_ms})
    schedule.once(f"close:{office.key}:{day.isoformat()}", office.close_at(day))
    return True


def refresh_posted(office, day):
    """Redraws a posted menu after the house team changed it."""
    post = get_post(office, day)
    menu = get_menu(office, day)
    if not post or not menu or "ts" not in post:
        return
    text, blocks = render(office, day, menu["dishes"], closed=bool(post.get("closed")))
    slack.update_message(slack.MessageRef(channel=post["channel"], ts=post["ts"]), text, blocks=blocks)


def close_menu(office, day):
    post = get_post(office, day)
    if not post or post.get("closed") or "ts" not in post:
        return
    post = store.update_json(post_key(office, day), lambda p: dict(p, closed=True), default={})
    refresh_posted(office, day)


def plan(now_ms):
    """Runs every hour: posts what is due (late, if the app was down at
    the time, while ratings could still open), and sets a one-off tick at
    the exact minute of each menu due within the hour."""
    offices, problems = cfg.load()
    for p in problems:
        log.error(f"rate-my-plate settings: {p}")
    for office in offices:
        day = office.today(now_ms)
        if office.closed_because(day) is not None or get_post(office, day):
            continue
        post_at, close_at = office.post_at(day), office.close_at(day)
        if now_ms >= close_at:
            continue
        if now_ms >= post_at:
            post_menu(office, day, now_ms)
        elif post_at - now_ms <= tz.HOUR_MS:
            schedule.once(f"post:{office.key}", post_at)


def next_menu_day(office, now_ms):
    """The day a menu set now would be for: today until its menu is
    posted, else the next day with lunch service."""
    today = office.today(now_ms)
    if office.closed_because(today) is None and not get_post(office, today) and now_ms < office.close_at(today):
        return today
    return office.next_service_day(today, include=False)


def record_recent(user, office_key, day_iso):
    def add(recent):
        entry = [office_key, day_iso]
        recent = [e for e in recent if e != entry]
        return [entry] + recent[:9]

    store.update_json(f"u/{user}", add, default=[])


def iso(day):
    return day.isoformat() if isinstance(day, datetime.date) else str(day)
