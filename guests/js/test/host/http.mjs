import { record } from "./calls.mjs";

export const send = (...a) => record("http.send", ...a);
