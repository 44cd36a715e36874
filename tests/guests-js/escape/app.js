// Tries what a JavaScript guest can try to reach outside its sandbox.
// `/escape <attempt>` answers with JSON: the data the attempt got, or the
// error it got instead.
import { App, reply } from "botyard";

const attempts = {
  globals: () => Object.fromEntries(
    ["process", "require", "Deno", "WebSocket", "XMLHttpRequest", "fetch", "std", "os"]
      .map((name) => [name, typeof globalThis[name]])),
  env: () => globalThis.process.env.HOME,
  // No JS API opens files; a dynamic import is the one construct that names
  // one. Whatever it would load could only arrive after the handler returns.
  file: (path) => {
    let loaded;
    import(path || "/etc/hostname").then((m) => { loaded = m; }, () => {});
    return JSON.stringify(loaded ?? null);
  },
  fetch: () => fetch("http://127.0.0.1:9/").status,
  random: () => [0, 1, 2, 3].map(() => Math.random()).filter((x) => x >= 0 && x < 1).length,
  clock: () => Date.now() > 1.7e12,
};

const app = new App("escape");

app.command("/escape", { usage: Object.keys(attempts).join("|") }, ({ text }) => {
  const [name, arg] = text.split(" ");
  let result;
  try {
    result = { data: attempts[name](arg) };
  } catch (e) {
    result = { error: String(e?.message ?? e) };
  }
  return reply.ephemeral(JSON.stringify(result));
});

export default app;
