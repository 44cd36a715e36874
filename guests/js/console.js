// `console` for botyard apps, which QuickJS does not have: each line becomes
// one of the app's log lines. The build injects this module only into apps
// that mention `console`, so only they import the `log` capability.

import * as logApi from "botyard:app/log@0.1.0";

function show(value) {
  if (typeof value === "string") return value;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function write(level, args) {
  for (const line of args.map(show).join(" ").split("\n")) {
    logApi.write(level, line);
  }
}

// Only function expressions at the top level: esbuild drops what is unused
// only when evaluating it can have no side effects.
export const console = {
  debug: (...args) => write("debug", args),
  log: (...args) => write("info", args),
  info: (...args) => write("info", args),
  warn: (...args) => write("warn", args),
  error: (...args) => write("error", args),
};
