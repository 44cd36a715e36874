import { record } from "./calls.mjs";

export const get = (...a) => record("settings.get", ...a) ?? null;
export const names = (...a) => record("settings.names", ...a) ?? [];
