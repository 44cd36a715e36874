// 🏢 office: for office coordinators — visitors (registered, announced in
// the office's channel, hosts reminded, a morning list per office), meals
// (headcount and dietary needs by buttons, a deadline, reminders, confirmed
// to the house team) and expenses (routed to approvers, approved or
// rejected with a reason, a history, a month as CSV). See README.md.

import { App, reply, slack } from "botyard";

import { UserError } from "./lib/config.js";
import {
  answerClick, cancelClick, closeTick, confirmClick, mealModal, otherClick, remindTick, submitMeal, submitNeeds,
} from "./lib/meals.js";
import {
  approveClick, expenseModal, exportCsv, historyText, rejectClick, submitExpense, submitReject,
} from "./lib/expenses.js";
import {
  cancelVisit, eveTick, morningTick, submitVisit, visitFor, visitModal, visitorsText,
} from "./lib/visits.js";

const app = new App("office", "Office coordination: visitors, meal orders and expenses");

app.setting("offices", "The offices: a list of { name, timezone, channel }, e.g. " +
  "[{ name = \"Paris\", timezone = \"Europe/Paris\", channel = \"#office-paris\" }]");
app.setting("house_channel", "Where confirmed meal orders go: the house team's channel");
app.setting("approvers", "Who approves expenses: people (\"@carol\", \"U012ABC\") or a user group (\"@finance\")");
app.setting("approvals_channel", "Where approval requests are posted; unset: each approver gets a DM");
app.setting("currencies", "The currencies an expense may be in, the first the default", { default: ["EUR", "USD", "GBP"] });
app.setting("categories", "Expense categories", { default: ["Travel", "Meals", "Lodging", "Office supplies", "Software", "Other"] });
app.setting("morning_at", "When (office time) each office's visitor list is posted and hosts are reminded", { default: "08:30" });
app.setting("day_before_at", "When (office time) hosts are reminded the day before a visit", { default: "16:00" });

const help = () => [
  "🏢 *Office* — visitors, meals and expenses.",
  "*Visitors*",
  "• `/office visit` — register a visitor: who, where from, which office, which days, who hosts them",
  "• `/office visitors [office]` — who is expected today and this week",
  "  The office's channel is told; the host gets a DM the day before and each morning; each office gets a morning list.",
  "*Meals*",
  "• `/office meal` — order a meal for a visit or an event (or *Order a meal* on a visit)",
  "  People answer with buttons (in, their dietary needs, or not coming) before a deadline; those who have not answered are reminded;",
  "  then you confirm and the order goes to the house team.",
  "*Expenses*",
  "• `/office expense` — submit an expense: amount, currency, category, date, receipt link",
  "• `/office history [month]` — your expenses and where they stand",
  "• `/office expenses [month]` — a month as a CSV file (approvers: everyone's; others: their own)",
  "• `/office help` — this list",
].join("\n");

// User mistakes answer the person who made them; anything else is a failure.
function answering(fn) {
  return (req) => {
    try {
      return fn(req);
    } catch (e) {
      if (e instanceof UserError) return reply.ephemeral(e.message);
      throw e;
    }
  };
}

app.command("/office", {
  description: "Visitors, meal orders and expenses",
  usage: "visit | visitors [office] | meal | expense | history [month] | expenses [month] | help",
}, answering(({ text, context }) => {
  const [word = ""] = text.trim().split(/\s+/).filter(Boolean);
  const rest = text.trim().slice(word.length).trim();
  const user = context.userId;
  switch (word.toLowerCase()) {
    case "":
    case "help":
      return reply.ephemeral(help());
    case "visit":
    case "visitor":
      slack.openView(context.triggerId, visitModal());
      return null;
    case "visitors":
    case "visits":
      return reply.ephemeral(visitorsText(rest));
    case "meal":
    case "lunch":
    case "order":
      slack.openView(context.triggerId, mealModal(null));
      return null;
    case "expense":
      slack.openView(context.triggerId, expenseModal(user, context.channelId));
      return null;
    case "history":
      return reply.ephemeral(historyText(user, rest, context.channelId));
    case "expenses":
    case "export":
      return reply.ephemeral(exportCsv(user, rest, context.channelId));
    default:
      return reply.ephemeral(`There is no \`/office ${word}\`.\n${help()}`);
  }
}));

app.view("visit", submitVisit);
app.action("visit-cancel", answering(cancelVisit));
app.action("visit-meal", answering(({ value, context }) => {
  slack.openView(context.triggerId, mealModal(visitFor(value)));
}));
app.tick("eve:*", ({ name }) => eveTick(name));
app.tick("morning:*", ({ name }) => morningTick(name));

app.view("meal", submitMeal);
app.view("meal-needs", submitNeeds);
app.action("meal-answer:*", answering(answerClick));
app.action("meal-dm:*", answering(answerClick));
app.action("meal-other", answering(otherClick));
app.action("meal-confirm", answering(confirmClick));
app.action("meal-cancel", answering(cancelClick));
app.tick("meal-remind:*", ({ name }) => remindTick(name));
app.tick("meal-close:*", ({ name }) => closeTick(name));

app.view("expense", submitExpense);
app.view("expense-reject", submitReject);
app.action("expense-approve", answering(approveClick));
app.action("expense-reject", answering(rejectClick));

export default app;
