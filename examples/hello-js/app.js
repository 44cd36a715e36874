// /hello [name] greets you and counts, per user, how often you called it.
// The reply carries a button that counts clicks per user and updates the
// message with the new count.

import { App, actions, button, reply, section, store } from "botyard";

// The greeting's first word. Kept as one constant so tests can tell versions apart.
const GREETING = "Hello";

const app = new App("hello", "Greets you and counts your calls");

// `text`, with a button that counts clicks.
const withButton = (text, user) => [
  section(text),
  actions(button("Click me", "count", { value: user })),
];

app.command("/hello", { description: "Say hello", usage: "[name]" }, ({ text, context: { userId } }) => {
  const count = store.increment(`calls/${userId}`);
  const name = text || `<@${userId}>`;
  const message = `${GREETING}, ${name}! You have said hello ${count} time(s).`;
  return reply.inChannel(message, withButton(message, userId));
});

app.action("count", ({ context: { userId } }) => {
  const clicks = store.increment(`clicks/${userId}`);
  const message = `<@${userId}> clicked ${clicks} time(s).`;
  return reply.update(message, withButton(message, userId));
});

export default app;
