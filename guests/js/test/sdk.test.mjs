// The SDK under Node.js, against fake host imports (./host): registration,
// routing, the `describe` derived from it, answers, Block Kit builders and
// the capability wrappers. tests/js.rs runs it (`cargo test --test js`), and
// proves the same things end to end through built components.
//
//   node --import ./guests/js/test/register.mjs --test guests/js/test/sdk.test.mjs

import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";

import {
  App, actions, button, channelsSelect, checkboxes, clock, componentExports, conversationsSelect,
  datepicker, formValues, home, input, log, message, modal, modalResponse, multiStaticSelect,
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
    ]);
    // Each names the two registrations' places in this file, in order.
    for (const clause of clauses) {
      const [, first, second] = /\((\S+) and (\S+)\)$/.exec(clause);
      assert.ok(lineOf(first) < lineOf(second), clause);
    }
    assert.throws(() => app.shortcuts.describeShortcuts(), /registers shortcut `triage` twice/);
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
    const exports = componentExports({ default: app }, "app.js", ["handler", "shortcuts"]);
    assert.deepEqual(Object.keys(exports), ["handler", "shortcuts"]);
    assert.equal(exports.handler.onCommand(command("/hello")).message.text, "hi");
    assert.deepEqual(exports.shortcuts.describeShortcuts(), []);
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
    const text = captured(() => componentExports({ default: new App("x") }, "app.js", ["webhooks"]));
    assert.match(text, /implements no `webhooks` export/);
  });
});

describe("registration arguments are checked where they are written", () => {
  const cases = [
    [() => new App("Hello"), /the name must be a short name of \[a-z0-9-\], got "Hello"/],
    [() => new App("x", 3), /the description must be a string/],
    [() => new App("x").command("hello", () => {}), /a command is "\/name", or "\/umbrella sub"/],
    [() => new App("x").command("/a b c", () => {}), /a command is "\/name"/],
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
});
