// /hello [name] greets you and counts, per user, how often you called it.
// The reply carries a button that counts clicks per user and updates the
// message with the new count.

import { actions, app, button, reply, section, store } from "botyard";

// The greeting's first word. Kept as one constant so tests can tell versions apart.
const GREETING = "Hello";

const withButton = (text, user) => [
  section(text),
  actions(button("Click me", "count", { value: user })),
];

export const handler = app({
  name: "hello",
  description: "Greets you and counts your calls",
  commands: [{ name: "/hello", description: "Say hello", usage: "[name]" }],

  onCommand({ text, context: { userId } }) {
    const count = store.increment(`calls/${userId}`);
    const name = text || `<@${userId}>`;
    const message = `${GREETING}, ${name}! You have said hello ${count} time(s).`;
    return reply.inChannel(message, withButton(message, userId));
  },

  onAction({ actionId, context: { userId } }) {
    if (actionId !== "count") {
      throw new Error(`unknown action ${actionId}`);
    }
    const clicks = store.increment(`clicks/${userId}`);
    const message = `<@${userId}> clicked ${clicks} time(s).`;
    return reply.update(message, withButton(message, userId));
  },
});
