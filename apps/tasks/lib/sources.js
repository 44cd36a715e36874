// What a tracker sent, read into one shape:
//
//   { key, task: {title, url, status, done, assignee, reporter, due, priority}
//     (fields the delivery did not carry are left out),
//     actor: person | null, events: [{kind, …}], deleted?: true }
//
// where a person is `{ids: [accountId, email, …], name}` and an event is
// `{kind: "assigned"}`, `{kind: "commented", text}` or
// `{kind: "status", from, to}`. Null when the delivery is about nothing
// this app tracks. A delivery that is not what its format says throws a
// BadDelivery (logged, not retried: it would fail the same way again).

import { settings } from "botyard";

export class BadDelivery extends Error {}

const text = (v) => (v === null || v === undefined ? "" : String(v));

// ---------------------------------------------------------------------------
// Jira Cloud (admin webhooks, or `/rest/api/3/webhook` dynamic ones): the
// documented payloads of `jira:issue_created`, `jira:issue_updated`,
// `jira:issue_deleted` and `comment_created`.

function jiraPerson(user) {
  if (!user || typeof user !== "object") return null;
  const ids = [user.accountId, user.emailAddress, user.name, user.key].filter(Boolean);
  return ids.length ? { ids, name: text(user.displayName) || ids[0] } : null;
}

// https://acme.atlassian.net/browse/ENG-12, from setting `jira_url` or the
// issue's REST `self` (https://acme.atlassian.net/rest/api/2/issue/10002).
function browseUrl(issue) {
  const base = (settings.get("jira_url") ?? "").trim().replace(/\/+$/, "");
  const site = base || (/^(https?:\/\/[^/]+)/.exec(text(issue.self)) ?? [])[1];
  return site ? `${site}/browse/${issue.key}` : "";
}

function jiraDone(status) {
  const category = status?.statusCategory?.key;
  if (category) return category === "done";
  return doneStatus(text(status?.name));
}

export function readJira(body) {
  if (!body || typeof body !== "object" || typeof body.webhookEvent !== "string") {
    throw new BadDelivery("not a Jira webhook payload (no `webhookEvent`)");
  }
  const issue = body.issue;
  if (!issue || !issue.key) {
    if (/^(jira:issue_|comment_)/.test(body.webhookEvent)) throw new BadDelivery(`${body.webhookEvent} without an \`issue.key\``);
    return null; // a project, sprint, user … event: not a task
  }
  const f = issue.fields ?? {};
  const task = {};
  if ("summary" in f) task.title = text(f.summary);
  if (f.status && typeof f.status === "object") {
    task.status = text(f.status.name);
    task.done = jiraDone(f.status);
  }
  if ("resolution" in f && f.resolution) task.done = true;
  if ("assignee" in f) task.assignee = jiraPerson(f.assignee);
  if ("reporter" in f) task.reporter = jiraPerson(f.reporter);
  if ("duedate" in f) task.due = f.duedate ? text(f.duedate).slice(0, 10) : null;
  if ("priority" in f) task.priority = f.priority ? text(f.priority.name) : null;
  const url = browseUrl(issue);
  if (url) task.url = url;

  const actor = jiraPerson(body.user);
  const out = { key: text(issue.key), task, actor, events: [] };
  switch (body.webhookEvent) {
    case "jira:issue_created":
      if (task.assignee) out.events.push({ kind: "assigned" });
      break;
    case "jira:issue_updated":
      for (const item of body.changelog?.items ?? []) {
        const field = text(item.fieldId || item.field).toLowerCase();
        if (field === "assignee") {
          // `to` is the new assignee's accountId (null: unassigned); the
          // issue's fields say the same, and win when both are there.
          if (!("assignee" in f)) task.assignee = item.to ? { ids: [item.to], name: text(item.toString) } : null;
          if (item.to || task.assignee) out.events.push({ kind: "assigned" });
        } else if (field === "status") {
          if (!("status" in task)) {
            task.status = text(item.toString);
            task.done = doneStatus(task.status);
          }
          out.events.push({ kind: "status", from: text(item.fromString), to: text(item.toString) });
        } else if (field === "duedate" && !("duedate" in f)) {
          task.due = item.to ? text(item.to).slice(0, 10) : null;
        }
      }
      break;
    case "jira:issue_deleted":
      out.deleted = true;
      break;
    case "comment_created": {
      const c = body.comment ?? {};
      out.actor = jiraPerson(c.author) ?? actor;
      out.events.push({ kind: "commented", text: commentText(c.body) });
      break;
    }
    default:
      break; // comment_updated, worklog … : the task's fields are kept up to date, nobody is told
  }
  return out;
}

// A comment's body: text (REST v2 payloads) or Atlassian Document Format
// (v3), of which the text nodes are kept.
function commentText(body) {
  if (typeof body === "string") return body;
  const parts = [];
  const walk = (node) => {
    if (!node || typeof node !== "object") return;
    if (node.type === "text" && node.text) parts.push(node.text);
    if (node.type === "mention" && node.attrs?.text) parts.push(node.attrs.text);
    if (node.type === "paragraph" && parts.length) parts.push(" ");
    for (const child of node.content ?? []) walk(child);
  };
  walk(body);
  return parts.join("").trim();
}

// ---------------------------------------------------------------------------
// The generic format (README): any tracker, a script, an automation rule.
//
//   {"id": "OPS-7", "title": "Renew the TLS certificate", "url": "https://…",
//    "assignee": "mina@example.com", "reporter": "U0123ABCD", "status": "open",
//    "due": "2026-01-09", "event": "assigned", "actor": "jules@example.com",
//    "comment": "…"}

const EVENTS = ["assigned", "commented", "status", "updated"];

function genericPerson(v) {
  if (v === null || v === undefined || v === "") return null;
  if (typeof v === "object") {
    const ids = [v.id, v.email, v.login, v.slack].filter(Boolean).map(String);
    return ids.length ? { ids, name: text(v.name) || ids[0] } : null;
  }
  return { ids: [String(v)], name: String(v) };
}

export function readGeneric(body) {
  if (!body || typeof body !== "object" || Array.isArray(body)) throw new BadDelivery("the body is not a JSON object");
  const key = text(body.id).trim();
  if (!key) throw new BadDelivery("`id` is missing: every delivery names its task");
  const event = text(body.event || "updated").toLowerCase();
  if (!EVENTS.includes(event)) throw new BadDelivery(`\`event\` is "${event}"; it is one of ${EVENTS.join(", ")}`);
  if (body.due && !/^\d{4}-\d{2}-\d{2}/.test(text(body.due))) throw new BadDelivery(`\`due\` is "${body.due}"; it is a date, YYYY-MM-DD`);
  const task = {};
  if ("title" in body) task.title = text(body.title);
  if ("url" in body) task.url = text(body.url);
  if ("status" in body) {
    task.status = text(body.status);
    task.done = typeof body.done === "boolean" ? body.done : doneStatus(task.status);
  } else if (typeof body.done === "boolean") task.done = body.done;
  if ("assignee" in body) task.assignee = genericPerson(body.assignee);
  if ("reporter" in body) task.reporter = genericPerson(body.reporter);
  if ("due" in body) task.due = body.due ? text(body.due).slice(0, 10) : null;
  if ("priority" in body) task.priority = body.priority ? text(body.priority) : null;
  const out = { key, task, actor: genericPerson(body.actor), events: [] };
  if (event === "assigned") out.events.push({ kind: "assigned" });
  if (event === "commented") out.events.push({ kind: "commented", text: text(body.comment) });
  if (event === "status") out.events.push({ kind: "status", from: text(body.from), to: text(body.status) });
  return out;
}

/** Whether a status name means done (setting `done_statuses`). */
export function doneStatus(name) {
  const list = (settings.get("done_statuses") ?? "")
    .split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  return list.includes(text(name).trim().toLowerCase());
}
