// Meals: an order for a visit or an event. The coordinator names who is
// invited and a deadline; each person answers with buttons (in, and their
// dietary needs, or not coming); those who have not answered are reminded;
// at the deadline the coordinator gets the tally and confirms, and the
// order goes to the house team's channel.

import {
  actions, button, clock, context, datepicker, formValues, input, modal, modalResponse,
  multiUsersSelect, option, plainTextInput, reply, schedule, section, slack, staticSelect, store, timepicker,
} from "botyard";

import { esc, houseChannel, needOffices, office, UserError } from "./config.js";
import { mentions } from "./people.js";
import { addDays, atLocal, fmtDay, fmtMoment, isDay, isTime, localDay } from "./time.js";

const HOUR = 3600 * 1000;
// Reminders to those who have not answered: this long before the deadline.
const REMIND_BEFORE = [24 * HOUR, 2 * HOUR];
const DEFAULT_DEADLINE_TIME = "15:00";
const MAX_GUESTS = 500;

// The answers, in the order the buttons show them.
export const DIETS = [
  { id: "none", button: "I'm in", label: "no restrictions" },
  { id: "vegetarian", button: "Vegetarian", label: "vegetarian" },
  { id: "vegan", button: "Vegan", label: "vegan" },
  { id: "gluten-free", button: "Gluten-free", label: "gluten-free" },
];

const key = (id) => `meal/${id}`;

/** The order form; `visit` (optional) fills it in for that visit. */
export function mealModal(visit) {
  const all = needOffices();
  if (!houseChannel()) {
    throw new UserError("Meal orders go to the house team's channel, and none is set up: an admin sets " +
      "`house_channel` in `[apps.office.settings]`.");
  }
  const offices = all.map((o) => option(o.name, o.slug));
  const visitOffice = visit ? offices.find((o) => o.value === visit.office) : null;
  const initialOffice = visitOffice ?? (offices.length === 1 ? offices[0] : null);
  return modal("Order a meal", [
    input("What for", plainTextInput("Lunch with the Acme visitors", "what",
      visit ? { initial: `Lunch with ${visit.name}${visit.from ? ` (${visit.from})` : ""}` } : {}), { blockId: "what" }),
    input("Office", staticSelect("Where", "office", offices, initialOffice ? { initial: initialOffice.value } : {}), { blockId: "office" }),
    input("Day", datepicker("day", visit ? { initial: visit.first } : {}), { blockId: "day" }),
    input("Time", timepicker("time", { initial: "12:30" }), { blockId: "time" }),
    input("Who is invited", multiUsersSelect("People who answer", "people", visit ? { initial: [visit.host] } : {}),
      { blockId: "people", hint: "They answer with buttons: in (and their dietary needs) or not coming" }),
    input("Guests not in Slack", plainTextInput("0", "guests", visit ? { initial: "1" } : {}),
      { blockId: "guests", optional: true, hint: "Visitors and guests counted besides the people invited" }),
    input("Guests' dietary needs", plainTextInput("1 vegetarian", "guest_needs"), { blockId: "guest_needs", optional: true }),
    input("Answers by (day)", datepicker("deadline_day"), { blockId: "deadline_day", optional: true, hint: "Default: the day before the meal" }),
    input("Answers by (time)", timepicker("deadline_time", { initial: DEFAULT_DEADLINE_TIME }), { blockId: "deadline_time", optional: true }),
  ], { callbackId: "meal", submit: "Ask", close: "Cancel", privateMetadata: visit ? String(visit.id) : "" });
}

const visitOf = (id) => (id ? store.getJson(`visit/${Number(id)}`) : null);

/** The form's submission: refused field by field, or the order is opened. */
export function submitMeal(req) {
  const f = formValues(req);
  const visit = visitOf(req.privateMetadata);
  const what = (f.what?.what ?? "").trim();
  const o = office(f.office?.office || visit?.office);
  const day = f.day?.day || visit?.first || null;
  const time = f.time?.time || null;
  const people = [...new Set(f.people?.people ?? [])];
  const guestsText = (f.guests?.guests ?? "").trim();
  const guestNeeds = (f.guest_needs?.guest_needs ?? "").trim();
  const now = clock.nowMs();
  const errors = {};
  if (!what) errors.what = "Say what the meal is for.";
  if (!o) errors.office = "Pick the office.";
  if (!isDay(day)) errors.day = "Pick the day of the meal.";
  if (!isTime(time)) errors.time = "Pick the time of the meal.";
  let at = null;
  if (o && isDay(day) && isTime(time)) {
    at = atLocal(o.tz, day, time);
    if (at <= now) errors.day = `That is already past in ${o.name} (it is ${fmtMoment(o.tz, now)} there).`;
  }
  if (people.length === 0) errors.people = "Invite at least one person: they answer with buttons.";
  let guests = 0;
  if (guestsText !== "") {
    if (!/^\d+$/.test(guestsText)) errors.guests = "Say how many guests as a whole number, like 2.";
    else if (Number(guestsText) > MAX_GUESTS) errors.guests = `At most ${MAX_GUESTS} guests.`;
    else guests = Number(guestsText);
  }
  const deadlineDay = f.deadline_day?.deadline_day || (isDay(day) ? addDays(day, -1) : null);
  const deadlineTime = f.deadline_time?.deadline_time || DEFAULT_DEADLINE_TIME;
  let deadline = null;
  if (!isDay(deadlineDay)) errors.deadline_day = "Pick the day answers close.";
  else if (o && at !== null) {
    deadline = atLocal(o.tz, deadlineDay, deadlineTime);
    if (deadline <= now) errors.deadline_day = `Answers would close at ${fmtMoment(o.tz, deadline)}, which is past: pick a later day or time.`;
    else if (deadline >= at) errors.deadline_day = `Answers must close before the meal (${fmtMoment(o.tz, at)}).`;
  }
  if (Object.keys(errors).length > 0) return modalResponse.errors(errors);

  const id = store.increment("seq/meal");
  const order = {
    id, what, office: o.slug, day, time, at, people, guests, guestNeeds, deadline,
    by: req.context.userId, answers: {}, status: "open", visit: visit?.id ?? null, created: now, post: null,
  };
  order.post = slack.postMessage(o.channel, render(order));
  store.setJson(key(id), order);
  schedule.once(`meal-close:${id}`, deadline);
  REMIND_BEFORE.forEach((before, n) => {
    if (deadline - before > now) schedule.once(`meal-remind:${id}:${n}`, deadline - before);
  });
  return modalResponse.close();
}

/** The tally: who is in (by diet), who is not, who has not answered. */
export function tally(order) {
  const inPeople = [];
  const out = [];
  const byDiet = {};
  const notes = [];
  for (const [user, a] of Object.entries(order.answers)) {
    if (a.diet === "out") { out.push(user); continue; }
    inPeople.push(user);
    byDiet[a.diet] = (byDiet[a.diet] ?? 0) + 1;
    if (a.diet === "other") notes.push(`<@${user}>: ${esc(a.note)}`);
  }
  const waiting = order.people.filter((p) => !order.answers[p]);
  const parts = [...DIETS, { id: "other", label: "other needs" }]
    .filter((d) => byDiet[d.id])
    .map((d) => `${byDiet[d.id]} ${d.label}`);
  return { inPeople, out, waiting, byDiet, notes, parts, headcount: inPeople.length + order.guests };
}

// The headcount and needs; `withNotes`: each person's other needs by name
// (for the coordinator and the house team, not the channel).
function summary(order, withNotes = true) {
  const t = tally(order);
  const lines = [`*${t.headcount} ${t.headcount === 1 ? "person" : "people"}*` +
    `${t.inPeople.length ? `: ${t.parts.join(", ")}` : ""}` +
    `${order.guests ? `${t.inPeople.length ? ", plus" : ":"} ${order.guests} ${order.guests === 1 ? "guest" : "guests"}` +
      `${order.guestNeeds ? ` (${esc(order.guestNeeds)})` : ""}` : ""}`];
  if (withNotes && t.notes.length) lines.push(`Other needs: ${t.notes.join("; ")}`);
  return { t, lines };
}

const when = (order, o) => `*${o?.name ?? order.office}* on ${fmtDay(order.day)} at ${order.time}`;
const closes = (order, o) => `${fmtMoment(o?.tz ?? "UTC", order.deadline)} (${o?.name ?? "UTC"} time)`;

// The answer buttons: on the order's message (`meal-answer:`), or in a
// reminder DM (`meal-dm:`, whose click replaces the reminder with the answer).
function answerButtons(order, where = "meal-answer") {
  const v = String(order.id);
  return actions(
    ...DIETS.map((d) => button(d.button, `${where}:${d.id}`, { value: v, style: d.id === "none" ? "primary" : undefined })),
    button("Other needs…", "meal-other", { value: v }),
    button("Not coming", `${where}:out`, { value: v }),
  );
}

/** The order's message in the office channel. */
export function render(order) {
  const o = office(order.office);
  const { t, lines } = summary(order, false);
  const head = `🍽 <@${order.by}> is ordering *${esc(order.what)}* at ${when(order, o)}.`;
  const blocks = [section(head)];
  if (order.status === "open") {
    blocks.push(section(`${mentions(order.people)}: are you in? Answer by ${closes(order, o)}.`));
  }
  const status = {
    open: "So far",
    closed: `Answers closed; <@${order.by}> is confirming the order`,
    confirmed: "✅ Ordered from the house team",
    cancelled: `Cancelled by <@${order.cancelledBy ?? order.by}>`,
  }[order.status];
  blocks.push(context(`${status}: ${lines.join(" · ")}` +
    `${t.out.length ? ` · not coming: ${mentions(t.out)}` : ""}` +
    `${order.status === "open" && t.waiting.length ? ` · waiting for ${mentions(t.waiting)}` : ""}`));
  if (order.status === "open") blocks.push(answerButtons(order));
  return { text: head, blocks };
}

function orderOf(value) {
  const order = store.getJson(key(Number(value)));
  if (!order) throw new UserError("That meal order is gone.");
  return order;
}

const isOpen = (order) => order.status === "open" && clock.nowMs() < order.deadline;

function closedText(order) {
  const o = office(order.office);
  return order.status === "cancelled"
    ? `The order for *${esc(order.what)}* was cancelled.`
    : `Answers for *${esc(order.what)}* closed at ${closes(order, o)}. Ask <@${order.by}> if you need a change.`;
}

// Records `user`'s answer and refreshes the order's message. The answer
// comes back to them where they clicked: the channel (ephemeral) or the
// reminder DM (replaced by the answer).
function answer(req, diet, note) {
  const order = orderOf(req.value ?? req.privateMetadata);
  const user = req.context.userId;
  if (!isOpen(order)) throw new UserError(closedText(order));
  let won = false;
  const updated = store.updateJson(key(order.id), (cur) => {
    won = isOpen(cur);
    return won ? { ...cur, answers: { ...cur.answers, [user]: note ? { diet, note } : { diet } } } : cur;
  }, order);
  if (!won) throw new UserError(closedText(updated));
  slack.updateMessage(updated.post, render(updated));
  const o = office(order.office);
  const label = diet === "out" ? "you're not coming"
    : diet === "other" ? `you're in (${esc(note)})`
    : diet === "none" ? "you're in" : `you're in (${DIETS.find((d) => d.id === diet).label})`;
  return `Got it: ${label} for *${esc(order.what)}*, ${fmtDay(order.day)} at ${order.time}. You can change your answer until ${closes(order, o)}.`;
}

/** A click on one of the answer buttons. */
export function answerClick(req) {
  const [where, diet] = req.actionId.split(":");
  const text = answer(req, diet);
  return where === "meal-dm" ? reply.update(text) : reply.ephemeral(text);
}

/** "Other needs…": a small form for what they need. */
export function otherClick(req) {
  const order = orderOf(req.value);
  if (!isOpen(order)) return reply.ephemeral(closedText(order));
  slack.openView(req.context.triggerId, modal("Dietary needs", [
    input("What do you need?", plainTextInput("No nuts, halal, lactose-free…", "note"), { blockId: "note" }),
  ], { callbackId: "meal-needs", submit: "I'm in", close: "Cancel", privateMetadata: String(order.id) }));
}

/** The "Dietary needs" form. */
export function submitNeeds(req) {
  const note = (formValues(req).note?.note ?? "").trim();
  if (!note) return modalResponse.errors({ note: "Say what you need, e.g. no nuts." });
  try {
    const text = answer(req, "other", note);
    slack.sendDm(req.context.userId, text);
  } catch (e) {
    if (e instanceof UserError) return modalResponse.errors({ note: e.message });
    throw e;
  }
  return modalResponse.close();
}

/** Before the deadline: those invited who have not answered are DM'd. */
export function remindTick(name) {
  const order = store.getJson(key(Number(name.split(":")[1])));
  if (!order || !isOpen(order)) return;
  const o = office(order.office);
  for (const user of tally(order).waiting) {
    slack.sendDm(user, {
      text: `⏰ <@${order.by}> needs your answer for *${esc(order.what)}* by ${closes(order, o)}.`,
      blocks: [
        section(`⏰ <@${order.by}> is ordering *${esc(order.what)}* at ${when(order, o)}, and needs your answer by ${closes(order, o)}. Are you in?`),
        answerButtons(order, "meal-dm"),
      ],
    });
  }
}

function confirmBlocks(order, o) {
  const { t, lines } = summary(order);
  return [
    section(`🍽 Answers for *${esc(order.what)}* (${when(order, o)}) are in:\n${lines.join("\n")}` +
      `${t.out.length ? `\nNot coming: ${mentions(t.out)}` : ""}` +
      `${t.waiting.length ? `\nNo answer from ${mentions(t.waiting)}` : ""}`),
    actions(
      button("Confirm order", "meal-confirm", { value: String(order.id), style: "primary" }),
      button("Cancel order", "meal-cancel", { value: String(order.id), style: "danger" }),
    ),
  ];
}

/** The deadline: answers close, and the coordinator gets the tally to confirm. */
export function closeTick(name) {
  const id = Number(name.split(":")[1]);
  let won = false;
  const order = store.updateJson(key(id), (cur) => {
    won = Boolean(cur && cur.status === "open");
    return won ? { ...cur, status: "closed" } : cur;
  }, null);
  if (!won) return;
  const o = office(order.office);
  slack.updateMessage(order.post, render(order));
  const blocks = confirmBlocks(order, o);
  slack.sendDm(order.by, { text: `🍽 Answers for ${esc(order.what)} are in: confirm the order.`, blocks });
}

function coordinatorOnly(order, user, what) {
  if (order.by !== user) throw new UserError(`Only <@${order.by}>, who started this order, can ${what} it.`);
}

/** "Confirm order": to the house team's channel. */
export function confirmClick(req) {
  const order = orderOf(req.value);
  coordinatorOnly(order, req.context.userId, "confirm");
  if (order.status === "confirmed") return reply.ephemeral("This order is already confirmed.");
  if (order.status !== "closed") return reply.ephemeral(closedText(order));
  const { t, lines } = summary(order);
  if (t.headcount === 0) return reply.ephemeral("Nobody is coming, so there is nothing to order: cancel it instead.");
  const house = houseChannel();
  if (!house) return reply.ephemeral("No house team channel is set up (`house_channel` in `[apps.office.settings]`): the order was not sent.");
  let won = false;
  const done = store.updateJson(key(order.id), (cur) => {
    won = cur.status === "closed";
    return won ? { ...cur, status: "confirmed", confirmed: clock.nowMs() } : cur;
  }, order);
  if (!won) return reply.ephemeral(`This order is already ${done.status}.`);
  const o = office(order.office);
  slack.postMessage(house, {
    text: `🍽 Meal order from <@${order.by}>: ${esc(order.what)}, ${t.headcount} people`,
    blocks: [
      section(`🍽 *Meal order* from <@${order.by}>: *${esc(order.what)}*\n${when(order, o)}\n${lines.join("\n")}`),
    ],
  });
  slack.updateMessage(order.post, render(done));
  return reply.update(`✅ Confirmed: *${esc(order.what)}* (${when(order, o)}) for ${lines.join(" ")}, sent to the house team in ${house}.`);
}

/** "Cancel order". */
export function cancelClick(req) {
  const order = orderOf(req.value);
  coordinatorOnly(order, req.context.userId, "cancel");
  if (order.status === "confirmed" || order.status === "cancelled") return reply.ephemeral(`This order is already ${order.status}.`);
  let won = false;
  const done = store.updateJson(key(order.id), (cur) => {
    won = cur.status !== "confirmed" && cur.status !== "cancelled";
    return won ? { ...cur, status: "cancelled", cancelledBy: req.context.userId } : cur;
  }, order);
  if (!won) return reply.ephemeral(`This order is already ${done.status}.`);
  schedule.cancel(`meal-close:${order.id}`);
  slack.updateMessage(order.post, render(done));
  return reply.update(`Cancelled: *${esc(order.what)}*. Nothing was sent to the house team.`);
}
