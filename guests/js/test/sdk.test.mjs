// The SDK under Node.js, against fake host imports (./host): registration,
// routing, the `describe` derived from it, answers, Block Kit builders and
// the capability wrappers. tests/js.rs runs it (`cargo test --test suite js::`), and
// proves the same things end to end through built components.
//
//   node --import ./guests/js/test/register.mjs --test guests/js/test/sdk.test.mjs

import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";

import {
  App, HttpError, actions, button, channelsSelect, checkboxes, clock, componentExports, conversationsSelect,
  datepicker, fetch, formValues, home, input, knownZone, log, message, offsetMinutes, modal, modalResponse, multiStaticSelect,
  multiUsersSelect, option, plainTextInput, radioButtons, reply, schedule, section, settings, slack,
  staticSelect, store, timepicker, usersSelect,
} from "../botyard.js";
import { answers, calls, reset } from "./host/calls.mjs";

beforeEach(reset);

const context = { userId: "U1", channelId: "C1", triggerId: null };
const command = (cmd, text = "", subcommand = null) => ({ command: cmd, subcommand, text, context });
const click = (actionId) => ({ actionId, blockId: null, value: null, message: null, context });
const submit = (callbackId) => ({ callbackId, viewId: "V1", values: "{}", privateMetadata: "", context });
const event = (eventType, payload) => ({ eventType, eventId: "Ev1", payload: JSON.stringify(payload) });
const shortcutRequest = (callbackId) => ({ callbackId, kind: "global", message: null, context });

// What a handler export's function throws: its `err` result, a string.
function err(fn) {
  try {
    fn();
  } catch (e) {
    assert.equal(typeof e, "string", `handlers throw their error as a string for the WIT: ${e}`);
    return e;
  }
  assert.fail("expected an error");
}

// The line of this file a registration on it was made from, as the SDK reports it.
function lineOf(text) {
  const m = new RegExp(`sdk\\.test\\.mjs:(\\d+):\\d+`).exec(text);
  return m ? Number(m[1]) : undefined;
}

describe("describe is derived from the registrations", () => {
  test("commands, subcommands, events, closed views and schedules", () => {
    const app = new App("hello", "Greets you")
      .command("/hello", { description: "Say hello", usage: "[name]" }, () => {})
      .command("/bye", "Say bye", () => {})
      .command("/plain", () => {})
      .command("/spy status", "Queue status", () => {})
      .command("/spy  stores", { usage: "[shop]" }, () => {})
      .event("app_mention", () => {})
      .event("reaction_added", () => {})
      .viewClosed("order", () => {})
      .viewClosed("poll:*", () => {})
      .schedule("menu", "0 11 * * 1-5", () => {})
      .schedule("nightly", " 0 0 3 * * * ", () => {})
      .tick("close:*", () => {})
      .action("count", () => {})
      .view("order", () => {});

    assert.deepEqual(app.handler.describe(), {
      name: "hello",
      description: "Greets you",
      commands: [
        { name: "/hello", description: "Say hello", usage: "[name]" },
        { name: "/bye", description: "Say bye", usage: "" },
        { name: "/plain", description: "", usage: "" },
      ],
      subcommands: [
        { umbrella: "/spy", name: "status", description: "Queue status", usage: "" },
        { umbrella: "/spy", name: "stores", description: "", usage: "[shop]" },
      ],
      events: ["app_mention", "reaction_added", "view_closed"],
      schedules: [{ name: "menu", cron: "0 11 * * 1-5" }, { name: "nightly", cron: "0 0 3 * * *" }],
    });
  });

  test("an app with no registrations answers to nothing", () => {
    assert.deepEqual(new App("quiet").handler.describe(), {
      name: "quiet", description: "", commands: [], subcommands: [], events: [], schedules: [],
    });
    assert.deepEqual(new App("quiet").shortcuts.describeShortcuts(), []);
  });

  test("shortcuts, global by default", () => {
    const app = new App("help")
      .shortcut("triage", { name: "Send to a team", description: "To a -help channel", kind: "message" }, () => {})
      .shortcut("new-poll", { name: "New poll" }, () => {});
    assert.deepEqual(app.shortcuts.describeShortcuts(), [
      { callbackId: "triage", kind: "message", name: "Send to a team", description: "To a -help channel" },
      { callbackId: "new-poll", kind: "global", name: "New poll", description: "" },
    ]);
    // Shortcuts are not part of app-info.
    assert.deepEqual(Object.keys(app.handler.describe()),
      ["name", "description", "commands", "subcommands", "events", "schedules"]);
  });

  test("what describe returns is a copy: changing it changes nothing", () => {
    const app = new App("x").command("/x", "X", () => {});
    app.handler.describe().commands[0].name = "/y";
    assert.equal(app.handler.describe().commands[0].name, "/x");
  });
});

describe("routing", () => {
  test("an exact id wins over a prefix, and the longest prefix over a shorter one", () => {
    const app = new App("poll");
    const got = (route) => ({ actionId }) => `${route} ${actionId}`;
    app.action("*", got("*"))
      .action("vote:*", got("vote:*"))
      .action("vote:long:*", got("vote:long:*"))
      .action("vote:long:exact", got("exact"))
      .action("vote:", got("bare"));
    const answer = (id) => app.handler.onAction(click(id)).val.message.text;
    assert.equal(answer("vote:1"), "vote:* vote:1");
    assert.equal(answer("vote:long:2"), "vote:long:* vote:long:2");
    assert.equal(answer("vote:long:exact"), "exact vote:long:exact");
    assert.equal(answer("vote:"), "bare vote:");
    assert.equal(answer("vote"), "* vote");
    assert.equal(answer(""), "* ");
  });

  test("registration order does not matter", () => {
    const app = new App("poll")
      .action("vote:long:*", () => "long")
      .action("vote:*", () => "short");
    assert.equal(app.handler.onAction(click("vote:long:x")).val.message.text, "long");
    assert.equal(app.handler.onAction(click("vote:x")).val.message.text, "short");
  });

  test("commands and subcommands reach their own handlers", () => {
    const app = new App("spy")
      .command("/spy", ({ text }) => `top ${text}`)
      .command("/spy status", ({ text, subcommand }) => `status(${subcommand}) ${text}`);
    assert.equal(app.handler.onCommand(command("/spy", "x")).message.text, "top x");
    assert.equal(app.handler.onCommand(command("/spy", "chat", "status")).message.text, "status(status) chat");
  });

  test("an area's verbs are subcommands of several words", () => {
    const app = new App("servers")
      .command("/spy servers  stop", { usage: "<name>" }, ({ text, subcommand }) => `${subcommand}: ${text}`)
      .command("/spy servers list", () => "list");
    assert.deepEqual(app.handler.describe().subcommands.map((s) => s.name), ["servers stop", "servers list"]);
    assert.equal(app.handler.onCommand(command("/spy", "web-1 east", "servers stop")).message.text, "servers stop: web-1 east");
    assert.throws(() => new App("x").command("/spy a b c d", () => {}), /up to 3 words/);
  });

  test("views, closed views, events, schedules, ticks and shortcuts", () => {
    const seen = [];
    const app = new App("all")
      .view("order:*", ({ callbackId }) => modalResponse.errors({ b: callbackId }))
      .viewClosed("order:*", (closed) => seen.push(["closed", closed]))
      .event("app_mention", ({ eventType, data }) => seen.push([eventType, data.text]))
      .schedule("menu", "0 11 * * 1-5", ({ name, dueMs }) => seen.push(["schedule", name, dueMs]))
      .tick("close:*", ({ name }) => seen.push(["tick", name]))
      .shortcut("triage", { name: "Triage", kind: "message" }, ({ callbackId, message: m }) =>
        seen.push(["shortcut", callbackId, m.target.ts]));

    assert.deepEqual(app.handler.onViewSubmission(submit("order:7")),
      { tag: "errors", val: [{ blockId: "b", message: "order:7" }] });
    app.handler.onEvent(event("view_closed", {
      user_id: "U2", view_id: "V9", callback_id: "order:7", private_metadata: "m",
      values: { b: { a: { type: "plain_text_input", value: "typed" } } }, is_cleared: true,
    }));
    app.handler.onEvent(event("app_mention", { text: "hi" }));
    app.handler.onTick({ name: "menu", dueMs: 42n });
    app.handler.onTick({ name: "close:poll-1", dueMs: 43 });
    app.shortcuts.onShortcut({
      ...shortcutRequest("triage"), kind: "message",
      message: { target: { channel: "C1", ts: "1.5" }, user: "U3", text: "help" },
    });

    const [closed, ...rest] = seen;
    assert.deepEqual(closed, ["closed", {
      callbackId: "order:7", viewId: "V9", privateMetadata: "m", isCleared: true,
      values: JSON.stringify({ b: { a: { type: "plain_text_input", value: "typed" } } }),
      context: { userId: "U2", channelId: "", triggerId: null },
    }]);
    assert.deepEqual(formValues(closed[1]), { b: { a: "typed" } });
    assert.deepEqual(rest, [
      ["app_mention", "hi"],
      ["schedule", "menu", 42],
      ["tick", "close:poll-1"],
      ["shortcut", "triage", "1.5"],
    ]);
  });

  test("a request with no handler is an error that names it", () => {
    const app = new App("hello")
      .command("/hello", () => "hi")
      .command("/spy status", () => "ok")
      .action("vote:*", () => {})
      .schedule("menu", "0 11 * * *", () => {});
    const h = app.handler;
    assert.equal(err(() => h.onCommand(command("/nope"))), "app `hello` has no handler for command `/nope`");
    assert.equal(err(() => h.onCommand(command("/spy", "", "stores"))),
      "app `hello` has no handler for command `/spy stores`");
    // `/hello` exists, but not as an umbrella.
    assert.equal(err(() => h.onCommand(command("/hello", "", "x"))),
      "app `hello` has no handler for command `/hello x`");
    assert.equal(err(() => h.onAction(click("colour"))), "app `hello` has no handler for action `colour`");
    assert.equal(err(() => h.onAction(click("vote"))), "app `hello` has no handler for action `vote`");
    assert.equal(err(() => h.onViewSubmission(submit("order"))), "app `hello` has no handler for view `order`");
    assert.equal(err(() => h.onEvent(event("view_closed", { callback_id: "order" }))),
      "app `hello` has no handler for view_closed `order`");
    assert.equal(err(() => h.onEvent(event("app_mention", {}))), "app `hello` has no handler for event `app_mention`");
    assert.equal(err(() => h.onTick({ name: "later", dueMs: 1 })), "app `hello` has no handler for tick `later`");
    assert.equal(err(() => app.shortcuts.onShortcut(shortcutRequest("triage"))),
      "app `hello` has no handler for shortcut `triage`");
  });

  test("the same id under different kinds is no clash", () => {
    const app = new App("x")
      .action("order", () => "action")
      .view("order", () => modalResponse.clear())
      .viewClosed("order", () => {})
      .tick("order", () => {})
      .shortcut("order", { name: "Order" }, () => {});
    assert.doesNotThrow(() => app.handler.describe());
    assert.equal(app.handler.onAction(click("order")).val.message.text, "action");
    assert.deepEqual(app.handler.onViewSubmission(submit("order")), { tag: "clear" });
  });
});

describe("duplicate registrations", () => {
  test("make describe fail, naming each and where both were made", () => {
    const app = new App("dup");
    app.command("/dup", () => {});
    app.command("/dup", "again", () => {});
    app.command("/spy status", () => {});
    app.command("/spy   status", () => {});
    app.action("vote:*", () => {});
    app.action("vote:*", () => {});
    app.action("vote", () => {});
    app.view("order", () => {});
    app.view("order", () => {});
    app.viewClosed("order", () => {});
    app.viewClosed("order", () => {});
    app.event("app_mention", () => {});
    app.event("app_mention", () => {});
    app.schedule("menu", "0 11 * * *", () => {});
    app.tick("menu", () => {});
    app.shortcut("triage", { name: "Triage" }, () => {});
    app.shortcut("triage", { name: "Other" }, () => {});
    app.webhook("github", "Pushes", () => {});
    app.webhook("github", () => {});
    app.setting("channel", "Where");
    app.setting("channel", { default: "#x" });

    assert.throws(() => app.handler.describe(), Error);
    const text = captured(() => app.handler.describe());
    const clauses = text.split("; ");
    assert.deepEqual(clauses.map((c) => c.replace(/ \(.*\)$/, "")), [
      "app `dup` registers command `/dup` twice",
      "app `dup` registers command `/spy status` twice",
      "app `dup` registers action `vote:*` twice",
      "app `dup` registers view `order` twice",
      "app `dup` registers view_closed `order` twice",
      "app `dup` registers event `app_mention` twice",
      "app `dup` registers tick `menu` twice",
      "app `dup` registers shortcut `triage` twice",
      "app `dup` registers webhook `github` twice",
      "app `dup` registers setting `channel` twice",
    ]);
    // Each names the two registrations' places in this file, in order.
    for (const clause of clauses) {
      const [, first, second] = /\((\S+) and (\S+)\)$/.exec(clause);
      assert.ok(lineOf(first) < lineOf(second), clause);
    }
    assert.throws(() => app.shortcuts.describeShortcuts(), /registers shortcut `triage` twice/);
    assert.throws(() => app.webhooks.describeWebhooks(), /registers webhook `github` twice/);
    assert.throws(() => app.settingsSchema.describeSettings(), /registers setting `channel` twice/);
    // The second shortcut is not offered as well.
    assert.equal(err(() => app.shortcuts.onShortcut(shortcutRequest("nope"))),
      "app `dup` has no handler for shortcut `nope`");
  });

  test("make the build fail, one line per duplicate at the second registration", () => {
    const app = new App("dup");
    app.action("count", () => {});
    app.action("count", () => {});
    const text = captured(() => componentExports({ default: app }, "app.js", ["handler"]));
    const [line] = text.split("\n");
    const m = /^(\S+): error: app `dup` registers action `count` twice; the first is at (\S+)$/.exec(line);
    assert.ok(m, text);
    assert.equal(lineOf(m[1]), lineOf(m[2]) + 1);
  });
});

function captured(fn) {
  try {
    fn();
  } catch (e) {
    return e instanceof Error ? e.message : e;
  }
  assert.fail("expected an error");
}

describe("the component's exports", () => {
  test("come from the module's default export", () => {
    const app = new App("hello").command("/hello", () => "hi");
    const all = ["handler", "shortcuts", "webhooks", "settingsSchema"];
    const exports = componentExports({ default: app }, "app.js", all);
    assert.deepEqual(Object.keys(exports), all);
    assert.equal(exports.handler.onCommand(command("/hello")).message.text, "hi");
    assert.deepEqual(exports.shortcuts.describeShortcuts(), []);
    assert.deepEqual(exports.webhooks.describeWebhooks(), []);
    assert.deepEqual(exports.settingsSchema.describeSettings(), []);
  });

  test("a module without an App as its default export is told how to write one", () => {
    for (const [module, why] of [
      [{}, "app.js: error: it has no default export"],
      [{ handler: {} }, "app.js: error: it exports `handler`, the style before App"],
      [{ default: { command() {} } }, "app.js: error: its default export is a plain object, not an App"],
      [{ default: () => {} }, "app.js: error: its default export is a function (default), not an App"],
    ]) {
      const text = captured(() => componentExports(module, "app.js", ["handler"]));
      assert.equal(typeof text, "string");
      assert.ok(text.startsWith(why), text);
      assert.ok(text.includes("export default app"), text);
    }
  });

  test("an interface the SDK does not implement is named", () => {
    const text = captured(() => componentExports({ default: new App("x") }, "app.js", ["telepathy"]));
    assert.match(text, /implements no `telepathy` export/);
  });
});

describe("registration arguments are checked where they are written", () => {
  const cases = [
    [() => new App("Hello"), /the name must be a short name of \[a-z0-9-\], got "Hello"/],
    [() => new App("x", 3), /the description must be a string/],
    [() => new App("x").command("hello", () => {}), /a command is "\/name", or "\/umbrella sub"/],
    [() => new App("x").command("/a b c d e", () => {}), /a command is "\/name"/],
    [() => new App("x").command("/a", "A"), /app.command\("\/a"\): the handler \(the last argument\) must be a function/],
    [() => new App("x").command("/a", { descripton: "A" }, () => {}), /unknown option `descripton`/],
    [() => new App("x").action("", () => {}), /non-empty string/],
    [() => new App("x").action("a*b", () => {}), /"\*" may only end an id/],
    [() => new App("x").view("v"), /app.view\("v"\): the handler/],
    [() => new App("x").event("view_closed", () => {}), /app.viewClosed/],
    [() => new App("x").event("app_*", () => {}), /one Events API type/],
    [() => new App("x").schedule("m", "0 11 * *", () => {}), /cron must have five fields/],
    [() => new App("x").schedule("m:*", "0 11 * * *", () => {}), /plain string/],
    [() => new App("x").shortcut("tri*", { name: "T" }, () => {}), /\[a-z0-9_-\].*no "\*"/],
    [() => new App("x").shortcut("t", "Triage", () => {}), /\{ name, description\?, kind\? \}/],
    [() => new App("x").shortcut("t", { name: "x".repeat(25) }, () => {}), /1 to 24 characters/],
    [() => new App("x").shortcut("t", { name: "T", description: "x".repeat(151) }, () => {}), /150/],
    [() => new App("x").shortcut("t", { name: "T", kind: "menu" }, () => {}), /"global" or "message"/],
    [() => new App("x").shortcut("t", { name: "T", type: "global" }, () => {}), /unknown option `type`/],
    [() => new App("x").webhook("Git Hub", "x", () => {}), /\[a-z0-9_-\], got "Git Hub"/],
    [() => new App("x").webhook("hooks*", "x", () => {}), /\[a-z0-9_-\]/],
    [() => new App("x").webhook("github", "x"), /app.webhook\("github"\): the handler/],
    [() => new App("x").webhook("github", 3, () => {}), /the description is a string/],
    [() => new App("x").setting("a b", "x"), /\[A-Za-z0-9_-\], got "a b"/],
    [() => new App("x").setting("c", "x", { defualt: "#x" }), /unknown option `defualt`/],
    [() => new App("x").setting("c", "x", { required: "yes" }), /required is true or false/],
  ];
  for (const [fn, expected] of cases) {
    test(String(expected), () => assert.throws(fn, expected));
  }
});

describe("answers", () => {
  const app = new App("answers")
    .command("/a", ({ text }) => ({
      string: "just text",
      ephemeral: reply.ephemeral("e", [section("s")]),
      channel: reply.inChannel("c"),
      nothing: undefined,
      update: reply.update("u"),
      odd: { what: 1 },
    })[text])
    .command("/async", async () => "later")
    .command("/throws", () => {
      throw new Error("no poll is open");
    })
    .command("/throws-string", () => {
      throw "plain";
    })
    .action("a", ({ value }) => ({ update: reply.update("u", "[]"), string: "s", none: null })[value])
    .view("v", ({ privateMetadata }) => ({
      none: undefined, close: modalResponse.close(), push: modalResponse.push(modal("T", [])),
      update: modalResponse.update("{}"), text: "thanks", reply: reply.update("u"),
    })[privateMetadata]);

  test("to a command", () => {
    const h = app.handler;
    assert.deepEqual(h.onCommand(command("/a", "string")),
      { visibility: "ephemeral", message: { text: "just text", blocks: null } });
    assert.deepEqual(h.onCommand(command("/a", "ephemeral")), {
      visibility: "ephemeral",
      message: { text: "e", blocks: JSON.stringify([{ type: "section", text: { type: "mrkdwn", text: "s" } }]) },
    });
    assert.deepEqual(h.onCommand(command("/a", "channel")),
      { visibility: "in-channel", message: { text: "c", blocks: null } });
    assert.equal(h.onCommand(command("/a", "nothing")), null);
    assert.match(err(() => h.onCommand(command("/a", "update"))), /^reply.update\(…\) answers a click \(app.action\)/);
    assert.match(err(() => h.onCommand(command("/a", "odd"))), /^cannot answer with \{"what":1\}/);
    assert.match(err(() => h.onCommand(command("/async"))), /^handlers are synchronous/);
    assert.equal(err(() => h.onCommand(command("/throws"))), "no poll is open");
    assert.equal(err(() => h.onCommand(command("/throws-string"))), "plain");
  });

  test("to a click", () => {
    const h = app.handler;
    const withValue = (value) => ({ ...click("a"), value });
    assert.deepEqual(h.onAction(withValue("update")), { tag: "update", val: { text: "u", blocks: "[]" } });
    assert.deepEqual(h.onAction(withValue("string")),
      { tag: "reply", val: { visibility: "ephemeral", message: { text: "s", blocks: null } } });
    assert.deepEqual(h.onAction(withValue("none")), { tag: "none" });
  });

  test("to a modal submission", () => {
    const h = app.handler;
    const withMeta = (privateMetadata) => ({ ...submit("v"), privateMetadata });
    assert.deepEqual(h.onViewSubmission(withMeta("none")), { tag: "close" });
    assert.deepEqual(h.onViewSubmission(withMeta("close")), { tag: "close" });
    assert.deepEqual(h.onViewSubmission(withMeta("push")),
      { tag: "push", val: JSON.stringify({ type: "modal", title: { type: "plain_text", text: "T" }, blocks: [] }) });
    assert.deepEqual(h.onViewSubmission(withMeta("update")), { tag: "update", val: "{}" });
    assert.match(err(() => h.onViewSubmission(withMeta("text"))), /^cannot answer a modal submission with "thanks"/);
    assert.match(err(() => h.onViewSubmission(withMeta("reply"))), /^cannot answer a modal submission/);
  });

  test("messages and form values", () => {
    assert.deepEqual(message("t"), { text: "t", blocks: null });
    assert.deepEqual(message("t", "[]"), { text: "t", blocks: "[]" });
    assert.throws(() => message(3), /a message needs text/);
    assert.deepEqual(modalResponse.errors({ a: "A", b: "B" }),
      { tag: "errors", val: [{ blockId: "a", message: "A" }, { blockId: "b", message: "B" }] });
    const values = {
      t: { name: { type: "plain_text_input", value: "Ada" } },
      s: { pick: { type: "static_select", selected_option: { value: "b" } }, none: { selected_option: null } },
      m: { many: { selected_options: [{ value: "x" }, { value: "y" }] } },
      u: { who: { selected_user: "U9" }, day: { selected_date: "2025-06-01" }, at: { selected_time: "10:30" } },
    };
    assert.deepEqual(formValues({ values: JSON.stringify(values) }), {
      t: { name: "Ada" },
      s: { pick: "b", none: null },
      m: { many: ["x", "y"] },
      u: { who: "U9", day: "2025-06-01", at: "10:30" },
    });
  });
});

describe("Block Kit builders: Slack's type in camelCase, visible text first, then the id", () => {
  const plain = (text) => ({ type: "plain_text", text });
  const opts = [option("A", "a"), "b"];
  const options = [{ text: plain("A"), value: "a" }, { text: plain("b"), value: "b" }];

  test("selects and pickers", () => {
    assert.deepEqual(staticSelect("Pick one", "city", opts, { initial: "a" }), {
      type: "static_select", action_id: "city", options, placeholder: plain("Pick one"), initial_option: options[0],
    });
    assert.deepEqual(multiStaticSelect("Pick some", "cities", opts, { initial: ["b"], maxSelected: 2 }), {
      type: "multi_static_select", action_id: "cities", options, placeholder: plain("Pick some"),
      initial_options: [options[1]], max_selected_items: 2,
    });
    assert.deepEqual(usersSelect("Someone", "who", { initial: "U1" }),
      { type: "users_select", action_id: "who", placeholder: plain("Someone"), initial_user: "U1" });
    assert.deepEqual(multiUsersSelect("People", "whom", { initial: ["U1"], maxSelected: 3 }), {
      type: "multi_users_select", action_id: "whom", placeholder: plain("People"), initial_users: ["U1"],
      max_selected_items: 3,
    });
    assert.deepEqual(channelsSelect("Where", "where", { initial: "C1" }),
      { type: "channels_select", action_id: "where", placeholder: plain("Where"), initial_channel: "C1" });
    assert.deepEqual(conversationsSelect("Where", "conv", { initial: "D1", defaultToCurrent: true }), {
      type: "conversations_select", action_id: "conv", placeholder: plain("Where"), initial_conversation: "D1",
      default_to_current_conversation: true,
    });
    assert.deepEqual(datepicker("When", "day", { initial: "2025-06-01" }),
      { type: "datepicker", action_id: "day", placeholder: plain("When"), initial_date: "2025-06-01" });
    assert.deepEqual(timepicker("At", "time", { initial: "10:30" }),
      { type: "timepicker", action_id: "time", placeholder: plain("At"), initial_time: "10:30" });
    assert.deepEqual(plainTextInput("Ada", "name", { multiline: true, initial: "x", minLength: 1, maxLength: 9 }), {
      type: "plain_text_input", action_id: "name", multiline: true, placeholder: plain("Ada"), initial_value: "x",
      min_length: 1, max_length: 9,
    });
    assert.deepEqual(checkboxes("toppings", opts, { initial: ["a"] }),
      { type: "checkboxes", action_id: "toppings", options, initial_options: [options[0]] });
    assert.deepEqual(radioButtons("size", opts, { initial: "b" }),
      { type: "radio_buttons", action_id: "size", options, initial_option: options[1] });
  });

  test("the placeholder may be left out, or be null", () => {
    assert.deepEqual(staticSelect("city", opts), { type: "static_select", action_id: "city", options });
    assert.deepEqual(staticSelect("city", opts, { initial: "b" }),
      { type: "static_select", action_id: "city", options, initial_option: options[1] });
    assert.deepEqual(multiStaticSelect("cities", opts), { type: "multi_static_select", action_id: "cities", options });
    assert.deepEqual(usersSelect("who"), { type: "users_select", action_id: "who" });
    assert.deepEqual(multiUsersSelect("whom"), { type: "multi_users_select", action_id: "whom" });
    assert.deepEqual(channelsSelect("where", { initial: "C1" }),
      { type: "channels_select", action_id: "where", initial_channel: "C1" });
    assert.deepEqual(conversationsSelect("conv"), { type: "conversations_select", action_id: "conv" });
    assert.deepEqual(datepicker("day", { initial: "2025-06-01" }),
      { type: "datepicker", action_id: "day", initial_date: "2025-06-01" });
    assert.deepEqual(datepicker(null, "day"), { type: "datepicker", action_id: "day" });
    assert.deepEqual(timepicker("time"), { type: "timepicker", action_id: "time" });
    assert.deepEqual(plainTextInput("name", { multiline: true }),
      { type: "plain_text_input", action_id: "name", multiline: true });
  });

  test("buttons, inputs, views", () => {
    assert.deepEqual(button("Click me", "count", { value: "U1", style: "danger", url: "https://x" }), {
      type: "button", action_id: "count", text: plain("Click me"), value: "U1", style: "danger", url: "https://x",
    });
    assert.deepEqual(input("Title", plainTextInput("t"), { blockId: "b", optional: true, hint: "h", dispatchAction: true }), {
      type: "input", label: plain("Title"), element: { type: "plain_text_input", action_id: "t" },
      block_id: "b", optional: true, hint: plain("h"), dispatch_action: true,
    });
    assert.deepEqual(actions(button("A", "a")).elements.length, 1);
    assert.deepEqual(modal("Order", [], {
      callbackId: "order", submit: "Send", close: "Cancel", privateMetadata: "", notifyOnClose: true, clearOnClose: true,
    }), {
      type: "modal", title: plain("Order"), blocks: [], submit: plain("Send"), close: plain("Cancel"),
      callback_id: "order", private_metadata: "", notify_on_close: true, clear_on_close: true,
    });
    assert.deepEqual(home([section("hi")], { privateMetadata: "p" }),
      { type: "home", blocks: [{ type: "section", text: { type: "mrkdwn", text: "hi" } }], private_metadata: "p" });
  });

  test("mistakes are named", () => {
    assert.throws(() => staticSelect("Pick", "city", opts, { placeholder: "x" }),
      /staticSelect city: unknown option `placeholder`; it takes initial/);
    assert.throws(() => staticSelect("city", opts, { initial: "z" }), /staticSelect city: no option has the value "z"/);
    assert.throws(() => staticSelect("Pick", "city", "a,b"), /the options are an array/);
    assert.throws(() => button("Go", "go", { style: "green" }), /style is "primary" or "danger"/);
    assert.throws(() => button("Go", ""), /button: the action id must be a non-empty string/);
    assert.throws(() => usersSelect({ initial: "U1" }), /the action id must be a non-empty string/);
    assert.throws(() => section("x", { block_id: "b" }), /section: unknown option `block_id`; it takes fields, accessory, blockId/);
    assert.throws(() => modal({ title: "Old style", blocks: [] }), /the title comes first/);
    assert.throws(() => modal("T", [], { callback_id: "x" }), /unknown option `callback_id`/);
  });
});

describe("capabilities keep the WIT's names", () => {
  test("slack", () => {
    const ref = { channel: "C1", ts: "1.0" };
    answers.set("slack.postMessage", ref);
    assert.deepEqual(slack.postMessage("C1", "hi"), ref);
    slack.postMessage("C1", { text: "t", blocks: [section("s")] }, "0.5");
    slack.updateMessage(ref, "new");
    slack.deleteMessage(ref);
    slack.postEphemeral("C1", "U1", "psst");
    slack.sendDm("U1", "hello");
    slack.openView("T1", modal("M", []));
    slack.pushView("T1", "{}");
    slack.updateView("V1", "{}");
    slack.publishHome("U1", home([]));
    slack.addReaction(ref, "unicorn_face");
    slack.lookupUser("U1");
    const msg = (text, blocks = null) => ({ text, blocks });
    assert.deepEqual(structuredClone(calls), [
      ["slack.postMessage", "C1", msg("hi"), null],
      ["slack.postMessage", "C1", msg("t", JSON.stringify([section("s")])), "0.5"],
      ["slack.updateMessage", ref, msg("new")],
      ["slack.deleteMessage", ref],
      ["slack.postEphemeral", "C1", "U1", msg("psst")],
      ["slack.sendDm", "U1", msg("hello")],
      ["slack.openView", "T1", JSON.stringify(modal("M", []))],
      ["slack.pushView", "T1", "{}"],
      ["slack.updateView", "V1", "{}"],
      ["slack.publishHome", "U1", JSON.stringify(home([]))],
      ["slack.addReaction", ref, "unicorn_face"],
      ["slack.lookupUser", "U1"],
    ]);
  });

  test("a failed call throws an Error naming it and the host's reason", () => {
    answers.set("slack.postMessage", { throws: { tag: "invalid-blocks", val: "over 50 blocks" } });
    assert.throws(() => slack.postMessage("C1", "x"), { message: "slack.postMessage failed: invalid-blocks: over 50 blocks" });
    answers.set("store.increment", { throws: { tag: "not-a-number" } });
    assert.throws(() => store.increment("n"), { message: "store.increment(n) failed: not-a-number" });
    answers.set("schedule.once", { throws: "in the past" });
    assert.throws(() => schedule.once("x", 1), { message: "schedule.once(x) failed: in the past" });
    // As componentize-qjs throws them: an Error carrying the WIT value.
    answers.set("slack.pin", { throws: witError({ tag: "api", val: "no_permission" }) });
    assert.throws(() => slack.pin({ channel: "C1", ts: "1.0" }), { message: "slack.pin failed: api: no_permission" });
  });

  test("store", () => {
    answers.set("store.get", new TextEncoder().encode("ÿ ✓ 😀"));
    assert.equal(store.get("k"), "ÿ ✓ 😀");
    assert.equal(store.get("missing"), undefined);
    store.set("k", "ÿ ✓ 😀");
    assert.deepEqual([...calls.at(-1)[2]], [...new TextEncoder().encode("ÿ ✓ 😀")]);
    answers.set("store.listKeys", ["a", "b"]);
    assert.deepEqual(store.listKeys("p"), ["a", "b"]);
    assert.deepEqual(calls.at(-1), ["store.listKeys", "p", 100]);
    answers.set("store.increment", 7);
    assert.equal(store.increment("n", 2), 7);
    assert.deepEqual(calls.at(-1), ["store.increment", "n", 2]);
    store.compareAndSwap("lock", undefined, "me");
    assert.deepEqual(calls.at(-1).slice(0, 3), ["store.compareAndSwap", "lock", null]);
    store.delete("k");
    assert.deepEqual(calls.at(-1), ["store.delete", "k"]);
  });

  test("schedule, log and clock", () => {
    schedule.once("close:1", new Date(5000));
    schedule.cancel("close:1");
    log.write("warn", "w");
    log.info(3);
    answers.set("clock.nowMs", 1234n);
    assert.equal(clock.nowMs(), 1234);
    assert.deepEqual(structuredClone(calls), [
      ["schedule.once", "close:1", 5000],
      ["schedule.cancel", "close:1"],
      ["log.write", "warn", "w"],
      ["log.write", "info", "3"],
      ["clock.nowMs"],
    ]);
    assert.throws(() => log.write("loud", "x"), /the level is one of debug, info, warn, error/);
  });

  test("settings: text as it is, JSON parsed on request, a fallback when unset", () => {
    answers.set("settings.get", "#lunch");
    assert.equal(settings.get("channel"), "#lunch");
    assert.equal(settings.get("missing", "#general"), "#general");
    answers.set("settings.get", "[\"Paris\",\"Seoul\"]");
    assert.deepEqual(settings.getJson("offices"), ["Paris", "Seoul"]);
    answers.set("settings.names", ["channel", "offices"]);
    assert.deepEqual(settings.names(), ["channel", "offices"]);
    assert.deepEqual(
      structuredClone(calls).map((c) => c[0]),
      ["settings.get", "settings.get", "settings.get", "settings.names"],
    );
  });

  test("slack: the calls added with webhooks and http", () => {
    const ref = { channel: "C1", ts: "1.0" };
    const msg = (text, blocks = null) => ({ text, blocks });
    answers.set("slack.post", ref);
    assert.deepEqual(slack.post("C1", "hi"), ref);
    slack.post("C1", { text: "t", blocks: [section("s")] }, {
      threadTs: "0.5",
      replyBroadcast: true,
      metadata: { eventType: "slacker", payload: { n: 1 } },
    });
    slack.post("C1", "raw", { metadata: { eventType: "e", payload: "{\"a\":2}" } });
    answers.set("slack.scheduleMessage", "Q1");
    assert.equal(slack.scheduleMessage("C1", "later", 1700000000), "Q1");
    slack.scheduleMessage("C1", "later", new Date(1700000000500), "0.5");
    answers.set("slack.getPermalink", "https://slack.example/p1");
    assert.equal(slack.getPermalink(ref), "https://slack.example/p1");
    answers.set("slack.threadReplies", [{ ts: "1.0", user: "U1", text: "hi" }]);
    assert.deepEqual(slack.threadReplies(ref), [{ ts: "1.0", user: "U1", text: "hi" }]);
    slack.threadReplies(ref, 5);
    answers.set("slack.channelMembers", ["U1", "U2"]);
    assert.deepEqual(slack.channelMembers("C1"), ["U1", "U2"]);
    answers.set("slack.userGroups", [{ id: "S1", handle: "sre", name: "SRE" }]);
    assert.deepEqual(slack.userGroups(), [{ id: "S1", handle: "sre", name: "SRE" }]);
    slack.userGroupMembers("S1");
    answers.set("slack.createChannel", "C9");
    assert.equal(slack.createChannel("inc-42"), "C9");
    slack.createChannel("secret", true);
    slack.invite("C9", ["U1", "U2"]);
    slack.invite("C9", "U3");
    slack.setTopic("C9", "Incident 42");
    slack.pin(ref);
    slack.uploadFile("C1", "report.csv", "Report", "a,b\n1,2\n");
    slack.uploadFile("C1", "raw.bin", "Raw", new Uint8Array([0, 255]), "0.5");
    const utf8 = (text) => new TextEncoder().encode(text);
    assert.deepEqual(structuredClone(calls), [
      ["slack.post", "C1", msg("hi"), { threadTs: null, replyBroadcast: false, metadata: null }],
      ["slack.post", "C1", msg("t", JSON.stringify([section("s")])),
        { threadTs: "0.5", replyBroadcast: true, metadata: { eventType: "slacker", payload: "{\"n\":1}" } }],
      ["slack.post", "C1", msg("raw"),
        { threadTs: null, replyBroadcast: false, metadata: { eventType: "e", payload: "{\"a\":2}" } }],
      ["slack.scheduleMessage", "C1", msg("later"), 1700000000, null],
      ["slack.scheduleMessage", "C1", msg("later"), 1700000000, "0.5"],
      ["slack.getPermalink", ref],
      ["slack.threadReplies", ref, 100],
      ["slack.threadReplies", ref, 5],
      ["slack.channelMembers", "C1"],
      ["slack.userGroups"],
      ["slack.userGroupMembers", "S1"],
      ["slack.createChannel", "inc-42", false],
      ["slack.createChannel", "secret", true],
      ["slack.invite", "C9", ["U1", "U2"]],
      ["slack.invite", "C9", ["U3"]],
      ["slack.setTopic", "C9", "Incident 42"],
      ["slack.pin", ref],
      ["slack.uploadFile", "C1", "report.csv", "Report", utf8("a,b\n1,2\n"), null],
      ["slack.uploadFile", "C1", "raw.bin", "Raw", new Uint8Array([0, 255]), "0.5"],
    ]);
    assert.throws(() => slack.post("C1", "x", { thread: "1.0" }), /unknown option `thread`/);
    assert.throws(() => slack.post("C1", "x", { metadata: { payload: {} } }), /metadata is \{ eventType, payload \}/);
    assert.throws(() => slack.scheduleMessage("C1", "x", Date.now()), /looks like milliseconds/);
    assert.throws(() => slack.scheduleMessage("C1", "x", "soon"), /a Date or Unix seconds/);
  });
});

const webhookRequest = (name, body = "", headers = []) => ({
  name,
  deliveryId: "d-1",
  attempt: 2,
  contentType: "application/json",
  headers,
  body: new TextEncoder().encode(body),
});

describe("webhooks", () => {
  test("are described and routed by name, with the body read as text, JSON or a header", () => {
    const seen = [];
    const app = new App("hooks")
      .webhook("github", "Pushes and PRs", (req) => {
        seen.push([req.name, req.deliveryId, req.attempt, req.contentType, req.header("x-github-event"),
          req.header("missing"), req.text(), req.json().sender.login, req.body.length]);
      })
      .webhook("alerts", () => {
        throw new Error("not yet");
      });
    assert.deepEqual(app.webhooks.describeWebhooks(), [
      { name: "github", description: "Pushes and PRs" },
      { name: "alerts", description: "" },
    ]);
    const body = JSON.stringify({ sender: { login: "ada" }, note: "✓" });
    assert.equal(app.webhooks.onWebhook(webhookRequest("github", body, [["X-GitHub-Event", "push"]])), undefined);
    assert.deepEqual(seen, [
      ["github", "d-1", 2, "application/json", "push", null, body, "ada", new TextEncoder().encode(body).length],
    ]);
    // Throwing asks for another try: the WIT's `err`.
    assert.equal(err(() => app.webhooks.onWebhook(webhookRequest("alerts"))), "not yet");
    assert.equal(err(() => app.webhooks.onWebhook(webhookRequest("gitlab"))),
      "app `hooks` has no handler for webhook `gitlab`");
    // Webhooks are neither commands nor events.
    assert.deepEqual(app.handler.describe().events, []);
  });

  test("a handler that returns a promise is told handlers are synchronous", () => {
    const app = new App("hooks").webhook("github", "x", async () => {});
    assert.match(err(() => app.webhooks.onWebhook(webhookRequest("github"))), /handlers are synchronous/);
  });
});

describe("settings declared by the app", () => {
  test("are described with their defaults and whether they are required", () => {
    const app = new App("hooks")
      .setting("channel", "Where to post", { default: "C0HOOKS" })
      .setting("fail_times", "How often to fail", { default: 0 })
      .setting("offices", "Which offices", { default: ["Paris"] })
      .setting("approver", "Who approves", { required: true })
      .setting("note", { default: "n" })
      .setting("plain");
    assert.deepEqual(app.settingsSchema.describeSettings(), [
      { name: "channel", description: "Where to post", default: "C0HOOKS", required: false },
      { name: "fail_times", description: "How often to fail", default: "0", required: false },
      { name: "offices", description: "Which offices", default: "[\"Paris\"]", required: false },
      { name: "approver", description: "Who approves", default: null, required: true },
      { name: "note", description: "", default: "n", required: false },
      { name: "plain", description: "", default: null, required: false },
    ]);
  });

  test("settings.get answers the operator's value, else the declared default, else the fallback", () => {
    let got;
    const app = new App("hooks")
      .setting("channel", "Where to post", { default: "C0HOOKS" })
      .setting("fail_times", "How often", { default: 0 })
      .setting("approver", "Who approves", { required: true })
      .command("/get", () => {
        got = [
          settings.get("channel"),
          settings.get("fail_times"),
          settings.getJson("fail_times"),
          settings.get("approver"),
          settings.get("approver", "nobody"),
          settings.get("undeclared"),
          settings.names(),
        ];
      });
    answers.set("settings.names", ["zone", "channel"]);
    app.handler.onCommand(command("/get"));
    assert.deepEqual(got, ["C0HOOKS", "0", 0, null, "nobody", null, ["channel", "fail_times", "zone"]]);

    // The operator's value wins.
    answers.set("settings.get", "C42");
    app.handler.onCommand(command("/get"));
    assert.equal(got[0], "C42");

    // Another app's requests see only its own defaults.
    new App("other").command("/get", () => {
      got = settings.get("channel");
    }).handler.onCommand(command("/get"));
    assert.equal(got, null);
  });
});


// What componentize-qjs throws for an import's `err`.
function witError(payload) {
  return Object.assign(new Error("[object Object] (see error.payload)"), { payload });
}

describe("fetch: the web's, synchronous, over the http capability", () => {
  const utf8 = (text) => new TextEncoder().encode(text);
  const sent = () => structuredClone(calls.at(-1)[1]);
  const answer = (status, headers, body, url = "https://api.example.com/x") =>
    answers.set("http.send", { status, headers, body: utf8(body), url });

  test("builds the request the host sends", () => {
    answer(200, [], "");
    fetch("https://api.example.com/items?page=2", { headers: { Accept: "application/json" }, timeout: 2000 });
    assert.deepEqual(sent(), {
      method: "GET", url: "https://api.example.com/items?page=2",
      headers: [["Accept", "application/json"]], body: null, timeoutMs: 2000,
    });
    answer(200, [], "");
    fetch("https://api.example.com/items", { method: "put", headers: [["X-A", "1"], ["X-A", "2"]], body: "ÿ ✓" });
    assert.deepEqual(sent(), {
      method: "PUT", url: "https://api.example.com/items",
      headers: [["X-A", "1"], ["X-A", "2"], ["Content-Type", "text/plain;charset=UTF-8"]],
      body: utf8("ÿ ✓"), timeoutMs: null,
    });
    // A body without a method is a POST; json sets its content type unless one is set.
    answer(200, [], "");
    fetch({ url: "https://api.example.com/items" }, { json: { name: "pho" } });
    assert.deepEqual(sent(), {
      method: "POST", url: "https://api.example.com/items",
      headers: [["Content-Type", "application/json"]], body: utf8('{"name":"pho"}'), timeoutMs: null,
    });
    answer(200, [], "");
    fetch("https://x/", { method: "PATCH", json: [1], headers: new Map([["content-type", "application/merge-patch+json"]]) });
    assert.deepEqual(sent().headers, [["content-type", "application/merge-patch+json"]]);
    answer(200, [], "");
    fetch("https://x/", { method: "POST", body: new Uint8Array([0, 255]), mode: "cors", credentials: "omit" });
    assert.deepEqual(sent().headers, []);
    assert.deepEqual(sent().body, new Uint8Array([0, 255]));
    answer(200, [], "");
    fetch("https://x/", { body: new Uint8Array([1, 2, 3]).buffer });
    assert.deepEqual(sent().body, new Uint8Array([1, 2, 3]));
  });

  test("returns a Response whose body is read at once", () => {
    answer(201, [["Content-Type", "application/json"], ["Set-Cookie", "a=1"], ["set-cookie", "b=2"]],
      '{"id": 7, "name": "ÿ"}', "https://api.example.com/items/7");
    const res = fetch("https://api.example.com/items", { json: {} });
    assert.equal(res.status, 201);
    assert.equal(res.ok, true);
    assert.equal(res.url, "https://api.example.com/items/7");
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.equal(res.headers.get("SET-COOKIE"), "a=1, b=2");
    assert.equal(res.headers.get("missing"), null);
    assert.equal(res.headers.has("Content-Type"), true);
    assert.deepEqual([...res.headers], [["content-type", "application/json"], ["set-cookie", "a=1, b=2"]]);
    assert.equal(res.text(), '{"id": 7, "name": "ÿ"}');
    assert.deepEqual(res.json(), { id: 7, name: "ÿ" });
    assert.deepEqual(new Uint8Array(res.arrayBuffer()), utf8('{"id": 7, "name": "ÿ"}'));
    assert.deepEqual(res.bytes(), utf8('{"id": 7, "name": "ÿ"}'));
    answer(404, [], "no");
    const missing = fetch("https://x/");
    assert.equal(missing.ok, false);
    assert.equal(missing.status, 404);
    assert.equal(missing.text(), "no");
  });

  test("the host's errors are thrown with its message", () => {
    const why = "no rule lets app `x` reach https://evil.example/: add one under [apps.x.http]";
    answers.set("http.send", { throws: { tag: "not-allowed", val: why } });
    assert.throws(() => fetch("https://evil.example/"),
      (e) => e instanceof HttpError && e instanceof Error && e.message === why && e.kind === "not-allowed");
    answers.set("http.send", { throws: witError({ tag: "timeout", val: "no answer within 2000 ms" }) });
    assert.throws(() => fetch("https://slow.example/"), { name: "HttpError", kind: "timeout", message: "no answer within 2000 ms" });
  });

  test("arguments the web would refuse are refused", () => {
    assert.throws(() => fetch("https://x/", { method: "GET", body: "x" }), /a GET request cannot have a body/);
    assert.throws(() => fetch("https://x/", { body: { a: 1 } }), /send an object as JSON with `json: value`/);
    assert.throws(() => fetch("https://x/", { body: "a", json: 1 }), /body or json, not both/);
    assert.throws(() => fetch("https://x/", { timeout: "2s" }), /timeout is a number of milliseconds/);
    assert.throws(() => fetch("https://x/", { headers: "Accept: */*" }), /headers are an object or \[name, value\] pairs/);
    assert.throws(() => fetch("https://x/", { tiemout: 1 }), /unknown option `tiemout`/);
    assert.equal(calls.length, 0);
  });

  test("an app that imports it has it as globalThis.fetch too", () => {
    assert.equal(globalThis.fetch, fetch);
  });
});

describe("time zones: the SDK's table, since QuickJS has none", () => {
  const at = (iso) => Date.parse(iso);
  test("daylight saving starts and ends where each rule says", () => {
    assert.equal(offsetMinutes("Europe/Paris", at("2026-01-15T12:00:00Z")), 60);
    assert.equal(offsetMinutes("Europe/Paris", at("2026-07-15T12:00:00Z")), 120);
    // The EU switches at 01:00 UTC on the last Sunday of March (29th in 2026).
    assert.equal(offsetMinutes("Europe/Paris", at("2026-03-29T00:59:00Z")), 60);
    assert.equal(offsetMinutes("Europe/Paris", at("2026-03-29T01:00:00Z")), 120);
    assert.equal(offsetMinutes("America/New_York", at("2026-07-15T12:00:00Z")), -240);
    assert.equal(offsetMinutes("Asia/Seoul", at("2026-07-15T12:00:00Z")), 540);
  });
  test("an unknown zone is said so and counts as UTC", () => {
    assert.equal(knownZone("Asia/Seoul"), true);
    assert.equal(knownZone("Mars/Olympus"), false);
    assert.equal(offsetMinutes("Mars/Olympus", at("2026-07-15T12:00:00Z")), 0);
  });
});

