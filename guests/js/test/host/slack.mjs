import { record } from "./calls.mjs";

export const postMessage = (...a) => record("slack.postMessage", ...a);
export const updateMessage = (...a) => record("slack.updateMessage", ...a);
export const deleteMessage = (...a) => record("slack.deleteMessage", ...a);
export const postEphemeral = (...a) => record("slack.postEphemeral", ...a);
export const sendDm = (...a) => record("slack.sendDm", ...a);
export const openView = (...a) => record("slack.openView", ...a);
export const pushView = (...a) => record("slack.pushView", ...a);
export const updateView = (...a) => record("slack.updateView", ...a);
export const publishHome = (...a) => record("slack.publishHome", ...a);
export const addReaction = (...a) => record("slack.addReaction", ...a);
export const lookupUser = (...a) => record("slack.lookupUser", ...a);
