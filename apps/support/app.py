"""support: the help desk's queues in Slack, from Zendesk.

`/spy support` shows the queue per channel (phone, e-mail, chat): open
tickets, waiting ones, the oldest waiting, SLA breaches. `/spy support
route <ticket> <team>` moves a ticket to the team's Zendesk group and posts
it in `#<team>-help`. `/spy support subscribe <threshold>` alerts the
channel when more tickets than that are waiting (once per crossing, and
again when the queue is back under). See README.md."""

import functools
import re

from botyard import App, Error, blocks as b, clock, ephemeral, log, settings, slack, store

import queues as q
import zendesk as zd

app = App("support", "Help-desk queues from Zendesk: status per channel, routing to teams, queue alerts")
app.setting("zendesk_url", "The help desk's address, e.g. https://acme.zendesk.com (allow it in "
            "[[apps.support.http.allow]] with its `basic` credential)", required=True)
app.setting("teams", "Team → Zendesk group name, e.g. { billing = \"Billing\" }; a team not listed "
            "goes to the group named like it", default={})
app.setting("check_minutes", "How often subscriptions check the queue, in minutes (1 to 60)", default=5)

VERBS = "`/spy support [status]`, `/spy support route &lt;ticket&gt; &lt;team&gt;`, `/spy support subscribe &lt;threshold&gt;`, `/spy support unsubscribe`"
MAX_THRESHOLD = 100_000


def answers(fn):
    """Zendesk's trouble is an answer to the asker, in its own words."""
    @functools.wraps(fn)
    def wrapper(request):
        try:
            return fn(request)
        except zd.Trouble as e:
            return ephemeral(f"⚠️ {e}")
    return wrapper


def now():
    return clock.now_ms()


def queue_rows():
    tickets = zd.search_tickets(q.QUERY, include=q.INCLUDE)
    return q.tally(tickets, now())


# /spy support [status]


@app.command("/spy support", "Help-desk queue status per channel (from Zendesk)", usage="[status]")
@answers
def support(request):
    words = (request.text or "").split()
    if words and words[0].lower() != "status":
        return ephemeral(f"`/spy support {words[0]}` is not a support command. Try {VERBS}.")
    if len(words) > 1:
        return ephemeral("`/spy support` takes nothing more: `/spy support` or `/spy support status`.")
    return status_reply()


@app.command("/spy support status", "Help-desk queue status per channel (from Zendesk)")
@answers
def status(request):
    if (request.text or "").strip():
        return ephemeral("`/spy support status` takes nothing more.")
    return status_reply()


def status_reply():
    rows = queue_rows()
    lines = q.render(rows, now(), zd.base())
    return ephemeral("\n".join(lines).replace("*", ""), [b.section("\n".join(lines))])


# /spy support route <ticket> <team>


TICKET_URL = re.compile(r"/tickets/(\d+)(?:\.json)?/?$")


def ticket_arg(word):
    w = word.strip("<>").split("|")[0]
    if w.startswith("#"):
        w = w[1:]
    if w.isdigit() and 0 < int(w) < 10**15:
        return int(w)
    m = TICKET_URL.search(w)
    if m and w.startswith(("http://", "https://")):
        return int(m.group(1))
    return None


def team_arg(word):
    w = word.strip("<>").split("|")[-1].lstrip("#").lower()
    if w.endswith("-help"):
        w = w[: -len("-help")]
    return w if re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,70}", w) else None


def teams_setting():
    teams = settings.get_json("teams", {}) or {}
    if not isinstance(teams, dict) or not all(isinstance(v, str) for v in teams.values()):
        raise zd.Trouble("The `teams` setting is not a map of team → group name: the operator writes it as "
                         "`teams = { billing = \"Billing\" }` under `[apps.support.settings]`.")
    return {k.lower(): v for k, v in teams.items()}


def simple(name):
    return re.sub(r"[\s_-]+", " ", (name or "").strip().lower())


def find_group(team):
    teams = teams_setting()
    wanted = teams.get(team, team)
    groups = zd.groups()
    for g in groups:
        if simple(g.get("name")) == simple(wanted) and not g.get("deleted"):
            return g
    names = ", ".join(f"*{g.get('name')}*" for g in groups if not g.get("deleted")) or "none"
    if team in teams:
        raise Error(f"Team `{team}` goes to the Zendesk group *{wanted}* (the `teams` setting), but Zendesk "
                    f"has no group by that name. Groups: {names}.")
    known = ", ".join(f"`{t}`" for t in sorted(teams)) or "none"
    raise Error(f"Zendesk has no group for team `{team}`. Teams in the `teams` setting: {known}; "
                f"Zendesk's groups: {names}.")


def esc(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def requester_text(ticket, users):
    rid = ticket.get("requester_id")
    user = users.get(rid) or {}
    name, email = user.get("name"), user.get("email")
    if name and email:
        return f"{esc(name)} ({esc(email)})"
    if name or email:
        return esc(name or email)
    return f"requester {rid}" if rid else "an unknown requester"


@app.command("/spy support route", "Move a Zendesk ticket to a team's group and post it in the team's -help channel",
             usage="<ticket> <team>")
@answers
def route(request):
    words = (request.text or "").split()
    if len(words) != 2:
        return ephemeral("Write `/spy support route &lt;ticket&gt; &lt;team&gt;`, e.g. `/spy support route 4711 billing`: "
                         "the ticket's number (or its link) and the team.")
    ticket_id, team = ticket_arg(words[0]), team_arg(words[1])
    if ticket_id is None:
        return ephemeral(f"`{words[0]}` is not a ticket: give its number (`4711`, `#4711`) or its link.")
    if team is None:
        return ephemeral(f"`{words[1]}` is not a team name: letters, digits and `-`, e.g. `billing`.")
    ticket, users = zd.ticket(ticket_id)
    if ticket is None:
        return ephemeral(f"Zendesk has no ticket #{ticket_id}.")
    group = find_group(team)
    already = ticket.get("group_id") == group.get("id")
    updated = zd.set_group(ticket_id, group["id"])
    ticket.update({k: v for k, v in updated.items() if k in ("group_id", "status", "subject")})
    user = request.context.user_id
    subject = esc(ticket.get("subject") or "(no subject)")
    link = zd.agent_link(ticket_id)
    who = requester_text(ticket, users)
    channel = f"#{team}-help"
    via = (ticket.get("via") or {}).get("channel") or "?"
    text = f"🎫 Ticket #{ticket_id} routed to {group['name']} by <@{user}>: {subject} — from {who}"
    blocks = [
        b.section(f"🎫 *<{link}|#{ticket_id} {subject}>*\nFrom {who} · {ticket.get('status', '?')} · via {via}"),
        b.context(f"Routed to *{esc(group['name'])}* by <@{user}>"),
    ]
    moved = (f"Ticket #{ticket_id} was already in *{group['name']}*" if already
             else f"Ticket #{ticket_id} is now in *{group['name']}*")
    try:
        slack.post_message(channel, text, blocks=blocks)
    except slack.SlackError as e:
        return ephemeral(f"✅ {moved}, but posting it in {channel} failed ({e}): the channel has to exist "
                         "and the app be in it.")
    return ephemeral(f"✅ {moved}, and posted in {channel}.")


# Subscriptions


def sub_key(channel):
    return f"subs/{channel}"


@app.command("/spy support subscribe", "Alert this channel when more tickets than a threshold are waiting",
             usage="<threshold>")
@answers
def subscribe(request):
    words = (request.text or "").split()
    channel = request.context.channel_id
    minutes = check_minutes()
    if not words:
        sub = store.get_json(sub_key(channel))
        if sub:
            return ephemeral(f"This channel is alerted when more than {sub['threshold']} tickets are waiting "
                             f"(checked every {minutes} min). Change it with `/spy support subscribe &lt;threshold&gt;`.")
        return ephemeral("Write `/spy support subscribe &lt;threshold&gt;`, e.g. `/spy support subscribe 10`: this "
                         "channel is alerted when more tickets than that are waiting.")
    if len(words) > 1 or not words[0].isdigit() or not 0 <= int(words[0]) <= MAX_THRESHOLD:
        return ephemeral(f"`{' '.join(words)}` is not a threshold: a whole number of waiting tickets, 0 to "
                         f"{MAX_THRESHOLD}, e.g. `/spy support subscribe 10`.")
    threshold = int(words[0])
    rows = queue_rows()  # Zendesk is asked now, so a mistake shows now rather than in a tick
    waiting = rows["total"]["waiting"]

    def change(sub):
        return {"threshold": threshold, "by": request.context.user_id, "above": False,
                "since_ms": now()}

    store.update_json(sub_key(channel), change, default=None)
    state = (f"{waiting} {'is' if waiting == 1 else 'are'} waiting now, above it: the next check alerts"
             if waiting > threshold else f"{waiting} waiting now")
    return ephemeral(f"🔔 This channel is alerted when more than {threshold} tickets are waiting, once when "
                     f"the queue goes above and once when it is back (checked every {minutes} min; {state}).")


@app.command("/spy support unsubscribe", "Stop this channel's queue alerts")
def unsubscribe(request):
    if (request.text or "").strip():
        return ephemeral("`/spy support unsubscribe` takes nothing more.")
    if store.delete(sub_key(request.context.channel_id)):
        return ephemeral("🔕 This channel gets no more queue alerts.")
    return ephemeral("This channel has no queue alerts to stop (`/spy support subscribe &lt;threshold&gt;` starts them).")


def check_minutes():
    try:
        n = int(settings.get("check_minutes") or 5)
    except ValueError:
        return 5
    return min(max(n, 1), 60)


# What people say to `@botyard` for these (English and Korean): the queue
# just reads, so plain words runs it at once; routing is offered with a button.
app.phrase(
    "/spy support",
    aliases=["support queue", "queue", "zendesk", "waiting tickets", "help desk", "고객지원", "대기열", "문의"],
    examples=["how many tickets are waiting", "what does the support queue look like", "고객지원 대기 현황"],
    read_only=True,
)
app.phrase(
    "/spy support route {ticket} {team}",
    aliases=["route", "send", "move", "assign", "forward", "보내", "이관", "전달", "배정"],
    examples=["send ticket {ticket} to the {team} team", "move zendesk ticket {ticket} to {team}", "티켓 {ticket} {team} 팀으로 이관"],
    slots={"ticket": {"id": ""}, "team": "word"},
)


@app.schedule("check", "* * * * *")
def check(tick):
    if (tick.due_ms // 60_000) % check_minutes() != 0:
        return
    keys = store.list_keys("subs/")
    if not keys:
        return
    try:
        rows = queue_rows()
    except zd.Trouble as e:
        log.warn(f"queue check: {e}")
        return
    total = rows["total"]
    waiting = total["waiting"]
    for key in keys:
        channel = key[len("subs/"):]
        crossed = []

        def change(sub):
            crossed.clear()
            if not sub:
                return sub
            above = waiting > sub["threshold"]
            if above != bool(sub.get("above")):
                crossed.append((above, sub["threshold"]))
                sub = dict(sub, above=above, since_ms=tick.due_ms)
            return sub

        store.update_json(key, change, default=None)
        if not crossed:
            continue
        above, threshold = crossed[0]
        if above:
            text = (f"⚠️ *Support queue above {threshold}*: {waiting} tickets waiting ({q.summary(rows)}), "
                    f"oldest waiting {q.age(total['oldest_ms'])}, SLA breaches {total['breaches']}. "
                    "`/spy support` for the details.")
        else:
            text = f"✅ *Support queue back to {waiting} waiting* (threshold {threshold})."
        try:
            slack.post_message(channel, text.replace("*", ""), blocks=[b.section(text)])
        except slack.SlackError as e:
            log.warn(f"queue alert in {channel}: {e}")
