"""helpdesk: requests to teams, routed in Slack, with SLA clocks.

Every team has `#<team>` and `#<team>-help`. The message shortcut *Send to a
team* (or the support tool's Forward button, through the `forward` webhook)
posts a request in `#<team>-help` with a link to the original, the text
quoted, a first-response and a resolution clock, and Claim / Resolve
buttons. A team member's reply in the request's thread reaches the
requester as a DM (once per reply) and stops the first-response clock; a
request nobody answered by the target gets one nudge in its thread.
`/helpdesk stats [week]` shows the times per team. See README.md."""

import json
import re

from botyard import (
    App,
    Error,
    MessageRef,
    blocks as b,
    clock,
    close_view,
    ephemeral,
    field_errors,
    log,
    schedule,
    settings,
    slack,
    store,
    update,
)

import sla

app = App("helpdesk", "Send any message to a team's help channel, with an SLA clock, claims and answers by DM")
app.setting(
    "teams",
    "Team → its clocks and people, e.g. { billing = { first_response = \"30m\", resolution = \"1d\" } }; "
    "optional per team: help_channel (default #<team>-help), group (the user group of its members, "
    "default the team's name), channel (default #<team>, whose members count when there is no group)",
    default={},
)
app.setting("first_response", "First-response target for a team that sets none (30m, 1h, 1d …)", default="1h")
app.setting("resolution", "Resolution target for a team that sets none", default="1d")

TEAM_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,70}")
SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,}")
EMAIL = re.compile(r"[^@\s<>|]+@[^@\s<>|]+\.[^@\s<>|]+")
PERMALINK = re.compile(r"/archives/([A-Z0-9]+)/p(\d{7,})")
QUOTE_MAX = 1500
REPLY_MAX = 2000
SCAN_MAX = 50

HELP = (
    "*🛎️ helpdesk* — requests to teams, with SLA clocks\n"
    "• *Send to a team*: on any message, ⋮ → *Send to a team*, pick the team, add a comment if you like. "
    "The request goes to the team's `#<team>-help` channel with a link to the message, the text quoted, and "
    "its first-response and resolution targets.\n"
    "• The team *Claims* and *Resolves* it with the buttons; the message shows who and when.\n"
    "• When a team member replies in the request's thread, the requester gets the answer by DM (once per "
    "reply). The first team reply stops the first-response clock; a request still unanswered at its target "
    "gets one nudge in its thread.\n"
    "• `/helpdesk stats [week]`: first-response and resolution times per team (count, median, p90, targets "
    "missed) for this week, `last`, an ISO week (`2026-W02`) or the week of a date (`2026-01-07`).\n"
    "Teams: {teams}."
)


def now():
    return clock.now_ms()


def esc(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text, limit):
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# Teams, from the settings


class Team:
    def __init__(self, name, cfg):
        self.name = name
        self.first_ms = target(cfg, "first_response", name)
        self.resolution_ms = target(cfg, "resolution", name)
        self.help_channel = text_of(cfg, "help_channel", name) or f"#{name}-help"
        self.group = (text_of(cfg, "group", name) or name).lstrip("@").lower()
        self.channel = text_of(cfg, "channel", name) or f"#{name}"


def text_of(cfg, key, team):
    value = cfg.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise Error(f"The helpdesk's `teams.{team}.{key}` setting is not a name: the operator fixes it under "
                    f"`[apps.helpdesk.settings.teams.{team}]`.")
    return value.strip()


def target(cfg, key, team):
    raw = cfg.get(key, settings.get(key))
    ms = sla.parse_duration(raw)
    if ms is None:
        raise Error(f"The helpdesk's `{key}` target for team `{team}` is `{raw}`, not a duration: the operator "
                    f"writes it like `\"30m\"`, `\"4h\"` or `\"1d\"` under `[apps.helpdesk.settings.teams.{team}]`.")
    return ms


def teams():
    raw = settings.get_json("teams", {}) or {}
    if not isinstance(raw, dict):
        raise Error("The helpdesk's `teams` setting is not a table of teams: the operator writes it as "
                    "`[apps.helpdesk.settings.teams.billing]` with `first_response = \"30m\"`.")
    out = {}
    for name, cfg in raw.items():
        key = str(name).lower().lstrip("#")
        if not TEAM_NAME.fullmatch(key):
            raise Error(f"`{name}` in the helpdesk's `teams` setting is not a team name: lowercase letters, "
                        "digits and `-`, as in `#billing-help`.")
        if cfg is None or cfg == "":
            cfg = {}
        if not isinstance(cfg, dict):
            raise Error(f"The helpdesk's `teams.{key}` setting is not a table: the operator writes "
                        f"`[apps.helpdesk.settings.teams.{key}]` with `first_response` and `resolution`.")
        out[key] = Team(key, cfg)
    return out


def team_names():
    try:
        names = sorted(teams())
    except Error:
        return "the `teams` setting needs fixing"
    return ", ".join(f"`{n}`" for n in names) or "none yet (the operator adds them under `[apps.helpdesk.settings.teams]`)"


def team_people(team):
    """The team's members, and how to mention them: the user group whose
    handle is the team's `group` (its name by default), else the members of
    the team's channel `#<team>`."""
    for g in slack.user_groups():
        if (g.handle or "").lower() == team.group:
            return set(slack.user_group_members(g.id)), f"<!subteam^{g.id}>"
    try:
        return set(slack.channel_members(team.channel)), None
    except slack.SlackError as e:
        log.warn(f"team {team.name}: no user group @{team.group} and {team.channel}'s members are unknown ({e})")
        return set(), None


def who_can(team):
    return f"the @{team.group} user group (or, without one, the members of {team.channel})"


# Requests in the store
#
# req/<n>                 the request (JSON)
# thread/<channel>/<ts>   n, for the request message that starts that thread
# unresolved              [n]: posted requests whose Slack ts is not known yet
# week/<YYYY-MM-DD>       [n]: requests opened in the week starting that Monday
# seen/<channel>/<ts>     a thread reply already handled (Slack may deliver it again)
# fwd/<team>/<id>         a forwarded ticket already posted
# draft/<n>               what a *Send to a team* modal is about


def load(rid):
    return store.get_json(f"req/{rid}")


def change(rid, fn):
    """Read-modify-write of request `rid`; `fn(r)` changes `r` in place and
    returns what the caller wants to know (None: nothing changed)."""
    out = []

    def apply(r):
        out.clear()
        if r is None:
            return r
        r = dict(r)
        out.append(fn(r))
        return r

    r = store.update_json(f"req/{rid}", apply, default=None)
    return r, (out[0] if out else None)


def is_real_ts(ts):
    return bool(re.fullmatch(r"\d+\.\d+", ts or ""))


def remember(rid, channel, ts):
    """The request's message is `channel`/`ts` in Slack: replies in its thread find it."""
    store.set(f"thread/{channel}/{ts}", str(rid))

    def set_ref(r):
        if r.get("ref") != {"channel": channel, "ts": ts}:
            r["ref"] = {"channel": channel, "ts": ts}
            return True
        return None

    change(rid, set_ref)
    store.update_json("unresolved", lambda ids: [i for i in (ids or []) if i != rid], default=[])


def from_permalink(link):
    m = PERMALINK.search(link or "")
    if not m:
        return None
    digits = m.group(2)
    return m.group(1), f"{digits[:-6]}.{digits[-6:]}"


def request_for_thread(channel, thread_ts):
    """The request whose message starts the thread `channel`/`thread_ts`.
    A request just posted is known by the host's placeholder until Slack
    has it; its permalink (asked once it is delivered) gives the real one."""
    rid = store.get_text(f"thread/{channel}/{thread_ts}")
    if rid:
        return int(rid)
    pending = store.get_json("unresolved", []) or []
    found, lost = None, []
    for rid in pending[-SCAN_MAX:]:
        r = load(rid)
        if not r:
            lost.append(rid)
            continue
        try:
            link = slack.get_permalink(MessageRef(channel=r["ref"]["channel"], ts=r["ref"]["ts"]))
        except slack.SlackError as e:
            if "never delivered" in str(e) or "no message this app posted" in str(e):
                # Its post failed (no such channel, the app not in it): no thread will ever start there.
                log.warn(f"{r['id']}: its message never reached {r['ref']['channel']} ({e})")
                lost.append(rid)
            else:
                log.info(f"{r['id']}: not in Slack yet ({e})")
            continue
        where = from_permalink(link)
        if where is None:
            continue
        remember(rid, *where)
        if where == (channel, thread_ts):
            found = rid
    if lost:
        store.update_json("unresolved", lambda ids: [i for i in (ids or []) if i not in lost], default=[])
    return found


# The request message


def requester_text(r):
    if r.get("requester"):
        return f"<@{r['requester']}>"
    if r.get("requester_email"):
        return esc(r["requester_email"])
    return "someone"


def render(r, at):
    """(text, blocks) of the request's message as it stands at `at`."""
    who = requester_text(r)
    team = r["team"]
    head = f"🙋 *{r['id']}* · request for *{team}* from {who}"
    if r.get("sent_by") and r.get("sent_by") != r.get("requester"):
        head += f" (sent by <@{r['sent_by']}>)"
    if r.get("source"):
        head += f" · forwarded from {esc(r['source'])}"
        if r.get("external_id"):
            head += f" #{esc(r['external_id'])}"
    body = clip(r.get("text") or "", QUOTE_MAX)
    quote = "\n".join("&gt; " + esc(line) for line in body.splitlines()) or "&gt; _(no text)_"
    blocks = [b.section(head), b.section(quote)]
    if r.get("comment"):
        blocks.append(b.section(f"💬 *Comment:* {esc(clip(r['comment'], QUOTE_MAX))}"))
    first, resolution = clocks(r, at)
    link = f"<{r['link']}|Original message>" if r.get("link") else "No link to the original"
    blocks.append(b.context(f"{link} · {first} · {resolution}"))
    blocks.append(b.context(status(r, at)))
    buttons = []
    if not r.get("resolved_ms"):
        if not r.get("claimed_by"):
            buttons.append(b.button("Claim", "claim", value=str(r["n"]), style="primary"))
        buttons.append(b.button("Resolve", "resolve", value=str(r["n"])))
    if buttons:
        blocks.append(b.actions(*buttons))
    text = (f"{r['id']} · request for {team} from {who}: {clip(r.get('text') or '', 200)} — "
            f"{plain(first)}")
    return text, blocks


def plain(text):
    """Slack's `<!date^…|fallback>` as its fallback, for the notification text."""
    return re.sub(r"<!date\^[^|>]*\|([^>]*)>", r"\1", text)


def clocks(r, at):
    created = r["created_ms"]
    fr = r.get("first_response_ms")
    if fr is not None:
        late = fr > r["first_due_ms"]
        by = f" by <@{r['first_responder']}>" if r.get("first_responder") else ""
        first = (f"{'⚠️' if late else '✅'} First response{by} after {sla.duration(fr - created)}"
                 + (f" (target {sla.duration(r['first_due_ms'] - created)})" if late else ""))
    elif at >= r["first_due_ms"]:
        first = f"⚠️ First response overdue since {sla.slack_date(r['first_due_ms'], at)}"
    else:
        first = f"⏱ First response due by {sla.slack_date(r['first_due_ms'], at)}"
    done = r.get("resolved_ms")
    if done is not None:
        resolution = f"Resolved after {sla.duration(done - created)}"
        if done > r["resolution_due_ms"]:
            resolution += f" (target {sla.duration(r['resolution_due_ms'] - created)})"
    else:
        resolution = f"Resolution due by {sla.slack_date(r['resolution_due_ms'], at)}"
    return first, resolution


def status(r, at):
    if r.get("resolved_ms"):
        line = f"✅ Resolved by <@{r['resolved_by']}> at {sla.slack_date(r['resolved_ms'], at)}"
        if r.get("claimed_by"):
            line += f" · claimed by <@{r['claimed_by']}> at {sla.slack_date(r['claimed_ms'], at)}"
        return line
    if r.get("claimed_by"):
        return f"✋ Claimed by <@{r['claimed_by']}> at {sla.slack_date(r['claimed_ms'], at)}"
    return "🟡 Open — nobody has claimed it yet"


def open_request(team, *, requester, requester_email, sent_by, text, link, comment, source, external_id):
    """Posts a new request in the team's help channel and starts its clocks."""
    n = store.increment("seq")
    at = now()
    r = {
        "n": n,
        "id": f"HD-{n}",
        "team": team.name,
        "requester": requester,
        "requester_email": requester_email,
        "sent_by": sent_by,
        "text": text,
        "link": link,
        "comment": comment or None,
        "source": source,
        "external_id": external_id,
        "created_ms": at,
        "first_due_ms": at + team.first_ms,
        "resolution_due_ms": at + team.resolution_ms,
    }
    msg, blocks = render(r, at)
    ref = slack.post_message(team.help_channel, msg, blocks=blocks)
    r["ref"] = {"channel": ref.channel, "ts": ref.ts}
    store.set_json(f"req/{n}", r)
    if is_real_ts(ref.ts):
        store.set(f"thread/{ref.channel}/{ref.ts}", str(n))
    else:
        store.update_json("unresolved", lambda ids: (ids or []) + [n], default=[])
    week = sla.week_key(sla.week_start(at))
    store.update_json(f"week/{week}", lambda ids: (ids or []) + [n], default=[])
    schedule.once(f"nudge:{n}", r["first_due_ms"])
    return r


def refresh(r, at=None):
    """Shows `r` as it stands now in its message."""
    msg, blocks = render(r, at or now())
    ref = r["ref"]
    slack.update_message(MessageRef(channel=ref["channel"], ts=ref["ts"]), msg, blocks=blocks)


def request_link(r):
    ref = r["ref"]
    try:
        return slack.get_permalink(MessageRef(channel=ref["channel"], ts=ref["ts"]))
    except slack.SlackError:
        return None


# 1. The message shortcut and its modal


@app.shortcut("send_to_team", "Send to a team", kind="message",
              description="Post this message as a request in a team's #<team>-help channel, with an SLA clock")
def send_to_team(request):
    msg = request.message
    if msg is None:
        raise Error("*Send to a team* works on a message: use it from a message's ⋮ menu.")
    known = teams()
    if not known:
        raise Error("No teams are set up yet: the operator adds them under `[apps.helpdesk.settings.teams]` "
                    "(e.g. `[apps.helpdesk.settings.teams.billing]` with `first_response = \"30m\"`).")
    n = store.increment("drafts")
    store.set_json(f"draft/{n}", {
        "channel": msg.target.channel,
        "ts": msg.target.ts,
        "author": msg.user or None,
        "text": msg.text or "",
    })
    author = f"<@{msg.user}>'s" if msg.user else "this"
    preview = "\n".join("&gt; " + esc(line) for line in clip(msg.text or "", 400).splitlines()) or "&gt; _(no text)_"
    options = [(f"{t.name} — first response {sla.duration(t.first_ms)}", t.name) for t in known.values()]
    view = b.modal("Send to a team", "send_to_team", [
        b.section(f"Send {author} message to a team's help channel:\n{preview}"),
        b.input("Team", b.static_select("Pick a team", "team", options), block_id="team"),
        b.input("Comment", b.plain_text_input("Anything the team should know", "comment", multiline=True),
                block_id="comment", optional=True),
    ], submit="Send", private_metadata=str(n), notify_on_close=True)
    slack.open_view(request.context.trigger_id, view)


@app.view_closed("send_to_team")
def send_cancelled(closed):
    store.delete(f"draft/{closed.private_metadata}")


@app.view("send_to_team")
def send_submitted(submission):
    key = f"draft/{submission.private_metadata}"
    draft = store.get_json(key)
    if not draft:
        raise Error("This form is no longer known to the helpdesk: use *Send to a team* on the message again.")
    form = b.view_values(submission.values)
    choice = (form.get("team") or {}).get("team")
    known = teams()
    team = known.get(choice or "")
    if team is None:
        return field_errors({"team": "Pick one of the teams." if not choice else
                             f"`{choice}` is no longer a team; pick another."})
    comment = ((form.get("comment") or {}).get("comment") or "").strip()
    user = submission.context.user_id
    link = slack.get_permalink(MessageRef(channel=draft["channel"], ts=draft["ts"]))
    r = open_request(team, requester=draft.get("author") or user, requester_email=None, sent_by=user,
                     text=draft["text"], link=link, comment=comment, source=None, external_id=None)
    store.delete(key)
    slack.post_ephemeral(draft["channel"], user,
                         f"📨 Sent to {team.help_channel} as {r['id']}: first response due by "
                         f"{sla.when(r['first_due_ms'], r['created_ms'])}.")
    return close_view()


# 2. The support tool's Forward button


def forward_problem(body):
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    for key in ("team", "requester", "text"):
        if not isinstance(body.get(key), str) or not body[key].strip():
            return f"`{key}` is missing (a non-empty string)"
    for key in ("link", "id", "source"):
        if body.get(key) is not None and not isinstance(body[key], (str, int)):
            return f"`{key}` is not a string"
    link = body.get("link")
    if link and not str(link).startswith(("https://", "http://")):
        return f"`link` {link!r} is not a web address"
    return None


@app.webhook("forward", "A request forwarded by the support tool (JSON: team, requester, text, link, id)")
def forward(request):
    try:
        body = request.json()
    except Exception as e:  # not JSON: sending it again changes nothing
        log.error(f"forward: the body is not JSON ({e}); nothing posted")
        return
    problem = forward_problem(body)
    if problem:
        log.error(f"forward: {problem}; nothing posted. The README shows the format.")
        return
    name = body["team"].strip().lower().lstrip("#")
    if name.endswith("-help"):
        name = name[: -len("-help")]
    known = teams()
    team = known.get(name)
    if team is None:
        log.error(f"forward: `{body['team']}` is not a team (teams: {', '.join(sorted(known)) or 'none'}); "
                  "nothing posted")
        return
    who = body["requester"].strip().strip("<>@")
    requester = who if SLACK_USER.fullmatch(who) else None
    email = who if requester is None and EMAIL.fullmatch(who) else None
    if requester is None and email is None:
        log.error(f"forward: requester {body['requester']!r} is neither a Slack user id (U…) nor an e-mail; "
                  "nothing posted")
        return
    external = str(body["id"]).strip() if body.get("id") not in (None, "") else None
    if external and not store.compare_and_swap(f"fwd/{team.name}/{external}", None, "1"):
        log.info(f"forward: {external} was already forwarded to {team.name}; not posted again")
        return
    r = open_request(team, requester=requester, requester_email=email, sent_by=None, text=body["text"],
                     link=str(body["link"]) if body.get("link") else None, comment=None,
                     source=str(body.get("source") or "the support tool"), external_id=external)
    if external:
        store.set(f"fwd/{team.name}/{external}", str(r["n"]))


# Claim and Resolve


def clicked(request):
    rid = int(request.value) if (request.value or "").isdigit() else 0
    r = load(rid)
    if r is None:
        raise Error("This request is no longer known to the helpdesk.")
    if request.message and is_real_ts(request.message.ts):
        if r.get("ref") != {"channel": request.message.channel, "ts": request.message.ts}:
            remember(rid, request.message.channel, request.message.ts)
            r = load(rid)
    return rid, r


@app.action("claim")
def claim(request):
    rid, r = clicked(request)
    user = request.context.user_id
    team = teams().get(r["team"])
    if team is None:
        return ephemeral(f"Team `{r['team']}` is no longer set up in the helpdesk.")
    members, _ = team_people(team)
    if user not in members:
        return ephemeral(f"Only the {r['team']} team claims its requests: {who_can(team)}.")
    at = now()

    def take(r):
        if r.get("resolved_ms"):
            return "resolved"
        if r.get("claimed_by") == user:
            return "yours"
        r["claimed_by"], r["claimed_ms"] = user, at
        return "claimed"

    r, outcome = change(rid, take)
    if outcome == "resolved":
        return ephemeral(f"{r['id']} is resolved already.")
    if outcome == "yours":
        return ephemeral(f"You have claimed {r['id']} already.")
    return update(*render(r, at))


@app.action("resolve")
def resolve(request):
    rid, r = clicked(request)
    user = request.context.user_id
    team = teams().get(r["team"])
    if user != r.get("requester"):
        if team is None:
            return ephemeral(f"Team `{r['team']}` is no longer set up in the helpdesk.")
        members, _ = team_people(team)
        if user not in members:
            return ephemeral(f"Only the {r['team']} team or the requester resolves a request: {who_can(team)}.")
    at = now()

    def close(r):
        if r.get("resolved_ms"):
            return None
        r["resolved_by"], r["resolved_ms"] = user, at
        if r.get("first_response_ms") is None:
            r["first_response_ms"], r["first_responder"] = at, user
        return True

    r, done = change(rid, close)
    if not done:
        return ephemeral(f"{r['id']} is resolved already.")
    schedule.cancel(f"nudge:{rid}")
    if r.get("requester") and r["requester"] != user:
        link = slack.get_permalink(request.message) if request.message else request_link(r)
        see = f"\n<{link}|See the request>" if link else ""
        slack.send_dm(r["requester"], f"✅ Your request {r['id']} to {r['team']} was resolved by <@{user}> "
                                      f"after {sla.duration(at - r['created_ms'])}.{see}")
    return update(*render(r, at))


# 3. Answers in the thread


@app.event("message")
def message(event):
    m = json.loads(event.payload or "{}")
    if m.get("subtype") or m.get("bot_id") or not m.get("user"):
        return
    ts, thread_ts, channel = m.get("ts"), m.get("thread_ts"), m.get("channel")
    if not (ts and thread_ts and channel) or thread_ts == ts:
        return
    rid = request_for_thread(channel, thread_ts)
    if rid is None:
        return
    # Slack delivers an event again when it doubts it was received: a reply
    # is handled once, whatever the number of deliveries.
    if not store.compare_and_swap(f"seen/{channel}/{ts}", None, "1"):
        return
    r = load(rid)
    user = m["user"]
    if r is None or user == r.get("requester"):
        return
    team = teams().get(r["team"])
    if team is None:
        return
    members, _ = team_people(team)
    if user not in members:
        return
    try:
        at = int(float(ts) * 1000)
    except ValueError:
        at = now()
    at = min(at, now())

    def answered(r):
        r["replies"] = r.get("replies", 0) + 1
        if r.get("first_response_ms") is None and not r.get("resolved_ms"):
            r["first_response_ms"], r["first_responder"] = at, user
            return True
        return None

    r, first = change(rid, answered)
    if first:
        schedule.cancel(f"nudge:{rid}")
        refresh(r)
    if r.get("requester"):
        link = slack.get_permalink(MessageRef(channel=channel, ts=ts))
        text = m.get("text") or ""
        quote = "\n".join("> " + line for line in clip(text, REPLY_MAX).splitlines()) or "> (no text)"
        slack.send_dm(r["requester"], f"💬 <@{user}> ({r['team']}) answered your request {r['id']}:\n{quote}\n"
                                      f"<{link}|See the reply in the thread>")


# 4. The nudge


@app.tick("nudge:*")
def nudge(tick):
    rid = int(tick.name.split(":", 1)[1])
    at = tick.due_ms

    def mark(r):
        if r.get("resolved_ms") or r.get("first_response_ms") is not None or r.get("nudged_ms"):
            return None
        r["nudged_ms"] = at
        return True

    r, due = change(rid, mark)
    if not due:
        return
    team = teams().get(r["team"])
    mention = None
    if team is not None:
        _, mention = team_people(team)
    to = mention or f"the {r['team']} team"
    waited = sla.duration(at - r["created_ms"])
    claimed = f" It is claimed by <@{r['claimed_by']}>." if r.get("claimed_by") else " Nobody has claimed it yet."
    text = (f"⏰ {to}: {r['id']} has waited {waited} without a first response "
            f"(target {sla.duration(r['first_due_ms'] - r['created_ms'])}).{claimed}")
    ref = r["ref"]
    slack.post_message(ref["channel"], text, thread_ts=ref["ts"])
    refresh(r, at)


# 5. /helpdesk


# What people say to `@botyard` for the stats (English and Korean): they
# only read, so plain words runs them at once.
app.phrase(
    "/helpdesk stats",
    aliases=["helpdesk stats", "help desk statistics", "response times", "sla", "헬프데스크 통계", "통계", "응답 시간"],
    examples=["how fast did the teams answer", "첫 응답 시간"],
    read_only=True,
)


@app.command("/helpdesk", "Help-desk requests to teams: stats and help", usage="[stats [week] | help]")
def helpdesk(request):
    words = (request.text or "").split()
    verb = words[0].lower() if words else "help"
    if verb in ("help", "?"):
        if len(words) > 1:
            return ephemeral("`/helpdesk help` takes nothing more.")
        return ephemeral(plain_help(), [b.section(HELP.replace("{teams}", team_names()))])
    if verb == "stats":
        if len(words) > 2:
            return ephemeral("Write `/helpdesk stats [week]`: one week — `this`, `last`, `2026-W02` or a date.")
        return stats(words[1] if len(words) > 1 else "")
    return ephemeral(f"`/helpdesk {esc(words[0])}` is not a helpdesk command. Try `/helpdesk stats [week]` "
                     "or `/helpdesk help`.")


def plain_help():
    return HELP.replace("{teams}", team_names()).replace("*", "")


def stats(arg):
    at = now()
    start = sla.parse_week(arg, at)
    if start is None:
        return ephemeral(f"`{esc(arg)}` is not a week: write `this`, `last`, an ISO week like `2026-W02`, or a "
                         "date in the week like `2026-01-07`.")
    known = teams()
    ids = store.get_json(f"week/{sla.week_key(start)}", []) or []
    by_team = {name: [] for name in known}
    for rid in ids:
        r = load(rid)
        if r:
            by_team.setdefault(r["team"], []).append(r)
    lines = [f"📊 *Help desk · {sla.week_label(start)}*"]
    if not by_team:
        lines.append("No teams are set up, and no requests were made that week.")
    for name in sorted(by_team):
        reqs = by_team[name]
        team = known.get(name)
        if not reqs:
            lines.append(f"*{name}* — no requests")
            continue
        s = sla.team_stats(reqs, at)
        count = f"{s['count']} request{'s' if s['count'] != 1 else ''}"
        f, res = s["first"], s["resolution"]
        first_target = f" (target {sla.duration(team.first_ms)})" if team else ""
        res_target = f" (target {sla.duration(team.resolution_ms)})" if team else ""
        first = (f"first response: {f['n']} answered, median {sla.duration(f['median'])}, "
                 f"p90 {sla.duration(f['p90'])}, {f['missed']} missed{first_target}"
                 if f["n"] else f"first response: none yet, {f['missed']} missed{first_target}")
        resolved = (f"resolution: {res['n']} resolved, median {sla.duration(res['median'])}, "
                    f"p90 {sla.duration(res['p90'])}, {res['missed']} missed{res_target}"
                    if res["n"] else f"resolution: none yet, {res['missed']} missed{res_target}")
        lines.append(f"*{name}* — {count} · {first} · {resolved}")
    lines.append("_Times from the request to the team's first reply in its thread, and to Resolve; requests "
                 "counted in the week they were made (Monday to Sunday, UTC). Missed: answered or resolved "
                 "after the target, or still waiting past it._")
    text = "\n".join(lines)
    return ephemeral(text.replace("*", ""), [b.section(text)])
