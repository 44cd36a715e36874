// Expenses: `/office expense` (amount, currency, category, date, what for,
// receipt link) goes to the approvers — in their DMs, or in the approvals
// channel when one is set — who approve it, or reject it with a reason;
// the submitter is DM'd either way. `/office history` lists yours;
// `/office expenses [month]` sends a month as CSV.

import {
  actions, button, clock, context, datepicker, formValues, input, modal, modalResponse, option,
  plainTextInput, reply, section, slack, staticSelect, store,
} from "botyard";

import { approvalsChannel, categories, currencies, esc, UserError } from "./config.js";
import { row } from "./csv.js";
import { approvers, mentions, userInfo } from "./people.js";
import { fmtDay, fmtMoment, fmtMonth, isDay, localDay, MONTH_NAMES } from "./time.js";

const MAX_MINOR = 100_000_000 * 100; // 100 million, in cents
// Currencies without minor units.
const ZERO_DECIMAL = new Set(["JPY", "KRW", "ISK", "CLP", "VND", "HUF", "TWD"]);

const pad = (n) => String(n).padStart(6, "0");
const key = (n) => `expense/${pad(n)}`;
export const label = (n) => `EXP-${n}`;

/**
 * An amount as typed — `42`, `42.50`, `42,50`, `1,234.56`, `1 234,56` —
 * in cents; null when it is not a number. Never a float on the way. A dot
 * is never a thousands separator: `12.345` is refused, not read as 12,345.
 */
export function parseAmount(text) {
  let s = String(text ?? "").replace(/[\s\u00a0\u202f']/g, "");
  if (/^\d{1,3}(,\d{3})+(\.\d{1,2})?$/.test(s)) s = s.replace(/,/g, "");
  else s = s.replace(",", ".");
  const m = s.match(/^(\d+)(?:\.(\d{1,2}))?$/);
  if (!m) return null;
  const whole = m[1].replace(/^0+(?=\d)/, "");
  if (whole.length > 12) return Infinity;
  return Number(whole) * 100 + Number((m[2] ?? "").padEnd(2, "0"));
}

/** Cents as "1,234.50" (no decimals for currencies without them). */
export function fmtAmount(cents, currency) {
  const whole = Math.floor(cents / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const frac = String(cents % 100).padStart(2, "0");
  return ZERO_DECIMAL.has(currency) ? `${whole} ${currency}` : `${whole}.${frac} ${currency}`;
}

const plain = (cents, currency) =>
  ZERO_DECIMAL.has(currency) ? String(Math.floor(cents / 100)) : `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}`;

/** The form, for `/office expense`; refused up front when nobody approves. */
export function expenseModal(user, channel) {
  if (approvers({ user, channel }).length === 0) {
    throw new UserError("Expenses aren't set up yet: nobody is configured to approve them. An admin sets " +
      "`approvers` in `[apps.office.settings]` (people like `\"@carol\"`, or a user group like `\"@finance\"`).");
  }
  const today = localDay(userInfo(user).tz, clock.nowMs());
  const cur = currencies().map((c) => option(c, c));
  return modal("Submit an expense", [
    input("Amount", plainTextInput("42.50", "amount"), { blockId: "amount" }),
    input("Currency", staticSelect("Currency", "currency", cur, cur.length ? { initial: cur[0].value } : {}), { blockId: "currency" }),
    input("Category", staticSelect("Category", "category", categories().map((c) => option(c, c))), { blockId: "category" }),
    input("Date", datepicker("date", { initial: today }), { blockId: "date", hint: "The day you paid" }),
    input("What for", plainTextInput("Team lunch with Acme", "what"), { blockId: "what" }),
    input("Receipt link", plainTextInput("https://…", "receipt"), { blockId: "receipt", hint: "A link to the receipt: a photo or PDF in your drive" }),
  ], { callbackId: "expense", submit: "Submit", close: "Cancel" });
}

const summaryOf = (e) => `${label(e.id)} (${fmtAmount(e.amount, e.currency)}, ${e.category}, ${fmtDay(e.date)})`;

function statusLine(e) {
  switch (e.status) {
    case "approved": return `✅ Approved by <@${e.decidedBy}>`;
    case "rejected": return `❌ Rejected by <@${e.decidedBy}>: ${esc(e.reason)}`;
    default: return `⏳ Waiting for ${mentions(e.approvers)}`;
  }
}

function requestMessage(e) {
  const head = `🧾 Expense ${label(e.id)} from <@${e.by}>: *${fmtAmount(e.amount, e.currency)}* for ${esc(e.what)}`;
  const blocks = [
    section(head, { fields: [`*Category*\n${e.category}`, `*Date*\n${fmtDay(e.date)}`, `*Receipt*\n<${e.receipt}|receipt>`, `*Status*\n${statusLine(e)}`] }),
    context(`Submitted ${fmtMoment("UTC", e.submitted)} UTC`),
  ];
  if (e.status === "pending") {
    blocks.push(actions(
      button("Approve", "expense-approve", { value: String(e.id), style: "primary" }),
      button("Reject", "expense-reject", { value: String(e.id), style: "danger" }),
    ));
  }
  return { text: `${head} — ${statusLine(e)}`, blocks };
}

/** The form's submission: refused field by field, or sent for approval. */
export function submitExpense(req) {
  const f = formValues(req);
  const by = req.context.userId;
  const amountText = (f.amount?.amount ?? "").trim();
  const currency = f.currency?.currency ?? null;
  const category = f.category?.category ?? null;
  const date = f.date?.date ?? null;
  const what = (f.what?.what ?? "").trim();
  const receipt = (f.receipt?.receipt ?? "").trim();
  const errors = {};
  const amount = parseAmount(amountText);
  if (!amountText) errors.amount = "Enter the amount, like 42.50.";
  else if (amount === null) errors.amount = `“${amountText}” is not a number: enter the amount like 42.50, without the currency.`;
  else if (amount === 0) errors.amount = "The amount must be more than zero.";
  else if (amount > MAX_MINOR) errors.amount = "That amount is too large for an expense.";
  else if (ZERO_DECIMAL.has(currency) && amount % 100 !== 0) errors.amount = `${currency} has no cents: enter a whole number.`;
  if (!currencies().includes(currency)) errors.currency = "Pick the currency.";
  if (!categories().includes(category)) errors.category = "Pick a category.";
  const today = localDay(userInfo(by).tz, clock.nowMs());
  if (!isDay(date)) errors.date = "Pick the day you paid.";
  else if (date > today) errors.date = `That day is in the future (today is ${fmtDay(today)}).`;
  if (!what) errors.what = "Say what it was for.";
  if (!/^https?:\/\/[^\s/$.?#<>|][^\s<>|]*$/i.test(receipt)) errors.receipt = "Paste a link to the receipt, starting with https://";
  const who = approvers({ user: by }).filter((a) => a !== by);
  if (Object.keys(errors).length === 0 && who.length === 0) {
    errors.amount = "You are the only approver, and nobody approves their own expense: ask an admin to add another approver.";
  }
  if (Object.keys(errors).length > 0) return modalResponse.errors(errors);

  const id = store.increment("seq/expense");
  const e = {
    id, by, amount, currency, category, date, what, receipt, status: "pending", approvers: who,
    submitted: clock.nowMs(), decidedBy: null, decidedAt: null, reason: null, requests: [],
  };
  const msg = requestMessage(e);
  const channel = approvalsChannel();
  e.requests = channel ? [slack.postMessage(channel, msg)] : who.map((a) => slack.sendDm(a, msg));
  store.setJson(key(id), e);
  store.set(`exp-month/${date.slice(0, 7)}/${pad(id)}`, "1");
  store.set(`exp-user/${by}/${pad(id)}`, "1");
  slack.sendDm(by, `🧾 Your expense ${summaryOf(e)} for ${esc(what)} was sent to ${mentions(who)} for approval.`);
  return modalResponse.close();
}

function expenseOf(value) {
  const e = store.getJson(key(Number(value)));
  if (!e) throw new UserError("That expense is gone.");
  return e;
}

// Only an approver, and never for their own expense.
function mayDecide(e, user) {
  if (user === e.by) throw new UserError("You can't approve or reject your own expense.");
  const who = approvers({ user });
  if (!who.includes(user)) {
    throw new UserError(`Only the expense approvers (${mentions(who)}) can approve or reject expenses.`);
  }
  if (e.status !== "pending") {
    throw new UserError(`${label(e.id)} was already ${e.status} by <@${e.decidedBy}>.`);
  }
}

// Pending → approved/rejected, once (two approvers at once: one wins).
function decide(e, user, status, reason) {
  let won = false;
  const done = store.updateJson(key(e.id), (cur) => {
    won = cur.status === "pending";
    return won ? { ...cur, status, decidedBy: user, decidedAt: clock.nowMs(), reason: reason ?? null } : cur;
  }, e);
  if (!won) {
    throw new UserError(`${label(e.id)} was already ${done.status} by <@${done.decidedBy}>.`);
  }
  const msg = requestMessage(done);
  for (const ref of done.requests) slack.updateMessage(ref, msg);
  return done;
}

/** "Approve". */
export function approveClick(req) {
  const e = expenseOf(req.value);
  const user = req.context.userId;
  mayDecide(e, user);
  const done = decide(e, user, "approved");
  slack.sendDm(done.by, `✅ Your expense ${summaryOf(done)} for ${esc(done.what)} was approved by <@${user}>.`);
  return reply.ephemeral(`Approved ${label(done.id)}; <@${done.by}> is told.`);
}

/** "Reject": asks why first. */
export function rejectClick(req) {
  const e = expenseOf(req.value);
  mayDecide(e, req.context.userId);
  slack.openView(req.context.triggerId, modal("Reject expense", [
    section(`${label(e.id)} from <@${e.by}>: *${fmtAmount(e.amount, e.currency)}* for ${esc(e.what)}`),
    input("Reason", plainTextInput("What is wrong, so they can fix it", "reason", { multiline: true }), { blockId: "reason" }),
  ], { callbackId: "expense-reject", submit: "Reject", close: "Cancel", privateMetadata: String(e.id) }));
}

/** The reason form. */
export function submitReject(req) {
  const reason = (formValues(req).reason?.reason ?? "").trim();
  const e = expenseOf(req.privateMetadata);
  if (!reason) return modalResponse.errors({ reason: `Say why, so <@${e.by}> knows what to fix.` });
  const user = req.context.userId;
  try {
    mayDecide(e, user);
    const done = decide(e, user, "rejected", reason);
    slack.sendDm(done.by, `❌ Your expense ${summaryOf(done)} for ${esc(done.what)} was rejected by <@${user}>: ${esc(reason)}\n` +
      "Fix it and submit it again with `/office expense`.");
  } catch (err) {
    if (err instanceof UserError) return modalResponse.errors({ reason: err.message });
    throw err;
  }
  return modalResponse.close();
}

/**
 * A month as people say it — `2026-01`, `01/2026`, `jan`, `January 2026`,
 * `last` — or this month when empty; `now` in `tz`.
 */
export function parseMonth(text, tz) {
  const now = localDay(tz, clock.nowMs()).slice(0, 7);
  const [y, m] = now.split("-").map(Number);
  const t = text.trim().toLowerCase();
  const fmt = (yy, mm) => `${yy}-${String(mm).padStart(2, "0")}`;
  if (t === "" || t === "this" || t === "this month") return now;
  if (t === "last" || t === "last month" || t === "previous") return m === 1 ? fmt(y - 1, 12) : fmt(y, m - 1);
  let mm = t.match(/^(\d{4})[-/.](\d{1,2})$/);
  if (mm) return Number(mm[2]) >= 1 && Number(mm[2]) <= 12 ? fmt(mm[1], Number(mm[2])) : null;
  mm = t.match(/^(\d{1,2})[-/.](\d{4})$/);
  if (mm) return Number(mm[1]) >= 1 && Number(mm[1]) <= 12 ? fmt(mm[2], Number(mm[1])) : null;
  const words = t.split(/\s+/);
  const yearWord = words.find((w) => /^\d{4}$/.test(w));
  const nameWord = words.find((w) => /^[a-z]+\.?$/.test(w));
  if (nameWord && words.length === (yearWord ? 2 : 1)) {
    const name = nameWord.replace(".", "");
    const index = MONTH_NAMES.findIndex((n) => name.length >= 3 && n.toLowerCase().startsWith(name));
    if (index < 0) return null;
    if (yearWord) return fmt(yearWord, index + 1);
    // A month without a year: the latest one that is not in the future.
    return index + 1 <= m ? fmt(y, index + 1) : fmt(y - 1, index + 1);
  }
  return null;
}

const byKeys = (keys) => keys.map((k) => store.getJson(key(Number(k.split("/").pop())))).filter(Boolean);

function line(e) {
  return `• ${label(e.id)} · ${fmtDay(e.date)} · *${fmtAmount(e.amount, e.currency)}* · ${e.category} · ${esc(e.what)} — ${statusLine(e)}`;
}

/** `/office history [month]`: your expenses (and, for approvers, what waits for them). */
export function historyText(user, arg, channel) {
  let mine = byKeys(store.listKeys(`exp-user/${user}/`, 1000));
  let title = "Your expenses";
  if (arg.trim()) {
    const month = parseMonth(arg, userInfo(user).tz);
    if (!month) throw new UserError(`I don't know the month “${esc(arg.trim())}”: say \`2026-01\` or \`january\`.`);
    mine = mine.filter((e) => e.date.startsWith(month));
    title = `Your expenses in ${fmtMonth(month)}`;
  }
  mine.sort((a, b) => (b.date === a.date ? b.id - a.id : b.date < a.date ? -1 : 1));
  const shown = mine.slice(0, 20);
  const parts = [shown.length
    ? `🧾 ${title}${mine.length > shown.length ? ` (latest ${shown.length} of ${mine.length})` : ""}:\n${shown.map(line).join("\n")}`
    : `🧾 ${title}: none yet. Submit one with \`/office expense\`.`];
  if (approvers({ user, channel }).includes(user)) {
    const waiting = byKeys(store.listKeys("expense/", 1000)).filter((e) => e.status === "pending" && e.by !== user);
    if (waiting.length) {
      parts.push(`⏳ Waiting for approval:\n${waiting.map((e) => `• ${label(e.id)} from <@${e.by}> · ${fmtDay(e.date)} · *${fmtAmount(e.amount, e.currency)}* · ${e.category} · ${esc(e.what)}`).join("\n")}`);
    }
  }
  return parts.join("\n");
}

const iso = (ms) => (ms ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z") : "");
const nameOf = (id) => (id ? userInfo(id).name : "");

// The month's expenses as CSV: everyone's (`all`) or `user`'s own.
function monthCsv(user, month, all) {
  const list = byKeys(store.listKeys(`exp-month/${month}/`, 1000))
    .filter((e) => all || e.by === user)
    .sort((a, b) => (a.date === b.date ? a.id - b.id : a.date < b.date ? -1 : 1));
  let csv = row(["id", "date", "submitter", "amount", "currency", "category", "description", "receipt", "status",
    "decided_by", "decided_at", "reason", "submitted_at"]);
  for (const e of list) {
    csv += row([label(e.id), e.date, nameOf(e.by), plain(e.amount, e.currency), e.currency, e.category, e.what, e.receipt,
      e.status, nameOf(e.decidedBy), iso(e.decidedAt), e.reason ?? "", iso(e.submitted)]);
  }
  return {
    list, csv,
    filename: `${all ? "expenses" : "my-expenses"}-${month}.csv`,
    title: `${all ? "Expenses" : "Your expenses"} for ${fmtMonth(month)}`,
  };
}

/**
 * `/office expenses [month]`: the month's expenses (by the day paid) as a
 * CSV file in the asker's DM — everyone's for approvers, their own for others.
 *
 * The file is uploaded with the asker's user id as its target: the host
 * opens the DM with them (`conversations.open`) and shares it there, so it
 * goes at once, wherever the command was typed. A DM sums it up first.
 */
export function exportCsv(user, arg, channel) {
  const month = parseMonth(arg, userInfo(user).tz);
  if (!month) throw new UserError(`I don't know the month “${esc(arg.trim())}”: say \`/office expenses 2026-01\`, \`/office expenses january\` or \`/office expenses\` for this month.`);
  const all = approvers({ user, channel }).includes(user);
  const { list, csv, filename, title } = monthCsv(user, month, all);
  if (list.length === 0) return all ? `No expenses in ${fmtMonth(month)}.` : `You have no expenses in ${fmtMonth(month)}.`;
  const approved = {};
  for (const e of list.filter((x) => x.status === "approved")) approved[e.currency] = (approved[e.currency] ?? 0) + e.amount;
  const totals = Object.entries(approved).map(([c, cents]) => fmtAmount(cents, c)).join(", ");
  const n = `${list.length} ${list.length === 1 ? "expense" : "expenses"}`;
  slack.sendDm(user, `🧾 ${title} as CSV: ${filename} — ${n}${totals ? `; approved: ${totals}` : ""}.`);
  slack.uploadFile(user, filename, title, csv);
  return `I'm sending you ${filename} (${n}) in a direct message.`;
}
