import { record } from "./calls.mjs";

export const nowMs = (...a) => record("clock.nowMs", ...a);
