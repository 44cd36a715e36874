// Registers every kind of handler the SDK has, so the tests can see which
// registration each request reaches: commands and actions answer with it,
// views with a field error naming it, and the handlers that answer nothing
// (events, closed views, ticks, shortcuts, webhooks) store the request they
// got under the key `last`. It declares two settings, and reads none.
import { App, modalResponse, reply, store } from "botyard";

const app = new App("routes", "Router checks");

const answer = (route) => ({ text, actionId }) => reply.ephemeral(`${route}: ${text ?? actionId}`);
const record = (route) => (request) => store.setJson("last", { route, request });

app.command("/routes", { description: "Top", usage: "[x]" }, answer("/routes"));
app.command("/spy status", "Queue status", answer("/spy status"));
app.command("/spy stores", { usage: "[shop]" }, answer("/spy stores"));

app.action("vote:*", answer("vote:*"));
app.action("vote:special", answer("vote:special"));
app.action("vote:long:*", answer("vote:long:*"));
app.action("count", answer("count"));

app.view("order", () => modalResponse.errors({ b: "order" }));
app.view("order:*", ({ callbackId }) => modalResponse.errors({ b: `order:* ${callbackId}` }));
app.viewClosed("order", record("closed order"));

app.event("app_mention", record("app_mention"));

app.schedule("nightly", "0 3 * * *", record("nightly"));
app.tick("close:*", record("close:*"));

app.shortcut("triage", { name: "Send to a team", description: "Forward it to a -help channel", kind: "message" },
  record("triage"));
app.shortcut("new-poll", { name: "New poll" }, record("new-poll"));

app.webhook("github", "Pushes and PRs", (req) => {
  if (req.attempt < 2) throw new Error(`try again (attempt ${req.attempt})`);
  const { body, text, json, header, ...fields } = req;
  store.setJson("last", {
    route: "github",
    request: { ...fields, event: req.header("x-github-event"), text: req.text(), login: req.json().sender.login },
  });
});
app.webhook("alerts", record("alerts"));

app.setting("channel", "Where to post", { default: "C0ROUTES" });
app.setting("approver", "Who approves");

export default app;
