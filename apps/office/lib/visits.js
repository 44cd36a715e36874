// Visitors: `/office visit` registers one (who, where from, which office,
// which days, who hosts them); the office's channel is told; the host is
// DM'd when it is registered, the day before and each morning of the
// visit; each office gets a morning list of the day's visitors.

import {
  actions, button, clock, context, datepicker, formValues, input, modal, modalResponse, option,
  plainTextInput, reply, schedule, section, slack, staticSelect, store, usersSelect,
} from "botyard";

import { esc, needOffices, office, timeSetting, UserError } from "./config.js";
import { addDays, atLocal, daysBetween, fmtDay, fmtDays, isDay, localDay } from "./time.js";

const MAX_DAYS = 31;
const key = (id) => `visit/${id}`;
const dayKey = (slug, day, id) => `vday/${slug}/${day}/${id}`;

export const morningAt = () => timeSetting("morning_at", "08:30");
export const dayBeforeAt = () => timeSetting("day_before_at", "16:00");

/** The registration form, for `/office visit`. */
export function visitModal() {
  const all = needOffices();
  const offices = all.map((o) => option(o.name, o.slug));
  return modal("Register a visitor", [
    input("Visitor's name", plainTextInput("Ada Lovelace", "name"), { blockId: "name" }),
    input("Coming from", plainTextInput("Company, or one of our offices", "from"), { blockId: "from", optional: true }),
    input("Office", staticSelect("Which office they visit", "office", offices,
      all.length === 1 ? { initial: offices[0].value } : {}), { blockId: "office" }),
    input("First day", datepicker("first"), { blockId: "first" }),
    input("Last day", datepicker("last"), { blockId: "last", optional: true, hint: "Leave it empty for a one-day visit" }),
    input("Host", usersSelect("Who they are visiting", "host"), { blockId: "host" }),
    input("Notes", plainTextInput("Parking, badge, accessibility…", "notes", { multiline: true }), { blockId: "notes", optional: true }),
  ], { callbackId: "visit", submit: "Register", close: "Cancel" });
}

const describe = (v) => `*${esc(v.name)}*${v.from ? ` (${esc(v.from)})` : ""}`;

function postText(v, o) {
  const when = fmtDays(v.first, v.last);
  if (v.status === "cancelled") {
    return `~🛂 ${describe(v)} visiting *${o.name}* on ${when}, hosted by <@${v.host}>~ — cancelled by <@${v.cancelledBy}>.`;
  }
  return `🛂 ${describe(v)} is visiting *${o.name}* on ${when}, hosted by <@${v.host}>.`;
}

function postBlocks(v, o) {
  const blocks = [section(postText(v, o))];
  if (v.notes && v.status !== "cancelled") blocks.push(section(`_Notes:_ ${esc(v.notes)}`));
  blocks.push(context(`Registered by <@${v.by}> · visit ${v.id}`));
  if (v.status !== "cancelled") {
    blocks.push(actions(
      button("Order a meal", "visit-meal", { value: String(v.id) }),
      button("Cancel visit", "visit-cancel", { value: String(v.id), style: "danger" }),
    ));
  }
  return blocks;
}

/** The form's submission: refused field by field, or registered. */
export function submitVisit(req) {
  const f = formValues(req);
  const name = (f.name?.name ?? "").trim();
  const from = (f.from?.from ?? "").trim();
  const o = office(f.office?.office);
  const first = f.first?.first ?? null;
  const last = f.last?.last || first;
  const host = f.host?.host ?? null;
  const errors = {};
  if (!name) errors.name = "Say who is visiting.";
  if (!o) errors.office = "Pick the office they are visiting.";
  if (!isDay(first)) errors.first = "Pick the first day of the visit.";
  else if (o && first < localDay(o.tz, clock.nowMs())) {
    errors.first = `That day is past in ${o.name} (today is ${fmtDay(localDay(o.tz, clock.nowMs()))}).`;
  }
  if (isDay(first) && !isDay(last)) errors.last = "Pick the last day of the visit, or leave it empty for one day.";
  else if (isDay(first) && last < first) errors.last = `The last day is before the first day (${fmtDay(first)}).`;
  else if (isDay(first) && daysBetween(first, last) >= MAX_DAYS) {
    errors.last = `A visit lasts at most ${MAX_DAYS} days; register a longer stay in parts.`;
  }
  if (!host) errors.host = "Pick the host: who they are visiting.";
  if (Object.keys(errors).length > 0) return modalResponse.errors(errors);

  const id = store.increment("seq/visit");
  const by = req.context.userId;
  const visit = {
    id, name, from, office: o.slug, first, last, host, by, notes: (f.notes?.notes ?? "").trim(),
    status: "expected", created: clock.nowMs(), post: null,
  };
  visit.post = slack.postMessage(o.channel, { text: postText(visit, o), blocks: postBlocks(visit, o) });
  store.setJson(key(id), visit);
  const now = clock.nowMs();
  for (let day = first; day <= last; day = addDays(day, 1)) {
    store.set(dayKey(o.slug, day, id), "1");
    const at = atLocal(o.tz, day, morningAt());
    if (at > now) schedule.once(`morning:${o.slug}:${day}`, at);
  }
  const eve = atLocal(o.tz, addDays(first, -1), dayBeforeAt());
  if (eve > now) schedule.once(`eve:${id}`, eve);
  if (host !== by) {
    slack.sendDm(host, `🛂 <@${by}> registered a visitor for you: ${describe(visit)} is visiting *${o.name}* on ${fmtDays(first, last)}. ` +
      "I'll remind you the day before and each morning of the visit.");
  }
  return modalResponse.close();
}

const visitOf = (value) => {
  const v = store.getJson(key(Number(value)));
  if (!v) throw new UserError("That visit is gone.");
  return v;
};

/** "Cancel visit": by whoever registered it or its host. */
export function cancelVisit({ value, context: ctx }) {
  const v = visitOf(value);
  const o = office(v.office);
  const user = ctx.userId;
  if (v.status === "cancelled") return reply.ephemeral("This visit is already cancelled.");
  if (user !== v.by && user !== v.host) {
    return reply.ephemeral(`Only <@${v.by}>, who registered this visit, or its host <@${v.host}> can cancel it.`);
  }
  let won = false;
  const done = store.updateJson(key(v.id), (cur) => {
    won = cur.status !== "cancelled";
    return won ? { ...cur, status: "cancelled", cancelledBy: user } : cur;
  }, v);
  if (!won) return reply.ephemeral("This visit is already cancelled.");
  schedule.cancel(`eve:${v.id}`);
  if (o) slack.updateMessage(v.post, { text: postText(done, o), blocks: postBlocks(done, o) });
  if (user !== v.host) {
    slack.sendDm(v.host, `🛂 <@${user}> cancelled the visit of ${describe(v)} on ${fmtDays(v.first, v.last)}.`);
  }
  return reply.ephemeral(`Cancelled: ${describe(v)} on ${fmtDays(v.first, v.last)}.`);
}

/** The day before the visit: the host is reminded. */
export function eveTick(name) {
  const v = store.getJson(key(Number(name.split(":")[1])));
  if (!v || v.status === "cancelled") return;
  const o = office(v.office);
  slack.sendDm(v.host, `🛂 Tomorrow, ${fmtDay(v.first)}: ${describe(v)} is visiting you in *${o?.name ?? v.office}*` +
    `${v.last !== v.first ? ` until ${fmtDay(v.last)}` : ""}.${v.notes ? ` Notes: ${esc(v.notes)}` : ""}`);
}

/** Today's visitors at `slug`, not cancelled. */
export function visitorsOn(slug, day) {
  return store.listKeys(`vday/${slug}/${day}/`, 500)
    .map((k) => store.getJson(key(Number(k.split("/").pop()))))
    .filter((v) => v && v.status !== "cancelled")
    .sort((a, b) => a.id - b.id);
}

const listLine = (v) => `• ${describe(v)}, hosted by <@${v.host}>${v.last !== v.first ? ` (until ${fmtDay(v.last)})` : ""}`;

/** An office's morning: the list of today's visitors, and each host reminded. */
export function morningTick(name) {
  const [, slug, day] = name.split(":");
  const o = office(slug);
  if (!o) return;
  const today = visitorsOn(slug, day);
  if (today.length === 0) return;
  slack.postMessage(o.channel, `☀️ Visitors at *${o.name}* today, ${fmtDay(day)}:\n${today.map(listLine).join("\n")}`);
  const byHost = new Map();
  for (const v of today) byHost.set(v.host, [...(byHost.get(v.host) ?? []), v]);
  for (const [host, visits] of byHost) {
    slack.sendDm(host, `☀️ Today at *${o.name}* you are hosting ${visits.map(describe).join(", ")}.`);
  }
}

/** `/office visitors [office]`: today and the next six days. */
export function visitorsText(arg) {
  const all = needOffices();
  let chosen = all;
  if (arg) {
    const o = office(arg);
    if (!o) throw new UserError(`There is no office called “${esc(arg)}”. Offices: ${all.map((x) => x.name).join(", ")}.`);
    chosen = [o];
  }
  const now = clock.nowMs();
  const parts = chosen.map((o) => {
    const today = localDay(o.tz, now);
    const lines = [];
    for (let i = 0; i < 7; i++) {
      const day = addDays(today, i);
      const visits = store.listKeys(`vday/${o.slug}/${day}/`, 500)
        .map((k) => store.getJson(key(Number(k.split("/").pop()))))
        .filter((v) => v && v.status !== "cancelled" && v.first === day);
      for (const v of visits) lines.push(`• ${i === 0 ? "Today" : fmtDay(day)}: ${describe(v)}, hosted by <@${v.host}>${v.last !== v.first ? ` (until ${fmtDay(v.last)})` : ""}`);
      if (i === 0) {
        const staying = visitorsOn(o.slug, day).filter((v) => v.first < day);
        for (const v of staying) lines.push(`• Today: ${describe(v)}, hosted by <@${v.host}> (until ${fmtDay(v.last)})`);
      }
    }
    return `*${o.name}*\n${lines.length ? lines.join("\n") : "No visitors expected this week."}`;
  });
  return `🛂 Visitors, today and the next 6 days:\n${parts.join("\n")}`;
}

/** The visit a meal is ordered for (from its "Order a meal" button). */
export const visitFor = (value) => visitOf(value);
