import { record } from "./calls.mjs";

export const get = (...a) => record("store.get", ...a) ?? null;
export const set = (...a) => record("store.set", ...a);
const del = (...a) => record("store.delete", ...a);
export { del as delete };
export const listKeys = (...a) => record("store.listKeys", ...a);
export const increment = (...a) => record("store.increment", ...a);
export const compareAndSwap = (...a) => record("store.compareAndSwap", ...a);
