"""rate-my-plate: each office's lunch menu is posted one hour before lunch
(in the office's time zone, on working days, not on holidays); people rate
each dish 1-5 in one tap, may comment, and may change their mind until the
window closes after lunch. The house team sets menus (`/plate menu`, or a
menu URL) and reads `/plate report`. See README.md."""

import datetime
import json

from botyard import (
    App,
    Error,
    blocks as b,
    clock,
    ephemeral,
    field_errors,
    slack,
    store,
)

import menus
import offices as cfg
import report
import tz

app = App("rate-my-plate", "Lunch menus, rated dish by dish")
app.setting("offices", "Each office: name, timezone, lunch (HH:MM), channel, holidays, … (see README)")
app.setting("house_team", "Who may set menus and read reports: user ids and/or user groups (@handle)")

USAGE = "[help | menu [office] [YYYY-MM-DD] | url [office] [URL|off] | report [week|month] [office]]"


def now():
    return clock.now_ms()


# /plate


@app.command("/plate", "Lunch menus and ratings", usage=USAGE)
def plate(request):
    words = (request.text or "").split()
    verb = words[0].lower() if words else "help"
    rest = words[1:]
    user = request.context.user_id
    if verb in ("help", "?"):
        return help_text(user)
    if verb == "menu":
        return menu_command(request, rest)
    if verb == "url":
        return url_command(user, rest)
    if verb == "report":
        return report_command(request, rest)
    return ephemeral(f"`/plate {words[0]}` is not a command. Try `/plate help`.")


def help_text(user):
    offices, problems = cfg.load()
    try:
        house = cfg.is_house_team(user)
    except slack.SlackError:  # Slack unreachable: the help still helps
        house = False
    lines = [
        "*🍽️ Rate my plate* — rate today's lunch, dish by dish.",
        "• Each office's menu is posted in its channel *one hour before lunch*, on working days.",
        "• Tap *1 ★* (poor) to *5 ★* (excellent) under each dish you had. Tap another number to change "
        "your rating, and add a comment from the confirmation. Ratings close after lunch.",
        "• Open the app's *Home* tab for today's menu and your ratings.",
        "• `/plate help` — this help",
        "",
        f"*House team* ({cfg.house_team_shown()}){' — that is you' if house else ' only'}:",
        "• `/plate menu [office] [YYYY-MM-DD]` — set a day's menu in a form (one dish per line)",
        "• `/plate url [office] [URL|off]` — take menus from a URL instead (JSON or one dish per line)",
        "• `/plate report [week|month] [office]` — averages and trends per dish, participation, "
        "top and bottom dishes, a CSV, and a forecast of portions for the next order",
        "",
    ]
    if offices:
        lines.append("*Offices*")
        for o in offices:
            lines.append(
                f"• {o.label()}: lunch {tz.hhmm(o.lunch)} ({o.tz}), menu at {tz.hhmm(o.lunch - cfg.POST_BEFORE_MIN)} "
                f"in {o.channel}, ratings until {tz.hhmm(o.closes)}")
    else:
        lines.append("No offices are set up yet: the operator adds them to botyard.toml "
                     "(`[apps.rate-my-plate.settings.offices.<id>]`).")
    try:
        typos = cfg.unknown_groups()
    except slack.SlackError:
        typos = []
    for entry in typos:
        lines.append(f"⚠️ `house_team` names `{entry}`, which is not a user group: list groups by their "
                     "handle (`@house-team`) and people by their user id (`U…`).")
    if problems and house:
        lines.append("")
        lines.append("*⚠️ Settings to fix* (these offices are left out until then):")
        lines.extend(f"• {p}" for p in problems)
    return ephemeral("\n".join(lines).split("\n")[0], [b.section(t) for t in _chunks(lines)])


def _chunks(lines, limit=2900):
    out, cur = [], ""
    for line in lines:
        if cur and len(cur) + len(line) + 1 > limit:
            out.append(cur)
            cur = ""
        cur = f"{cur}\n{line}" if cur else (line or " ")
    if cur.strip():
        out.append(cur)
    return out


def require_house_team(user, what):
    if not cfg.house_team_entries():
        raise Error(f"Only the house team can {what}, and none is set up: the operator lists it in "
                    "botyard.toml (`house_team = [\"@house-team\"]` under [apps.rate-my-plate.settings]).")
    if not cfg.is_house_team(user):
        raise Error(f"Only the house team ({cfg.house_team_shown()}) can {what}. "
                    "Today's menu and your ratings are in the app's Home tab.")


def office_arg(offices, word):
    """The office named `word`, with an error listing the offices otherwise."""
    if not offices:
        raise Error("No offices are set up yet: the operator adds them to botyard.toml "
                    "(`[apps.rate-my-plate.settings.offices.<id>]`).")
    found = cfg.find(offices, word)
    if found is None:
        raise Error(f"There is no office `{word}`. Offices: " + ", ".join(f"`{o.key}`" for o in offices) + ".")
    return found


# /plate menu: the form


def menu_command(request, rest):
    user = request.context.user_id
    require_house_team(user, "set menus")
    offices, _ = cfg.load()
    if not offices:
        office_arg(offices, "")
    office = offices[0]
    day = None
    for word in rest:
        if tz.parse_date(word) is not None:
            day = tz.parse_date(word)
        elif any(c.isdigit() for c in word) and "-" in word:
            raise Error(f"`{word}` is not a date: write it as YYYY-MM-DD, e.g. `/plate menu {office.key} 2026-12-01`.")
        else:
            office = office_arg(offices, word)
    if day is None:
        day = menus.next_menu_day(office, now())
    if not request.context.trigger_id:
        raise Error("Slack gave no way to open the form here; try `/plate menu` again.")
    existing = menus.get_menu(office, day) if day else None
    fields = []
    if len(offices) > 1:
        fields.append(b.input("Office", b.static_select("office", [(o.name, o.key) for o in offices],
                                                        initial=(office.name, office.key)), block_id="office"))
    fields.append(b.input("Day", b.datepicker("day", initial_date=day.isoformat() if day else None), block_id="day"))
    fields.append(b.input("Dishes", b.plain_text_input(
        "Ratatouille\nQuiche lorraine\nGreen salad", "dishes", multiline=True,
        initial_value="\n".join(existing["dishes"]) if existing else None),
        block_id="dishes", hint=f"One dish per line, up to {menus.MAX_DISHES}."))
    meta = json.dumps({"office": office.key, "channel": request.context.channel_id})
    intro = (f"The menu is posted in the office's channel one hour before lunch. Setting the menu of a day "
             f"that is already posted updates it (ratings of the dishes kept stay).")
    head = [b.context(intro)]
    if existing:
        where = " — already posted, saving updates the message" if menus.get_post(office, day) else ""
        head.append(b.section(f"*Already set for {tz.long_day(day)}* ({office.name}): "
                              f"{', '.join(existing['dishes'])}{where}."))
    view = b.modal("Lunch menu", "menu", head + fields, submit="Save", private_metadata=meta)
    slack.open_view(request.context.trigger_id, view)
    return None


@app.view("menu")
def menu_submitted(submission):
    user = submission.context.user_id
    require_house_team(user, "set menus")
    meta = json.loads(submission.private_metadata or "{}")
    form = b.view_values(submission.values)
    offices, _ = cfg.load()
    key = (form.get("office") or {}).get("office") or meta.get("office")
    office = cfg.find(offices, key or "")
    if office is None:
        return field_errors({"office" if len(offices) > 1 else "day": "Pick an office"})
    day = tz.parse_date((form.get("day") or {}).get("day") or "")
    if day is None:
        return field_errors({"day": "Pick a day"})
    t = now()
    today = office.today(t)
    if day < today:
        return field_errors({"day": f"{tz.long_day(day)} is over: pick today or a later day"})
    why = office.closed_because(day)
    if why:
        return field_errors({"day": f"{office.name} has no lunch service on {tz.long_day(day)}: {why}"})
    post = menus.get_post(office, day)
    if day == today and t >= office.close_at(today) or (post and post.get("closed")):
        return field_errors({"day": f"Ratings of that menu closed at {tz.hhmm(office.closes)}: it can no longer change"})
    dishes, error = menus.clean_dishes(((form.get("dishes") or {}).get("dishes") or "").splitlines())
    if error:
        return field_errors({"dishes": error})
    store.set_json(menus.menu_key(office, day), {"dishes": dishes, "source": "form", "by": user, "set_ms": t})
    listed = ", ".join(dishes)
    if post and "ts" in post:
        menus.refresh_posted(office, day)
        done = f"The posted menu in {office.channel} was updated."
    elif day == today and t >= office.post_at(day):
        menus.post_menu(office, day, t)
        done = f"It is past {tz.hhmm(office.lunch - cfg.POST_BEFORE_MIN)}, so it was posted in {office.channel} now."
    else:
        done = (f"It will be posted in {office.channel} at {tz.hhmm(office.lunch - cfg.POST_BEFORE_MIN)} "
                f"({office.tz}) on {tz.long_day(day)}.")
    confirm(user, meta.get("channel"),
            f"✅ Menu for *{office.name}* on {tz.long_day(day)} saved ({len(dishes)} dish{'es' if len(dishes) != 1 else ''}: {listed}). {done}")
    return None


def confirm(user, channel, text):
    """Tells `user` only: in the channel they were in, else by DM."""
    if channel:
        try:
            slack.post_ephemeral(channel, user, text)
            return
        except slack.SlackError:
            pass
    slack.send_dm(user, text)


# /plate url


def url_command(user, rest):
    require_house_team(user, "set menu URLs")
    offices, _ = cfg.load()
    if not rest:
        if not offices:
            office_arg(offices, "")
        lines = ["*Menu URLs* (a menu set with `/plate menu` always wins over its URL):"]
        for o in offices:
            url = o.menu_url()
            lines.append(f"• {o.label()}: {url or 'none — menus come from `/plate menu` only'}")
        lines.append("Set one with `/plate url <office> <URL>`, remove it with `/plate url <office> off`.")
        return ephemeral("\n".join(lines))
    if len(rest) == 1 and len(offices) == 1 and not cfg.find(offices, rest[0]):
        rest = [offices[0].key] + rest
    if len(rest) != 2:
        raise Error("Write `/plate url <office> <URL>` (or `off`), e.g. `/plate url paris https://canteen.example.com/menu.json`.")
    office = office_arg(offices, rest[0])
    url = rest[1].strip("<>").split("|")[0]
    if url.lower() in ("off", "none", "remove"):
        store.set_json(f"url/{office.key}", "")
        return ephemeral(f"*{office.name}* no longer takes its menu from a URL: set menus with `/plate menu {office.key}`.")
    if not url.startswith(("http://", "https://")):
        raise Error(f"`{url}` is not a web address: it starts with https:// (or http://).")
    day = menus.next_menu_day(office, now())
    dishes, error = menus.fetch(url, day)
    if error:
        raise Error(f"The URL was not saved, because {error}. Nothing changed.")
    store.set_json(f"url/{office.key}", url)
    return ephemeral(
        f"✅ *{office.name}* now takes its menu from {url} when none is set with `/plate menu`. "
        f"For {tz.long_day(day)} it lists {len(dishes)} dish{'es' if len(dishes) != 1 else ''}: {', '.join(dishes)}.")


# /plate report


def report_command(request, rest):
    user = request.context.user_id
    require_house_team(user, "read reports")
    offices, _ = cfg.load()
    period = "week"
    chosen = None
    for word in rest:
        w = word.lower()
        if w in report.PERIODS:
            period = w
        elif cfg.find(offices, w) is not None:
            chosen = cfg.find(offices, w)
        elif offices:
            raise Error(f"`{word}` is neither a period nor an office: `/plate report [week|month] [office]`, "
                        f"e.g. `/plate report month {offices[0].key}`.")
        else:
            raise Error("`/plate report` takes `week` or `month`, e.g. `/plate report month`.")
    if not offices:
        office_arg(offices, "")
    chosen_offices = [chosen] if chosen else offices
    blocks, text, csv = report.build(chosen_offices, period, now())
    day = chosen_offices[0].today(now()).isoformat()
    name = f"plate-report-{period}-{day}.csv"
    title = f"Lunch ratings, last {report.PERIODS[period]} days"
    # Always to the asker's user id, wherever the command was typed: for a
    # user id the host opens (or finds) the app's DM with that person and
    # shares the file there, so the report reaches only them — even when
    # typed in a channel, or in a DM between two people the app is not in
    # (whose D… id it could not share into).
    slack.upload_file(user, name, title, csv)
    blocks.append(b.context(f"The ratings follow as *{name}* in your DM with me."))
    return ephemeral(text, blocks)


# Rating


@app.action("rate:*")
def rate(request):
    parsed = menus.parse_value(request.value)
    user = request.context.user_id
    if not parsed or parsed[3] is None or not 1 <= parsed[3] <= 5:
        raise Error("That button is from an older version of this menu; open the latest one.")
    office_key, day, k, stars = parsed
    offices, _ = cfg.load()
    office = cfg.find(offices, office_key)
    if office is None or day is None:
        raise Error("That office is no longer set up.")
    menu = menus.get_menu(office, day) or {}
    names = {menus.dish_key(n): n for n in menu.get("dishes", [])}
    if k not in names:
        raise Error("That dish is no longer on the menu.")
    if not menus.is_open(office, day, now()):
        raise Error(f"Ratings of the {office.name} menu of {tz.long_day(day)} closed at {tz.hhmm(office.closes)}.")
    before = {}

    def change(mine):
        before.clear()
        before.update(mine.get(k) or {})
        entry = dict(mine.get(k) or {})
        entry.update({"dish": names[k], "stars": stars})
        mine[k] = entry
        return mine

    store.update_json(menus.ratings_prefix(office.key, day.isoformat()) + user, change, default={})
    menus.record_recent(user, office.key, day.isoformat())
    dish = names[k]
    old = before.get("stars")
    if old == stars:
        text = f"You already rated *{dish}* {stars} ★ — tap another number to change it."
    elif old:
        text = f"You changed your rating of *{dish}* from {old} ★ to {stars} ★ {menus.STARS[stars]}."
    else:
        text = f"You rated *{dish}* {stars} ★ {menus.STARS[stars]}. Tap another number to change it."
    label = "Edit your comment" if before.get("comment") else "Add a comment"
    refresh_home(user)
    return ephemeral(text.replace("*", ""), [
        b.section(text, accessory=b.button(label, "comment", value=menus._value(office, day, k))),
    ])


@app.action("comment")
def comment_button(request):
    parsed = menus.parse_value(request.value)
    user = request.context.user_id
    offices, _ = cfg.load()
    office = cfg.find(offices, parsed[0]) if parsed else None
    if office is None or parsed[1] is None:
        raise Error("That office is no longer set up.")
    _, day, k, _ = parsed
    if not menus.is_open(office, day, now()):
        raise Error(f"Ratings of the {office.name} menu of {tz.long_day(day)} closed at {tz.hhmm(office.closes)}: "
                    "comments too.")
    mine = store.get_json(menus.ratings_prefix(office.key, day.isoformat()) + user, default={})
    entry = mine.get(k)
    if not entry:
        raise Error("Rate the dish first, then add your comment.")
    meta = json.dumps({"office": office.key, "day": day.isoformat(), "dish": k,
                       "channel": request.context.channel_id})
    view = b.modal("Your comment", "comment", [
        b.context(f"*{entry['dish']}* — you rated it {entry['stars']} ★. Only the house team reads comments."),
        b.input("Comment", b.plain_text_input("What was good, what was not?", "comment", multiline=True,
                                              initial_value=entry.get("comment") or None),
                block_id="comment", optional=True, hint="Leave it empty to remove your comment."),
    ], submit="Save", private_metadata=meta)
    slack.open_view(request.context.trigger_id, view)
    return None


@app.view("comment")
def comment_submitted(submission):
    user = submission.context.user_id
    meta = json.loads(submission.private_metadata or "{}")
    offices, _ = cfg.load()
    office = cfg.find(offices, meta.get("office", ""))
    day = tz.parse_date(meta.get("day", ""))
    if office is None or day is None:
        return field_errors({"comment": "That office is no longer set up."})
    if not menus.is_open(office, day, now()):
        return field_errors({"comment": f"Ratings closed at {tz.hhmm(office.closes)}: comments too."})
    text = " ".join(((b.view_values(submission.values).get("comment") or {}).get("comment") or "").split("\n")).strip()
    if len(text) > menus.MAX_COMMENT_CHARS:
        return field_errors({"comment": f"At most {menus.MAX_COMMENT_CHARS} characters ({len(text)} written)."})
    k = meta.get("dish", "")
    key = menus.ratings_prefix(office.key, day.isoformat()) + user
    mine = store.get_json(key, default={})
    if k not in mine:
        return field_errors({"comment": "Rate the dish first, then add your comment."})

    def change(m):
        entry = dict(m.get(k) or {})
        if text:
            entry["comment"] = text
        else:
            entry.pop("comment", None)
        m[k] = entry
        return m

    store.update_json(key, change, default={})
    dish = mine[k].get("dish", k)
    confirm(user, meta.get("channel"),
            f"💬 Your comment on {dish} is saved." if text else f"Your comment on {dish} is removed.")
    refresh_home(user)
    return None


# Schedules


@app.schedule("plan", "0 * * * *")
def plan(tick):
    menus.plan(now())


@app.tick("post:*")
def post_due(tick):
    offices, _ = cfg.load()
    office = cfg.find(offices, tick.name.split(":", 1)[1])
    if office is None:
        return
    t = now()
    day = office.today(t)
    if office.closed_because(day) is None and office.post_at(day) <= t < office.close_at(day):
        menus.post_menu(office, day, t)


@app.tick("close:*")
def close_due(tick):
    _, key, day = tick.name.split(":", 2)
    offices, _ = cfg.load()
    office = cfg.find(offices, key)
    if office is not None and tz.parse_date(day):
        menus.close_menu(office, tz.parse_date(day))


# App Home


@app.event("app_home_opened")
def home_opened(event):
    payload = json.loads(event.payload or "{}")
    user = payload.get("user")
    if not user or payload.get("tab", "home") != "home":
        return
    store.set(f"home/{user}", "1")
    publish_home(user)


def refresh_home(user):
    if store.get(f"home/{user}") is not None:
        publish_home(user)


def publish_home(user):
    offices, _ = cfg.load()
    t = now()
    blocks = [b.header("🍽️ Rate my plate")]
    if not offices:
        blocks.append(b.section("No offices are set up yet."))
    for office in offices:
        day = office.today(t)
        blocks.append(b.section(f"*{office.name}* — {tz.long_day(day)}, lunch at {tz.hhmm(office.lunch)}"))
        why = office.closed_because(day)
        post = menus.get_post(office, day)
        menu = menus.get_menu(office, day)
        if why:
            blocks.append(b.context(f"No lunch service today: {why}."))
            continue
        if not post or not menu:
            blocks.append(b.context(
                f"Today's menu is posted in {office.channel} at {tz.hhmm(office.lunch - cfg.POST_BEFORE_MIN)}."
                if t < office.post_at(day) else "No menu today yet."))
            continue
        mine = store.get_json(menus.ratings_prefix(office.key, day.isoformat()) + user, default={})
        lines = []
        for name in menu["dishes"]:
            r = mine.get(menus.dish_key(name))
            if r and r.get("stars"):
                c = f" — “{r['comment']}”" if r.get("comment") else ""
                lines.append(f"• {name}: your rating {r['stars']} ★ {menus.STARS[r['stars']]}{c}")
            else:
                lines.append(f"• {name}: not rated")
        blocks.append(b.section("\n".join(lines)))
        state = ("Ratings are closed." if post.get("closed") or t >= office.close_at(day)
                 else f"Rate in {office.channel} until {tz.hhmm(office.closes)}.")
        blocks.append(b.context(state))
    recent = store.get_json(f"u/{user}", default=[])
    past = []
    for office_key, day_iso in recent:
        office = cfg.find(offices, office_key)
        day = tz.parse_date(day_iso)
        if office is None or day is None or day == office.today(t):
            continue
        mine = store.get_json(menus.ratings_prefix(office_key, day_iso) + user, default={})
        rated = ", ".join(f"{r['dish']} {r['stars']} ★" for r in mine.values() if r.get("stars"))
        if rated:
            past.append(f"• {tz.short_day(day)}, {office.name}: {rated}")
    if past:
        blocks.append(b.divider())
        blocks.append(b.section("*Your earlier ratings*\n" + "\n".join(past[:5])))
    slack.publish_home(user, b.home(blocks[:100]))
