// Proves the test kit's virtual time: a weekday cron posts the menu at
// 10:00 UTC (11:00 in Paris in winter) where the `channel` setting says;
// `/remind` asks for a one-off tick six hours later, which DMs the asker;
// `/now` answers the time the app sees; the `deploy` webhook posts.
import { App, clock, reply, schedule, settings, slack, store } from "botyard";

const app = new App("clockwork", "Schedules on virtual time");
app.setting("channel", "Where the menu goes", { default: "#general" });

app.schedule("menu", "0 10 * * 1-5", () => {
  slack.postMessage(settings.get("channel", "#general"), "Today's menu: ramen");
});

app.command("/remind", "Remind me in six hours", ({ context: { userId } }) => {
  store.set("who", userId);
  schedule.once("remind", clock.nowMs() + 6 * 3600 * 1000);
  return reply.ephemeral("I will remind you in 6 hours.");
});

app.tick("remind", ({ dueMs }) => {
  slack.sendDm(store.get("who"), `Time's up (${new Date(dueMs).toISOString()})`);
});

// Both clocks: the host's, and JavaScript's own (WASI's wall clock).
app.command("/now", "The time the app sees", () =>
  reply.ephemeral(`host ${new Date(clock.nowMs()).toISOString()} js ${new Date().toISOString()}`));

// A webhook step: what the kit POSTs reaches the handler, and its post is seen.
app.webhook("deploy", "Deploys", (delivery) => {
  slack.postMessage("#general", `Deployed ${delivery.json().service}`);
});

export default app;
