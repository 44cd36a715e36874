import { record } from "./calls.mjs";

export const write = (...a) => record("log.write", ...a);
