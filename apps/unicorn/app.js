// 🦄 unicorn: thank people with unicorns — by a :unicorn_face: reaction, by
// `/unicorn @bob for the migration`, or by the "Give a unicorn" message
// shortcut — within a daily budget, with leaderboards, and a small project
// tracker whose updates collect unicorns for the project. See README.md.

import { App, reply, slack, store } from "botyard";

import { boardText, parseBoard } from "./lib/boards.js";
import { budgetOf, emoji, give, leftText, takeBack, whenBack } from "./lib/gifts.js";
import { parseGive } from "./lib/parse.js";
import { periods } from "./lib/time.js";
import { board, newProject, postUpdate, resolveTick, setStatus, updateAt } from "./lib/projects.js";
import { groupByHandle, groupMembers, resolveName, UserError } from "./lib/users.js";

const app = new App("unicorn", "Give people unicorns: a daily budget, leaderboards, and a project tracker");

app.setting("channel", "Where every unicorn is announced", { default: "#general" });
app.setting("budget", "How many unicorns each person may give per day (their day, in their Slack time zone)", { default: 5 });
app.setting("emoji", "The reaction that gives a unicorn, without colons", { default: "unicorn_face" });

const help = () => [
  "🦄 *Unicorns* — thank people for great work.",
  "• `/unicorn @bob for the migration` — give a unicorn (several people: `/unicorn @bob @carol for …`)",
  `• React with :${emoji()}: on a message, or use the *Give a unicorn* message shortcut`,
  "• `/unicorn leaderboard [received|given] [week|month|all]` — who got and gave the most",
  "• `/unicorn me` — your unicorns, and what you have left today",
  "• `/unicorn project new \"checkout v2\" #checkout` — track a project",
  "• `/unicorn project status checkout-v2 in progress` — planned, in progress or shipped",
  "• `/unicorn project update checkout-v2 what happened` — unicorns on the update count for the project",
  "• `/unicorn projects` — the projects board",
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

app.command("/unicorn", { description: "Give a unicorn, see the leaderboard, track projects", usage: "@person [for reason] | leaderboard | me | project … | projects | help" },
  answering(({ text, context }) => {
    const user = context.userId;
    const [word = "", ...rest] = text.trim().split(/\s+/).filter(Boolean);
    const after = text.trim().slice(word.length).trim();
    switch (word.toLowerCase()) {
      case "":
      case "help":
        return reply.ephemeral(`${help()}\n${budgetLine(user)}`);
      case "leaderboard":
      case "leaderboards":
      case "top":
      case "lb":
      case "board": {
        const which = parseBoard(rest);
        if (!which) return reply.ephemeral("Usage: `/unicorn leaderboard [received|given] [week|month|all]`");
        return reply.ephemeral(boardText(which.kind, which.period, budgetOf(user).tz, user));
      }
      case "me":
      case "stats":
      case "budget":
        return reply.ephemeral(stats(user));
      case "projects":
        return reply.ephemeral(board());
      case "project":
        return reply.ephemeral(projectCommand(user, after, context.channelId));
      default:
        return reply.ephemeral(giveByCommand(user, text, context.channelId));
    }
  }));

function budgetLine(user) {
  const b = budgetOf(user);
  return b.left > 0
    ? `You have ${b.left} of your ${b.limit} unicorns left today.`
    : `You have no unicorns left today — your ${b.limit} come back at ${whenBack(b.tz, b.now)}.`;
}

function stats(user) {
  const b = budgetOf(user);
  const { week, month } = periodsNow(b);
  const n = (key) => Number(store.get(key) ?? 0);
  return [
    `🦄 You have received *${n(`recv/all/${user}`)}* ${n(`recv/all/${user}`) === 1 ? "unicorn" : "unicorns"} (${n(`recv/w/${week}/${user}`)} this week, ${n(`recv/m/${month}/${user}`)} this month)`,
    `and given *${n(`given/all/${user}`)}* (${n(`given/w/${week}/${user}`)} this week, ${n(`given/m/${month}/${user}`)} this month).`,
    budgetLine(user),
  ].join("\n");
}

const periodsNow = (b) => periods(b.tz, b.now);

function projectCommand(user, text, here) {
  const [word = ""] = text.split(/\s+/).filter(Boolean);
  const after = text.slice(word.length).trim();
  switch (word.toLowerCase()) {
    case "new":
    case "create":
    case "add":
      return newProject(user, after, here);
    case "status":
      return setStatus(user, after);
    case "update":
    case "post":
      return postUpdate(user, after);
    case "":
    case "list":
    case "board":
      return board();
    default:
      throw new UserError(`There is no \`/unicorn project ${word}\`. Try \`/unicorn project new "checkout v2" #checkout\`, ` +
        "`/unicorn project status checkout-v2 shipped`, `/unicorn project update checkout-v2 what happened` or `/unicorn projects`.");
  }
}

function giveByCommand(user, text, channel) {
  const { people, reason } = parseGive(text);
  if (people.length === 0) {
    throw new UserError(`I didn't understand \`/unicorn ${text}\`. To give one: \`/unicorn @bob for the migration\`.\n${help()}`);
  }
  const to = people.flatMap((p) => {
    if (p.id) return [p.id];
    if (p.group) return groupMembers(p.group, user);
    try {
      return [resolveName(p.name, channel)];
    } catch (e) {
      // Not a person: perhaps a user group (`@sre-oncall`), whose members each get one.
      const group = e instanceof UserError ? groupByHandle(p.name) : null;
      if (!group) throw e;
      return groupMembers(group, user);
    }
  });
  const done = give({ giver: user, to, reason, via: "command" });
  const who = done.to.map((id) => `<@${id}>`).join(", ");
  return `🦄 Unicorn${done.to.length > 1 ? "s" : ""} sent to ${who}! ${leftText(done.left, done.limit, done.tz, done.now)}`;
}

// A unicorn for a message, by reaction or shortcut: to its author, and to
// its project when it is a project update. The giver hears back ephemerally.
function giveForMessage(giver, message, author, via) {
  try {
    const update = updateAt(message);
    const to = update ? update.author : author;
    if (!to) throw new UserError("That message has no author I can give a unicorn to.");
    const project = update ? projectRef(update.project) : null;
    const done = give({ giver, to: [to], message, project, via });
    const forProject = project ? ` (it counts for *${project.name}*)` : "";
    slack.postEphemeral(message.channel, giver,
      `🦄 Unicorn sent to <@${to}>${forProject}! ${leftText(done.left, done.limit, done.tz, done.now)}`);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    slack.postEphemeral(message.channel, giver, e.message);
  }
}

function projectRef(slug) {
  const p = store.getJson(`project/${slug}`);
  return p ? { slug: p.slug, name: p.name } : null;
}

const isUnicorn = (reaction) => reaction.split("::")[0] === emoji();

app.event("reaction_added", ({ data }) => {
  if (!isUnicorn(data.reaction ?? "") || data.item?.type !== "message") return;
  giveForMessage(data.user, { channel: data.item.channel, ts: data.item.ts }, data.item_user ?? "", "reaction");
});

app.event("reaction_removed", ({ data }) => {
  if (!isUnicorn(data.reaction ?? "") || data.item?.type !== "message") return;
  const message = { channel: data.item.channel, ts: data.item.ts };
  const taken = takeBack(data.user, message);
  if (taken) {
    slack.postEphemeral(message.channel, data.user,
      `You took back your unicorn for <@${taken.to[0]}>. ${budgetLine(data.user)}`);
  }
});

app.shortcut("give_unicorn", { name: "Give a unicorn", kind: "message", description: "Thank the author of this message with a unicorn" },
  ({ message, context }) => {
    giveForMessage(context.userId, message.target, message.user, "shortcut");
  });

app.tick("resolve:*", ({ name }) => resolveTick(name));

// What people say to `@botyard` for these (English and Korean). Giving is
// offered with a button; the boards just read.
app.phrase("/unicorn {user} [for {reason}]", {
  aliases: ["unicorn", "give a unicorn", "kudos", "thanks", "thank", "유니콘", "고마워", "고맙", "칭찬"],
  examples: ["give {user} a unicorn for {reason}", "kudos to {user} for {reason}", "{user}에게 유니콘 주기"],
  slots: { user: "user", reason: { kind: "text", optional: true } },
});
app.phrase("/unicorn leaderboard {direction} {period}", {
  aliases: ["leaderboard", "ranking", "most unicorns", "who has the most", "순위", "랭킹"],
  examples: ["unicorn leaderboard for the {period}", "who gave the most unicorns", "유니콘 순위"],
  slots: {
    direction: { choice: { received: ["received", "got", "받은"], given: ["given", "gave", "준"] }, default: "received" },
    period: { choice: { week: ["week", "weekly", "주"], month: ["month", "monthly", "달", "월"], all: ["all", "ever", "전체"] }, default: "week" },
  },
  readOnly: true,
});
app.phrase("/unicorn me", {
  aliases: ["my unicorns", "how many unicorns do i have", "내 유니콘"],
  readOnly: true,
});

export default app;
