"""`/plate report`: averages and trends per dish, participation, top and
bottom dishes, a CSV, and a forecast of portions for the next order."""

import datetime
import math

from botyard import blocks as b

import menus
import tz

PERIODS = {"week": 7, "month": 30}
MAX_DISHES_SHOWN = 20


def _history(office, first, last):
    """Every rating of `office`'s menus from `first` to `last` (local days):
    a list of (day, menu dishes, {user: {dish_key: rating}})."""
    out = []
    d = first
    while d <= last:
        menu = menus.get_menu(office, d)
        ratings = menus.ratings_of(office.key, d.isoformat())
        if menu or ratings:
            out.append((d, (menu or {}).get("dishes", []), ratings))
        d += datetime.timedelta(days=1)
    return out


def _stats(history):
    """Per dish: name, ratings, sum, comments, and the days it was rated
    with its share of that day's ratings; and participation."""
    dishes = {}
    people = set()
    menus_rated = 0
    raters_per_menu = []
    rows = []
    for day, served, ratings in history:
        day_total = 0
        per_dish = {}
        raters = 0
        keys = {menus.dish_key(n) for n in served}
        for user, mine in sorted(ratings.items()):
            rated = False
            for k, r in mine.items():
                if not r.get("stars") or (keys and k not in keys):
                    continue  # not rated, or a dish taken off the menu
                rated = True
                day_total += 1
                per_dish[k] = per_dish.get(k, 0) + 1
                d = dishes.setdefault(k, {"name": r.get("dish") or k, "n": 0, "sum": 0, "comments": [], "shares": []})
                d["n"] += 1
                d["sum"] += r["stars"]
                if r.get("comment"):
                    d["comments"].append((day, r["comment"]))
                rows.append((day, k, user, r["stars"], r.get("comment", "")))
            if rated:
                people.add(user)
                raters += 1
        if day_total:
            menus_rated += 1
            raters_per_menu.append(raters)
            for k, n in per_dish.items():
                dishes[k]["shares"].append(n / day_total)
    return dishes, people, menus_rated, raters_per_menu, rows


def _avg(d):
    return d["sum"] / d["n"] if d and d["n"] else None


def _trend(now, before):
    if before is None:
        return "new", ""
    delta = now - before
    if abs(delta) < 0.2:
        return "→ steady", f"{delta:+.1f}"
    return ("↗ " if delta > 0 else "↘ ") + f"{delta:+.1f}", f"{delta:+.1f}"


def forecast(office, now_ms, dishes, raters_per_menu):
    """(label, [(dish name, portions)], diners): portions per dish of the
    next menu set (or of the dishes of the period when none is set yet),
    for the office's headcount (or the average raters per menu). Each
    dish's weight is its average share of its days' ratings (how many chose
    it), times its rating (avg / 3, between 0.5 and 1.5); portions are the
    diners split by weight, rounded up."""
    today = office.today(now_ms)
    start = today if now_ms < office.post_at(today) else today + datetime.timedelta(days=1)
    next_day, names = None, None
    for i in range(14):
        d = start + datetime.timedelta(days=i)
        menu = menus.get_menu(office, d)
        if menu:
            next_day, names = d, menu["dishes"]
            break
    if names is None:
        names = [d["name"] for d in sorted(dishes.values(), key=lambda d: d["name"].lower())]
        label = "the dishes of this period (no next menu is set yet)"
    else:
        label = f"the next menu, {tz.long_day(next_day)}"
    if not names:
        return label, [], 0
    if office.headcount:
        diners = office.headcount
    else:
        diners = math.ceil(sum(raters_per_menu) / len(raters_per_menu)) if raters_per_menu else 0
    known_shares = [sum(d["shares"]) / len(d["shares"]) for d in dishes.values() if d["shares"]]
    default_share = (sum(known_shares) / len(known_shares)) if known_shares else 1.0
    weights = []
    for name in names:
        d = dishes.get(menus.dish_key(name))
        share = sum(d["shares"]) / len(d["shares"]) if d and d["shares"] else default_share
        avg = _avg(d)
        factor = 1.0 if avg is None else min(1.5, max(0.5, avg / 3))
        weights.append(share * factor)
    total = sum(weights) or 1.0
    return label, [(n, math.ceil(diners * w / total)) for n, w in zip(names, weights)], diners


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def _cell(value):
    """A CSV cell (RFC 4180), with text a spreadsheet would run as a
    formula (`=`, `+`, `-`, `@` …) defused by a leading `'`; numbers are
    left as numbers."""
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text):
        text = "'" + text
    if any(c in text for c in ',"\n\r'):
        text = '"' + text.replace('"', '""') + '"'
    return text


def _csv_row(values):
    return ",".join(_cell(v) for v in values) + "\n"


def build(offices, period, now_ms):
    """(blocks, text, csv) for `period` ("week" or "month")."""
    days = PERIODS[period]
    blocks = []
    lines = []
    summary_rows = [_csv_row(["office", "dish", "ratings", "average", "previous_average", "trend",
                              "comments", "forecast_portions"])]
    rating_rows = [_csv_row(["date", "office", "dish", "user", "rating", "comment"])]
    for office in offices:
        last = office.today(now_ms)
        first = last - datetime.timedelta(days=days - 1)
        prev_last = first - datetime.timedelta(days=1)
        prev_first = prev_last - datetime.timedelta(days=days - 1)
        dishes, people, menus_rated, raters, rows = _stats(_history(office, first, last))
        before, prev_people, _, _, _ = _stats(_history(office, prev_first, prev_last))
        span = f"last {days} days, {tz.short_day(first)} – {tz.short_day(last)}"
        blocks.append(b.header(f"📊 {office.name} — {span}"[:150]))
        label, portions, diners = forecast(office, now_ms, dishes, raters)
        forecast_of = dict((menus.dish_key(n), p) for n, p in portions)
        if not dishes:
            blocks.append(b.section(f"No ratings in the {span} (previous {days} days: "
                                    f"{len(prev_people)} {'person' if len(prev_people) == 1 else 'people'} rated)."))
            lines.append(f"{office.name}: no ratings")
        else:
            n_ratings = sum(d["n"] for d in dishes.values())
            per_menu = sum(raters) / len(raters)
            blocks.append(b.section(
                f"*Participation:* {len(people)} {'person' if len(people) == 1 else 'people'} rated "
                f"{n_ratings} time{'s' if n_ratings != 1 else ''} over {menus_rated} "
                f"menu{'s' if menus_rated != 1 else ''} ({per_menu:.1f} people per menu"
                + (f", {per_menu / office.headcount:.0%} of {office.headcount}" if office.headcount else "")
                + f"); previous {days} days: {len(prev_people)} {'person' if len(prev_people) == 1 else 'people'}."))
            ranked = sorted(dishes.items(), key=lambda kv: (-_avg(kv[1]), -kv[1]["n"], kv[1]["name"].lower()))
            shown = []
            for k, d in ranked[:MAX_DISHES_SHOWN]:
                avg = _avg(d)
                trend, _ = _trend(avg, _avg(before.get(k)))
                comments = f" · 💬 {len(d['comments'])}" if d["comments"] else ""
                shown.append(f"• *{d['name']}* {avg:.1f} ★ · {d['n']} rating{'s' if d['n'] != 1 else ''} · {trend}{comments}")
            if len(ranked) > MAX_DISHES_SHOWN:
                shown.append(f"…and {len(ranked) - MAX_DISHES_SHOWN} more in the CSV")
            blocks.append(b.section(f"*Dishes* (average · ratings · trend vs the previous {days} days)\n" + "\n".join(shown)))
            if len(ranked) >= 2:
                n_top = min(3, (len(ranked) + 1) // 2)
                n_bottom = min(3, len(ranked) - n_top)
                top = ", ".join(f"{d['name']} ({_avg(d):.1f})" for _, d in ranked[:n_top])
                bottom = ", ".join(f"{d['name']} ({_avg(d):.1f})" for _, d in reversed(ranked[len(ranked) - n_bottom:]))
                blocks.append(b.section(f"*Top:* {top}\n*Bottom:* {bottom}"))
            comments = sorted(((day, d["name"], c) for d in dishes.values() for day, c in d["comments"]),
                              key=lambda x: x[0], reverse=True)[:3]
            if comments:
                blocks.append(b.context("💬 " + " · ".join(f"“{c[:120]}” ({name}, {tz.short_day(day)})"
                                                           for day, name, c in comments)))
            lines.append(f"{office.name}: " + ", ".join(f"{d['name']} {_avg(d):.1f}" for _, d in ranked))
            for k, d in ranked:
                prev = _avg(before.get(k))
                _, delta = _trend(_avg(d), prev)
                summary_rows.append(_csv_row([office.name, d["name"], d["n"], f"{_avg(d):.2f}",
                                              "" if prev is None else f"{prev:.2f}", delta or "new",
                                              len(d["comments"]), forecast_of.get(k, "")]))
            for day, k, user, stars, comment in rows:
                rating_rows.append(_csv_row([day.isoformat(), office.name, dishes[k]["name"], user, stars, comment]))
        if portions and diners:
            who = (f"{diners} people (headcount)" if office.headcount
                   else f"{diners} {'person' if diners == 1 else 'people'} (average raters per menu)")
            blocks.append(b.section(f"*Forecast for {label}*, {who}:\n"
                                    + "\n".join(f"• {n}: {p} portion{'s' if p != 1 else ''}" for n, p in portions)))
        elif portions:
            blocks.append(b.context(f"No forecast for {label}: no ratings yet to learn from, and no headcount set."))
        blocks.append(b.divider())
    if blocks and blocks[-1].get("type") == "divider":
        blocks.pop()
    csv = "".join(summary_rows) + "\n" + "".join(rating_rows)
    text = f"Lunch report, last {days} days: " + "; ".join(lines)
    return blocks[:50], text, csv
