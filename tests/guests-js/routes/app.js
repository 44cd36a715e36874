// Registers every kind of handler the SDK has, so the tests can see which
// registration each request reaches: commands and actions answer with it,
// views with a field error naming it, and the handlers that answer nothing
// (events, closed views, ticks, shortcuts) store the request they got under
// the key `last`.
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

export default app;
