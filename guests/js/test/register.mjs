// `node --import ./register.mjs --test sdk.test.mjs`: runs the SDK under
// Node.js with the `botyard:app/*` imports answered by the fakes in host/,
// which record every call.
import { register } from "node:module";

register("./hooks.mjs", import.meta.url);
