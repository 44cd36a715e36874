import { record } from "./calls.mjs";

export const once = (...a) => record("schedule.once", ...a);
export const cancel = (...a) => record("schedule.cancel", ...a);
