// Exercises the SDK: `/kit blocks` renders every Block Kit builder, `/kit
// store` the store helpers, `/kit fail` an error for the user, `/kit later`
// an async handler (refused with a reason); a modal submission answers with
// field errors, then a new view; a tick logs. No action and no event is
// registered: requests for them answer that there is no handler.
import {
  App, actions, button, clock, context, datepicker, divider, formValues, header, image, input, log,
  modal, modalResponse, mrkdwn, option, plainText, plainTextInput, reply, section, staticSelect, store,
  usersSelect,
} from "botyard";

const app = new App("kit", "SDK checks");

const everyBlock = () => [
  header("Lunch"),
  section("*Pick*", { fields: ["a", plainText("b")], accessory: button("Go", "go"), blockId: "s" }),
  context("small", image("https://x/i.png", "i")),
  divider(),
  image("https://x/m.png", "menu", { title: "Menu" }),
  actions(
    button("Yes", "yes", { value: "1", style: "primary" }),
    staticSelect("Choose", "pick", [option("A", "a"), "b", option("C", "c", { description: "see" })],
      { initial: "b" }),
    usersSelect("Someone", "who"),
    datepicker("day", { initial: "2025-06-01" }),
  ),
  input("Name", plainTextInput("Ada", "name", { multiline: true }),
    { blockId: "n", optional: true, hint: "yours" }),
];

const commands = {
  blocks() {
    const view = modal("Order", everyBlock(), {
      callbackId: "order", submit: "Send", close: "Cancel", privateMetadata: "m",
    });
    // The view travels as section text, so it comes back to the test verbatim.
    return reply.ephemeral("blocks", [section(mrkdwn(JSON.stringify(view)))]);
  },

  store() {
    store.setJson("poll", { q: "Lunch?", open: true });
    store.updateJson("voters", (v) => [...v, "U1"], []);
    const voters = store.updateJson("voters", (v) => [...v, "U2"], []);
    store.set("raw", "bytes");
    store.set("utf8", "ÿ ✓ 😀");
    return reply.inChannel(JSON.stringify({
      poll: store.getJson("poll"),
      missing: store.getJson("nope", { d: 1 }),
      voters,
      raw: store.get("raw"),
      utf8: store.get("utf8"),
      keys: store.listKeys("vo"),
      count: store.increment("n", 5),
      casAbsent: store.compareAndSwap("lock", undefined, "me"),
      casAgain: store.compareAndSwap("lock", undefined, "me"),
      deleted: store.delete("raw"),
      clockOk: Math.abs(Date.now() - clock.nowMs()) < 60_000,
    }));
  },

  fail() {
    throw new Error("no poll is open");
  },

  // Handlers are synchronous; an async one is told so.
  async later() {
    return "later";
  },

  update: () => reply.update("not for commands"),
};

const usage = `usage: /kit ${Object.keys(commands).join("|")}`;

app.command("/kit", { usage: Object.keys(commands).join("|") }, ({ text }) => commands[text]?.() ?? usage);

app.command("/tools kit", "The same, under /tools", ({ text }) => commands[text]?.() ?? usage);

app.view("order", (submission) => {
  const name = formValues(submission).n.name;
  if (!name) {
    return modalResponse.errors({ n: "Say your name" });
  }
  return modalResponse.update(modal("Thanks", [section(`Thanks, ${name}`)]));
});

app.schedule("nightly", "0 3 * * *", ({ name, dueMs }) => {
  console.log(`tick ${name}`);
  console.error("two\nlines");
  log.warn(`due ${dueMs + 1}`);
});

export default app;
