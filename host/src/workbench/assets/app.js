// The workbench page: a Slack client for the emulated workspace. Every
// action goes to the workbench server, which has the emulator send Slack's
// signed request to the host; what apps do comes back as live notices.
"use strict";

const { h } = BlockKit;

const S = {
  workspace: null,
  me: null,
  channel: null,
  tab: "messages", // or "home" in the app's DM
  thread: null, // { channel, ts }
  pane: "apps", // "apps", "thread", "pins" or null
  conversation: null, // the open channel's topic, pins and scheduled messages
  views: { stack: [], home: null },
  apps: [],
  simulated: [],
  deliveries: {}, // app id → its recent webhook deliveries, newest first
  unread: new Set(),
  messageNodes: new Map(), // ts → { sig, node } for the open channel
  scopes: new Map(), // container key → BlockKit scope (keeps typed values)
};

const $ = (id) => document.getElementById(id);

// --- server ----------------------------------------------------------------

async function get(path, params = {}) {
  const query = new URLSearchParams(params).toString();
  const response = await fetch(`/api/${path}${query ? "?" + query : ""}`);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

/// Posts an action; shows what went wrong when the host or emulator refused.
async function post(path, body) {
  let answer;
  try {
    const response = await fetch(`/api/${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ as: S.me, ...body }),
    });
    answer = await response.json();
  } catch (e) {
    toast(`Could not reach the workbench: ${e.message}`);
    return null;
  }
  if (!answer.ok) {
    const detail = answer.error || (answer.status ? `the app host answered HTTP ${answer.status}` : "it failed");
    toast(`That didn't work: ${detail}`);
  }
  return answer;
}

// --- directory ---------------------------------------------------------------

const user = (id) => S.workspace.users.find((u) => u.id === id);
const userName = (id) => { const u = user(id); return u ? (u.is_bot ? u.name : u.real_name || u.name) : id; };
const channel = (id) => S.workspace.channels.find((c) => c.id === id);
/// Public channels, and the private ones the acting person is in.
const visibleChannels = () => S.workspace.channels.filter((c) => !c.is_private || (c.members || []).includes(S.me));
const shortcutsOf = (kind) => (S.workspace.shortcuts || []).filter((s) => s.kind === kind);
const myDm = () => S.workspace.dms[S.me];
const isDm = (id) => id && id.startsWith("D");
const channelName = (id) => (isDm(id) ? "botyard" : (channel(id) || { name: id }).name);

function renderCtx() {
  return {
    me: S.me,
    userName,
    channelName,
    users: S.workspace.users.filter((u) => !u.is_bot),
    channels: S.workspace.channels,
    openChannel: (id) => (channel(id) || isDm(id)) && openChannel(id),
  };
}

function avatar(id, size = "") {
  const u = user(id);
  if (u && u.is_bot) return h("div", { class: `avatar avatar-bot ${size}`, title: "botyard" }, h("span", {}, "b"));
  const name = u ? u.real_name || u.name : "?";
  let hash = 0;
  for (const c of id) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return h("div", { class: `avatar ${size}`, style: `--hue:${hash % 360}`, title: name }, name.slice(0, 1).toUpperCase());
}

function time(ts) {
  const date = new Date(parseFloat(ts) * 1000);
  return date.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
}

// --- sidebar and header ---------------------------------------------------------

function renderSidebar() {
  const list = $("channel-list");
  list.replaceChildren(...visibleChannels().map((c) =>
    h("li", {}, h("button", {
      class: "side-item" + (S.channel === c.id ? " active" : "") + (S.unread.has(c.id) ? " unread" : ""),
      dataset: { channel: c.id, name: c.name, private: c.is_private ? "1" : "" }, onclick: () => openChannel(c.id),
      title: c.topic || null,
    }, h("span", { class: "side-hash" }, c.is_private ? "\u{1F512}" : "#"), c.name))));
  const dm = myDm();
  $("dm-list").replaceChildren(h("li", {}, h("button", {
    class: "side-item" + (S.channel === dm ? " active" : "") + (S.unread.has(dm) ? " unread" : ""),
    dataset: { channel: dm, name: "botyard" }, onclick: () => openChannel(dm),
  }, avatar(S.workspace.bot.id, "avatar-xs"), "botyard", h("span", { class: "badge-app" }, "APP"))));
  const switcher = $("user-switch");
  if (!switcher.options.length) {
    for (const u of S.workspace.users.filter((u) => !u.is_bot)) switcher.append(h("option", { value: u.id }, u.real_name));
  }
  switcher.value = S.me;
  $("me-avatar").replaceChildren(avatar(S.me, "avatar-sm"));
}

function renderHeader() {
  const dm = isDm(S.channel);
  $("channel-title").replaceChildren(dm
    ? h("span", { class: "title-app" }, avatar(S.workspace.bot.id, "avatar-xs"), "botyard", h("span", { class: "badge-app" }, "APP"))
    : h("span", {}, h("span", { class: "title-hash" }, "#"), channelName(S.channel)));
  const tabs = $("tabs");
  tabs.hidden = !dm;
  for (const tab of tabs.querySelectorAll("button")) tab.classList.toggle("active", tab.dataset.tab === S.tab);
  const home = dm && S.tab === "home";
  $("messages").hidden = home;
  $("composer").hidden = home;
  $("home").hidden = !home;
  $("pins-button").hidden = home;
  $("composer-input").placeholder = dm ? "Message botyard" : `Message #${channelName(S.channel)}`;
}

async function openChannel(id, tab = "messages") {
  if (S.channel !== id) {
    S.channel = id;
    S.messageNodes.clear();
    $("messages").replaceChildren();
  }
  S.tab = isDm(id) ? tab : "messages";
  S.unread.delete(id);
  renderSidebar();
  renderHeader();
  if (S.tab === "home") {
    renderHome();
    await post("home", {});
  } else {
    await loadConversation();
    $("composer-input").focus();
  }
}

// --- messages ----------------------------------------------------------------

/// A scope per message or view: keeps what the person picked across redraws
/// and sends `block_actions` for its elements. A message whose blocks an
/// app replaced starts from their initial values again, as in Slack; a view
/// keeps what was typed (Slack preserves input across `views.update`).
function scopeFor(key, target, blocks, keepAcrossUpdates) {
  const sig = JSON.stringify(blocks);
  let s = S.scopes.get(key);
  if (!s || (!keepAcrossUpdates && s.sig !== sig)) {
    s = BlockKit.scope(renderCtx(), (el, blockId, value, sc) => act(target, el, value, sc));
    S.scopes.set(key, s);
  }
  s.sig = sig;
  s.ctx = renderCtx();
  s.elements = new Map();
  return s;
}

async function act(target, el, value, sc) {
  const body = { action_id: el.action_id, state: BlockKit.stateValues(sc), ...target };
  if (Array.isArray(value)) body.values = value; else body.value = value;
  await post("action", body);
}

/// What Slack itself posts (joins, topic changes): never grouped, shown muted.
const isSystem = (m) => m.subtype === "channel_join" || m.subtype === "channel_topic";

function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/// A file a message shares: its title, name, size and a download link.
function fileCard(f) {
  return h("div", { class: "file-card", dataset: { fileId: f.id } },
    h("span", { class: "file-icon" }, (f.filetype || "file").slice(0, 4).toUpperCase()),
    h("div", { class: "file-info" },
      h("div", { class: "file-title" }, f.title || f.name),
      h("div", { class: "file-meta" }, h("span", { class: "file-name" }, f.name), ` \u00b7 ${size(f.size)}`)),
    h("a", { class: "file-download", href: f.url, download: f.name, title: `Download ${f.name}` }, "\u2b07"));
}

/// Message metadata: a chip with the event type; hover shows the payload,
/// a click unfolds it.
function metadataChip(metadata) {
  const payload = JSON.stringify(metadata.event_payload, null, 2);
  const pre = h("pre", { class: "metadata-json", hidden: true }, payload);
  return h("div", { class: "msg-metadata", dataset: { eventType: metadata.event_type } },
    h("button", {
      type: "button", class: "metadata-chip", title: `metadata · ${metadata.event_type}\n${payload}`,
      onclick: () => { pre.hidden = !pre.hidden; },
    }, "{ } ", metadata.event_type),
    pre);
}

/// A small menu under `anchor`; each item is `[label, description, act]`.
function popupMenu(anchor, className, title, items, empty) {
  document.querySelectorAll(".popup-menu").forEach((p) => p.remove());
  const box = h("div", { class: `popup-menu ${className}` },
    h("div", { class: "popup-title" }, title),
    items.length ? items.map(([label, description, act, data]) => h("button", {
      type: "button", class: "popup-item", dataset: data || {},
      onclick: () => { box.remove(); act(); },
    }, h("span", { class: "popup-label" }, label), description ? h("span", { class: "popup-desc" }, description) : null))
      : h("div", { class: "popup-empty" }, empty));
  document.body.append(box);
  const r = anchor.getBoundingClientRect();
  const top = r.top - box.offsetHeight - 4 > 8 ? r.top - box.offsetHeight - 4 : r.bottom + 4;
  box.style.top = Math.max(8, Math.min(window.innerHeight - box.offsetHeight - 8, top)) + "px";
  box.style.left = Math.max(8, Math.min(window.innerWidth - box.offsetWidth - 8, r.left)) + "px";
  setTimeout(() => document.addEventListener("mousedown", function away(e) {
    if (!box.contains(e.target)) { box.remove(); document.removeEventListener("mousedown", away); }
  }), 0);
  return box;
}

/// The shortcuts menu: every app's global shortcuts.
function openGlobalShortcuts(anchor) {
  popupMenu(anchor, "shortcut-menu", "Shortcuts", shortcutsOf("global").map((s) =>
    [s.name, `${s.description ? s.description + " \u00b7 " : ""}${s.app}`, () => useShortcut(s, null), { callbackId: s.callback_id }]),
  "No loaded app declares a global shortcut.");
}

/// A message's "more actions" menu: every app's message shortcuts.
function openMessageActions(anchor, at, m) {
  popupMenu(anchor, "message-actions", "More actions", shortcutsOf("message").map((s) =>
    [s.name, `${s.description ? s.description + " \u00b7 " : ""}${s.app}`, () => useShortcut(s, { channel: at, ts: m.ts }), { callbackId: s.callback_id }]),
  "No loaded app declares a message shortcut.");
}

async function useShortcut(s, message) {
  const answer = await post("shortcut", { callback_id: s.callback_id, ...(message || {}) });
  if (answer && answer.ok) toast(`Sent \u201c${s.name}\u201d to ${s.app}`);
}

function messageNode(m, grouped, at) {
  const ctx = renderCtx();
  const target = { channel: at, ts: m.ts };
  const system = isSystem(m);
  const body = m.blocks && m.blocks.length
    ? BlockKit.render(m.blocks, scopeFor(`${at}/${m.ts}`, target, m.blocks, false))
    : BlockKit.mrkdwn(m.text, ctx);
  const reactions = (m.reactions || []).map((r) =>
    h("button", {
      class: "reaction" + (r.users.includes(S.me) ? " mine" : ""), title: r.users.map(userName).join(", ") + ` reacted with :${r.name}:`,
      dataset: { name: r.name }, onclick: () => react(at, m, r.name, !r.users.includes(S.me)),
    }, h("span", { class: "emoji" }, BlockKit.emoji(r.name) || `:${r.name}:`), h("span", { class: "count" }, r.count)));
  const toolbar = h("div", { class: "msg-toolbar" },
    h("button", { title: "Add reaction", class: "tool", onclick: (e) => picker(e.currentTarget, (name) => react(at, m, name, true)) }, "\u{1F642}+"),
    m.ephemeral || m.thread_ts ? null : h("button", { title: "Reply in thread", class: "tool", onclick: () => openThread(at, m.ts) }, "\u{1F4AC}"),
    m.ephemeral ? null : h("button", { title: "More actions", class: "tool tool-more", onclick: (e) => openMessageActions(e.currentTarget, at, m) }, "\u22ee"));
  const meta = h("div", { class: "msg-meta" },
    h("span", { class: "msg-author" }, userName(m.user)),
    m.bot ? h("span", { class: "badge-app" }, "APP") : null,
    h("span", { class: "msg-time", title: m.ts }, time(m.ts)));
  return h("div", {
    class: "msg" + (m.ephemeral ? " ephemeral" : "") + (grouped ? " grouped" : "") + (m.pinned ? " pinned" : "") + (system ? " system" : ""),
    dataset: { ts: m.ts, user: m.user, ephemeral: m.ephemeral ? "1" : "", subtype: m.subtype || "", pinned: m.pinned ? "1" : "" },
  },
    grouped ? h("div", { class: "msg-gutter" }, h("span", { class: "msg-time-hover" }, time(m.ts))) : avatar(m.user),
    h("div", { class: "msg-content" },
      m.pinned ? h("div", { class: "pinned-note" }, "\u{1F4CC} Pinned") : null,
      grouped ? null : meta,
      m.ephemeral ? h("div", { class: "ephemeral-note" }, "\u{1F441} Only visible to you") : null,
      m.subtype === "thread_broadcast" ? h("div", { class: "broadcast-note" }, "replied to a thread") : null,
      h("div", { class: "msg-body" + (system ? " system-text" : "") }, body, m.edited ? h("span", { class: "edited" }, " (edited)") : null),
      m.files && m.files.length ? h("div", { class: "msg-files" }, m.files.map(fileCard)) : null,
      m.metadata ? metadataChip(m.metadata) : null,
      reactions.length ? h("div", { class: "reactions" }, reactions,
        h("button", { class: "reaction add", title: "Add reaction", onclick: (e) => picker(e.currentTarget, (name) => react(at, m, name, true)) }, "+")) : null,
      m.reply_count ? h("button", { class: "thread-summary", onclick: () => openThread(at, m.ts) },
        m.reply_users.slice(0, 3).map((u) => avatar(u, "avatar-xs")),
        h("span", { class: "thread-count" }, `${m.reply_count} ${m.reply_count === 1 ? "reply" : "replies"}`),
        h("span", { class: "thread-last" }, `Last reply ${time(m.latest_reply)}`)) : null),
    toolbar);
}

/// Redraws only the messages whose content changed, so a `chat.update`
/// repaints one message and leaves the rest (and any open menu) alone.
function renderMessages(messages) {
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  const keep = new Map();
  let previous = null;
  const nodes = messages.map((m) => {
    const grouped = previous && previous.user === m.user && !previous.ephemeral && !m.ephemeral &&
      !isSystem(previous) && !isSystem(m) &&
      parseFloat(m.ts) - parseFloat(previous.ts) < 300 && !previous.reply_count;
    previous = m;
    const sig = JSON.stringify([m, grouped, S.me, shortcutsOf("message").length]);
    const old = S.messageNodes.get(m.ts);
    const node = old && old.sig === sig ? old.node : messageNode(m, grouped, S.channel);
    keep.set(m.ts, { sig, node });
    return node;
  });
  S.messageNodes = keep;
  if (!messages.length) {
    box.replaceChildren(h("div", { class: "empty" },
      h("div", { class: "empty-title" }, isDm(S.channel) ? "This is your DM with botyard" : `This is the very beginning of #${channelName(S.channel)}`),
      h("div", {}, "Type ", h("code", {}, "/"), " to see what the loaded apps answer to.")));
    return;
  }
  const current = [...box.children];
  if (current.length !== nodes.length || current.some((n, i) => n !== nodes[i])) box.replaceChildren(...nodes);
  if (atBottom) box.scrollTop = box.scrollHeight;
}

async function loadConversation() {
  const at = S.channel;
  const data = await get("conversation", { as: S.me, channel: at });
  if (at !== S.channel) return;
  S.conversation = data;
  renderMessages(data.messages);
  renderChannelExtras();
}

/// The open channel's topic, pinned count and list, and scheduled messages.
function renderChannelExtras() {
  const data = S.conversation;
  if (!data || data.channel !== S.channel) return;
  const topic = $("channel-topic");
  topic.hidden = !data.topic || isDm(S.channel);
  topic.replaceChildren(data.topic ? BlockKit.mrkdwn(data.topic, renderCtx()) : "");
  topic.title = data.topic ? `Topic set by ${userName(data.topic_set_by)}` : "";
  $("pin-count").textContent = data.pins.length;
  $("pins-button").classList.toggle("has-pins", data.pins.length > 0);
  const scheduled = $("scheduled");
  scheduled.hidden = !data.scheduled.length;
  scheduled.replaceChildren(
    h("div", { class: "scheduled-title" }, `\u{1F552} ${data.scheduled.length} scheduled ${data.scheduled.length === 1 ? "message" : "messages"}`),
    ...data.scheduled.map((s) => h("div", { class: "scheduled-item", dataset: { id: s.id, postAt: s.post_at } },
      h("span", { class: "scheduled-when", title: new Date(s.post_at * 1000).toLocaleString() }, `Sends at ${time(s.post_at)}`),
      s.thread_ts ? h("span", { class: "scheduled-thread" }, "in a thread") : null,
      h("span", { class: "scheduled-text" }, BlockKit.mrkdwn(s.text, renderCtx())))));
  if (S.pane === "pins") renderPins();
}

function renderPins() {
  const data = S.conversation;
  $("pins-channel").textContent = isDm(S.channel) ? "botyard" : "#" + channelName(S.channel);
  const box = $("pins-list");
  if (!data || !data.pins.length) {
    box.replaceChildren(h("div", { class: "empty" }, "Nothing is pinned here yet."));
    return;
  }
  box.replaceChildren(...data.pins.map((m) => h("div", { class: "pin-item", dataset: { ts: m.ts } },
    h("div", { class: "pin-meta" }, h("b", {}, userName(m.user)), " \u00b7 ", time(m.ts),
      h("span", { class: "pin-by" }, ` \u00b7 pinned by ${userName(m.pinned_by)}`)),
    h("div", { class: "pin-text" }, BlockKit.mrkdwn(m.text, renderCtx())),
    m.files && m.files.length ? h("div", { class: "msg-files" }, m.files.map(fileCard)) : null)));
}

async function react(at, m, name, add) {
  await post("react", { channel: at, ts: m.ts, name, add });
}

// --- threads -------------------------------------------------------------------

async function openThread(channelId, ts) {
  S.thread = { channel: channelId, ts };
  S.pane = "thread";
  renderPane();
  await loadThread();
  $("thread-input").focus();
}

async function loadThread() {
  if (!S.thread) return;
  const { channel: at, ts } = S.thread;
  const data = await get("thread", { as: S.me, channel: at, ts });
  if (!S.thread || S.thread.ts !== ts) return;
  const [parent, ...replies] = data.messages;
  const box = $("thread-messages");
  const nodes = [];
  if (parent) nodes.push(messageNode({ ...parent, reply_count: 0 }, false, at));
  nodes.push(h("div", { class: "thread-divider" }, `${replies.length} ${replies.length === 1 ? "reply" : "replies"}`));
  for (const r of replies) nodes.push(messageNode(r, false, at));
  box.replaceChildren(...nodes);
  box.scrollTop = box.scrollHeight;
  $("thread-channel").textContent = isDm(at) ? "botyard" : "#" + channelName(at);
}

// --- right pane: thread or apps panel -----------------------------------------------

function renderPane() {
  const pane = $("pane");
  pane.hidden = !S.pane;
  $("thread-pane").hidden = S.pane !== "thread";
  $("apps-pane").hidden = S.pane !== "apps";
  $("pins-pane").hidden = S.pane !== "pins";
  $("toggle-apps").classList.toggle("active", S.pane === "apps");
  $("pins-button").classList.toggle("active", S.pane === "pins");
  if (S.pane === "pins") renderPins();
}

function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  return `${Math.floor(s / 3600)}h ago`;
}

function renderApps() {
  const box = $("apps-list");
  // A refused edit of botyard.toml: the previous configuration keeps serving.
  const refused = S.configError ? h("section", { class: "app-card has-error config-error" },
    h("div", { class: "app-error" },
      h("div", { class: "app-error-title" }, "botyard.toml edit not applied — the previous configuration keeps serving", " · ", ago(S.configError.at_ms)),
      h("pre", {}, S.configError.message))) : null;
  // The backends `botyard dev` made up for the apps (servers, metrics …).
  const simulated = S.simulated.length ? h("section", { class: "app-card simulated", id: "simulated" },
    h("div", { class: "app-head" }, h("span", { class: "app-name" }, "Simulated backends")),
    ...S.simulated.map((s) => h("div", { class: "simulated-item" },
      h("span", { class: "badge-simulated" }, "simulated"), " ", h("b", {}, s.name), " ",
      h("code", {}, s.url), h("div", { class: "app-desc" }, s.about)))) : null;
  if (!S.apps.length) {
    box.replaceChildren(...[refused, simulated, h("div", { class: "empty" }, "No apps loaded yet. Drop a component into the apps directory, or ", h("code", {}, "botyard build <dir> --install"), ".")].filter(Boolean));
    return;
  }
  box.replaceChildren(...[refused, simulated].filter(Boolean), ...S.apps.map((a) => {
    const commands = [...(a.commands || []), ...(a.subcommands || [])];
    return h("section", { class: "app-card" + (a.error ? " has-error" : ""), dataset: { app: a.id } },
      h("div", { class: "app-head" },
        h("span", { class: "app-name" }, a.id),
        a.version ? h("code", { class: "app-version", title: "component hash" }, a.version) : h("span", { class: "app-version none" }, "not loaded"),
        a.loaded_at_ms ? h("span", { class: "app-loaded", title: new Date(a.loaded_at_ms).toLocaleString() }, "loaded " + ago(a.loaded_at_ms)) : null),
      a.description ? h("div", { class: "app-desc" }, a.description) : null,
      a.error ? h("div", { class: "app-error" },
        h("div", { class: "app-error-title" }, a.version ? "Last reload failed — the version above keeps serving" : "Failed to load", " · ", ago(a.error.at_ms)),
        h("pre", {}, a.error.message)) : null,
      a.grants ? h("div", { class: "chips" }, a.grants.map((g) => h("span", { class: "chip" }, g))) : null,
      commands.length ? h("ul", { class: "app-commands" }, commands.map((c) =>
        h("li", {}, h("code", {}, c.name), c.usage ? h("span", { class: "usage" }, " " + c.usage) : null, h("span", { class: "desc" }, " — " + c.description)))) : null,
      a.shortcuts && a.shortcuts.length ? h("ul", { class: "app-commands app-shortcuts" }, a.shortcuts.map((s) =>
        h("li", {}, h("span", { class: "shortcut-kind" }, s.kind === "message" ? "\u22ee" : "\u26a1"), h("b", {}, " " + s.name), h("span", { class: "desc" }, s.description ? " — " + s.description : "")))) : null,
      a.settings && a.settings.length ? h("details", { class: "app-section app-settings", open: true },
        h("summary", {}, "Settings"),
        h("table", { class: "invocations" }, a.settings.map((st) =>
          h("tr", { class: st.source === "unset" ? "failed" : "ok", title: st.description || "", dataset: { setting: st.name } },
            h("td", {}, h("code", {}, st.name)),
            h("td", { class: "setting-value" }, st.value === null || st.value === undefined ? "—" : String(st.value)),
            h("td", { class: "setting-source" }, st.source + (st.required ? ", required" : "")))))) : null,
      a.quotas && a.quotas.length ? h("details", { class: "app-section app-quotas", open: a.quotas.some((q) => q.full) },
        h("summary", {}, "Quotas" + (a.quotas.some((q) => q.full) ? " — at a limit" : "")),
        h("table", { class: "quotas" }, a.quotas.map((q) =>
          h("tr", { class: q.full ? "quota-full" : "", dataset: { quota: q.name } },
            h("td", {}, h("code", {}, q.name)),
            h("td", { class: "quota-use" }, q.text))))) : null,
      a.http && a.http.length ? h("details", { class: "app-section app-http" },
        h("summary", {}, "May reach (HTTP)"),
        h("ul", { class: "app-commands" }, a.http.map((rule) => h("li", {}, h("code", {}, rule))))) : null,
      a.webhooks && a.webhooks.length ? h("details", { class: "app-section app-webhooks", open: true },
        h("summary", {}, "Webhooks"),
        h("ul", { class: "app-commands" }, a.webhooks.map((w) =>
          h("li", {}, h("code", {}, "POST " + w.path), h("span", { class: "desc" },
            w.verify ? ` — verify: ${w.verify}` : " — not configured: refused (add [apps." + a.id + ".webhooks." + w.name + "])")))),
        (S.deliveries[a.id] || []).length ? h("table", { class: "invocations deliveries" }, S.deliveries[a.id].map((d) =>
          h("tr", { class: d.status === "dead" ? "failed" : "ok", title: d.last_error || "", dataset: { delivery: d.id } },
            h("td", { class: "inv-outcome" }, d.status === "done" ? "\u2713" : d.status === "dead" ? "\u2717" : "\u2026"),
            h("td", { class: "inv-kind" }, d.hook),
            h("td", { class: "inv-detail" }, d.delivery_id, ` · ${d.status}, ${d.attempts} ${d.attempts === 1 ? "try" : "tries"}`,
              d.last_error ? h("div", { class: "inv-error" }, d.last_error) : null),
            h("td", {}, h("button", { class: "replay", onclick: () => replay(d.id) }, "Replay")),
            h("td", { class: "inv-when" }, ago(d.received_ms))))) : h("div", { class: "empty" }, "No deliveries yet.")) : null,
      a.invocations.length ? h("details", { class: "app-section", open: true },
        h("summary", {}, "Recent invocations"),
        h("table", { class: "invocations" }, a.invocations.map((r) =>
          h("tr", { class: r.ok ? "ok" : "failed", title: r.error || "" },
            h("td", { class: "inv-outcome" }, r.ok ? "\u2713" : "\u2717"),
            h("td", { class: "inv-kind" }, r.kind),
            h("td", { class: "inv-detail" }, r.detail, r.error ? h("div", { class: "inv-error" }, r.error) : null),
            h("td", { class: "inv-duration" }, `${(r.duration_us / 1000).toFixed(1)} ms`),
            h("td", { class: "inv-when" }, ago(r.at_ms)))))) : null,
      a.logs.length ? h("details", { class: "app-section" },
        h("summary", {}, `Log (${a.logs.length})`),
        h("div", { class: "logs" }, a.logs.slice().reverse().map((l) =>
          h("div", { class: `log log-${l.level}` }, h("span", { class: "log-time" }, new Date(l.at_ms).toLocaleTimeString()), h("span", { class: "log-level" }, l.level), l.message)))) : null);
  }));
}

async function loadApps() {
  const [data, hooks] = await Promise.all([get("apps"), get("webhooks")]);
  S.apps = data.apps;
  S.configError = data.config_error || null;
  S.simulated = data.simulated || [];
  S.deliveries = {};
  for (const d of hooks.deliveries) (S.deliveries[d.app] ||= []).push(d);
  renderApps();
}

/// Hands a webhook delivery to its app again.
async function replay(id) {
  const response = await fetch(`/api/webhooks/${id}/replay`, { method: "POST" });
  if (!response.ok) toast(`Replay: ${await response.text()}`);
  loadApps();
}

// --- modals and App Home ---------------------------------------------------------

async function loadViews() {
  S.views = await get("views", { as: S.me });
  renderModal();
  if (S.tab === "home") renderHome();
}

function renderModal() {
  const root = $("modal-root");
  const stack = S.views.stack;
  if (!stack.length) { root.replaceChildren(); return; }
  const top = stack[stack.length - 1];
  const v = top.view;
  const sc = scopeFor(`view/${top.id}`, { view_id: top.id }, v.blocks, true);
  sc.errors = top.errors || null;
  const submit = async (e) => {
    e.preventDefault();
    const button = e.submitter || root.querySelector(".modal-submit");
    if (button) button.disabled = true;
    await post("submit", { view_id: top.id, values: BlockKit.stateValues(sc) });
    await loadViews();
  };
  const close = (clear) => post("close", { view_id: top.id, clear }).then(loadViews);
  root.replaceChildren(h("div", { class: "overlay" },
    h("form", { class: "modal", dataset: { viewId: top.id, callbackId: v.callback_id || "" }, onsubmit: submit },
      h("div", { class: "modal-head" },
        stack.length > 1 ? h("button", { type: "button", class: "modal-back", title: "Back", onclick: () => close(false) }, "\u2190") : null,
        h("h2", { class: "modal-title" }, BlockKit.plain(v.title)),
        h("button", { type: "button", class: "modal-x", title: "Close", onclick: () => close(true) }, "\u2715")),
      h("div", { class: "modal-body" }, BlockKit.render(v.blocks, sc)),
      h("div", { class: "modal-foot" },
        h("button", { type: "button", class: "bk-button modal-close", onclick: () => close(false) }, v.close ? BlockKit.plain(v.close) : "Cancel"),
        v.submit ? h("button", { type: "submit", class: "bk-button bk-primary modal-submit" }, BlockKit.plain(v.submit)) : null))));
  const first = root.querySelector("input, textarea, select");
  if (first && !root.contains(document.activeElement)) first.focus();
}

function renderHome() {
  const box = $("home");
  const home = S.views.home;
  if (!home) {
    box.replaceChildren(h("div", { class: "empty" },
      h("div", { class: "empty-title" }, "No Home tab yet"),
      h("div", {}, "An app shows one here by calling ", h("code", {}, "publish-home"), " (for example on ", h("code", {}, "app_home_opened"), ").")));
    return;
  }
  box.replaceChildren(h("div", { class: "home-view", dataset: { viewId: home.id } },
    BlockKit.render(home.blocks, scopeFor(`view/${home.id}`, { view_id: home.id }, home.blocks, true))));
}

// --- composer ----------------------------------------------------------------

const composer = { matches: [], index: 0, kind: null };

/// What the person typed, as Slack stores it: `&`, `<` and `>` escaped,
/// links, `@name` and `#channel` turned into Slack's `<…>` forms.
function encodeMessage(text) {
  let out = text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  out = out.replace(/(^|\s)(https?:\/\/[^\s]+)/g, "$1<$2>");
  out = out.replace(/(^|\s)@([a-z0-9._-]+)/gi, (whole, pre, name) => {
    // `@botyard` is the bot: plain words (`@botyard approve PO-123`).
    if (name.toLowerCase() === S.workspace.bot.name) return `${pre}<@${S.workspace.bot.id}>`;
    const u = S.workspace.users.find((x) => x.name.toLowerCase() === name.toLowerCase());
    return u ? `${pre}<@${u.id}>` : whole;
  });
  out = out.replace(/(^|\s)#([a-z0-9_-]+)/gi, (whole, pre, name) => {
    const c = S.workspace.channels.find((x) => x.name === name.toLowerCase());
    return c ? `${pre}<#${c.id}|${c.name}>` : whole;
  });
  return out;
}

async function send(input, threadTs) {
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  autosize(input);
  hideSuggestions();
  if (text.startsWith("/") && !threadTs) {
    input.classList.add("sending");
    const answer = await post("command", { channel: S.channel, text });
    input.classList.remove("sending");
    if (!answer || !answer.ok) input.value = text;
  } else {
    await post("message", { channel: threadTs ? S.thread.channel : S.channel, text: encodeMessage(text), thread_ts: threadTs || null });
  }
}

function suggestions(input) {
  const value = input.value.slice(0, input.selectionStart);
  const box = $("suggestions");
  if (value.startsWith("/") && !value.includes("\n")) {
    // While the command is being typed, list matches; once it is complete
    // and arguments follow, show its usage instead.
    const typed = value.toLowerCase();
    composer.kind = "command";
    // Only what the person acting may run here (the host's permission
    // rules); the whole list until the host has answered.
    const key = S.me + "/" + S.channel;
    if (S.commandsFor !== key) {
      S.commandsFor = key;
      S.commands = null;
      get("commands", { as: S.me, channel: S.channel })
        .then((data) => { S.commands = data.commands; if (S.commandsFor === key) suggestions(input); })
        .catch(() => { S.commandsFor = null; });
    }
    const offered = S.commands || S.workspace.commands;
    composer.matches = offered.filter((c) => c.command.startsWith(typed));
    const full = offered
      .filter((c) => typed.startsWith(c.command + " "))
      .sort((a, b) => b.command.length - a.command.length)[0];
    showHint(composer.matches.length ? null : full);
  } else {
    showHint(null);
    const m = /(^|\s)([@#])([a-z0-9._-]*)$/i.exec(value);
    if (!m) { hideSuggestions(); return; }
    const q = m[3].toLowerCase();
    composer.kind = m[2];
    composer.token = m[2] + m[3];
    composer.matches = m[2] === "@"
      ? S.workspace.users.filter((u) => u.name.toLowerCase().startsWith(q) || (u.real_name || "").toLowerCase().startsWith(q))
      : S.workspace.channels.filter((c) => c.name.startsWith(q));
  }
  if (!composer.matches.length) { hideSuggestions(); return; }
  composer.index = Math.min(composer.index, composer.matches.length - 1);
  composer.input = input;
  box.hidden = false;
  box.replaceChildren(
    h("div", { class: "suggest-title" }, composer.kind === "command" ? "Commands matching" : composer.kind === "@" ? "People" : "Channels"),
    ...composer.matches.map((c, i) => h("div", {
      class: "suggest" + (i === composer.index ? " active" : ""), dataset: { value: c.command || c.name },
      onmousedown: (e) => { e.preventDefault(); composer.index = i; complete(); },
    }, composer.kind === "command"
      ? [h("span", { class: "suggest-cmd" }, c.command), c.usage ? h("span", { class: "suggest-usage" }, " " + c.usage) : null,
        h("span", { class: "suggest-desc" }, c.description), h("span", { class: "suggest-app" }, c.app)]
      : composer.kind === "@"
        ? [avatar(c.id, "avatar-xs"), h("span", { class: "suggest-cmd" }, c.is_bot ? c.name : c.real_name), h("span", { class: "suggest-usage" }, " " + c.name)]
        : [h("span", { class: "suggest-cmd" }, "#" + c.name)])));
}

function showHint(command) {
  const hint = $("usage-hint");
  hint.hidden = !command;
  if (command) hint.replaceChildren(h("code", {}, command.command), command.usage ? " " + command.usage : "", h("span", { class: "hint-desc" }, " — " + command.description));
}

function hideSuggestions() {
  $("suggestions").hidden = true;
  composer.matches = [];
  composer.index = 0;
}

function complete() {
  const choice = composer.matches[composer.index];
  const input = composer.input;
  if (!choice || !input) return;
  if (composer.kind === "command") {
    input.value = choice.command + " ";
  } else {
    const before = input.value.slice(0, input.selectionStart);
    const after = input.value.slice(input.selectionStart);
    const name = composer.kind === "@" ? "@" + choice.name : "#" + choice.name;
    input.value = before.slice(0, before.length - composer.token.length) + name + " " + after;
  }
  input.focus();
  input.setSelectionRange(input.value.length, input.value.length);
  hideSuggestions();
  suggestions(input);
}

function autosize(input) {
  input.style.height = "auto";
  input.style.height = Math.min(input.scrollHeight, 200) + "px";
}

function wireComposer(input, threadTs) {
  input.addEventListener("input", () => { autosize(input); suggestions(input); });
  input.addEventListener("blur", () => setTimeout(hideSuggestions, 100));
  input.addEventListener("keydown", (e) => {
    const open = !$("suggestions").hidden && composer.input === input;
    if (open && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      e.preventDefault();
      composer.index = (composer.index + (e.key === "ArrowDown" ? 1 : -1) + composer.matches.length) % composer.matches.length;
      suggestions(input);
      return;
    }
    if (open && e.key === "Tab") { e.preventDefault(); complete(); return; }
    if (open && e.key === "Escape") { hideSuggestions(); return; }
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      // Enter on a partly typed command picks it; on a complete one sends.
      const typed = input.value.trim();
      if (open && composer.kind === "command" && composer.matches[composer.index] && composer.matches[composer.index].command !== typed && !typed.includes(" ")) { complete(); return; }
      if (open && composer.kind !== "command") { complete(); return; }
      send(input, threadTs());
    }
  });
}

// --- reactions picker ------------------------------------------------------------

const QUICK = ["+1", "white_check_mark", "eyes", "tada", "raised_hands", "heart", "joy", "fire", "rocket", "unicorn_face", "pray", "100"];

function picker(anchor, choose) {
  document.querySelectorAll(".picker").forEach((p) => p.remove());
  const grid = h("div", { class: "picker-grid" });
  const fill = (q) => {
    const list = q ? BlockKit.EMOJI_ORDER.filter((e) => e.names.some((n) => n.includes(q))).slice(0, 120)
      : QUICK.map((n) => BlockKit.EMOJI_ORDER.find((e) => e.names.includes(n))).filter(Boolean);
    grid.replaceChildren(...list.map((e) => h("button", {
      class: "picker-emoji", title: `:${e.name}:`, dataset: { name: e.name },
      onclick: () => { box.remove(); choose(e.name); },
    }, e.char)));
  };
  const search = h("input", { class: "picker-search", placeholder: "Search emoji", oninput: (e) => fill(e.target.value.trim().toLowerCase()) });
  const box = h("div", { class: "picker" }, search, grid);
  fill("");
  document.body.append(box);
  const r = anchor.getBoundingClientRect();
  box.style.top = Math.max(8, Math.min(window.innerHeight - box.offsetHeight - 8, r.bottom + 4)) + "px";
  box.style.left = Math.max(8, Math.min(window.innerWidth - box.offsetWidth - 8, r.right - box.offsetWidth)) + "px";
  search.focus();
  setTimeout(() => document.addEventListener("mousedown", function away(e) {
    if (!box.contains(e.target)) { box.remove(); document.removeEventListener("mousedown", away); }
  }), 0);
}

// --- live updates -------------------------------------------------------------

/// Opens the live socket; resolves once the server subscribed this page, so
/// reads made after it miss no change.
function connect() {
  return new Promise((resolve) => {
    const socket = new WebSocket(`ws://${location.host}/api/live`);
    socket.onmessage = (e) => {
      const notice = JSON.parse(e.data);
      if (notice.kind === "hello") {
        setConnected(true);
        resolve();
      } else onNotice(notice);
    };
    socket.onclose = () => {
      setConnected(false);
      resolve();
      setTimeout(() => connect().then(() => document.body.dataset.ready && refreshAll()), 1000);
    };
  });
}

function setConnected(on) {
  const status = $("status");
  status.classList.toggle("online", on);
  status.textContent = on ? "connected" : "reconnecting\u2026";
}

function onNotice(n) {
  switch (n.kind) {
    case "message":
      if (n.visible_to && n.visible_to !== S.me) break;
      if (n.channel === S.channel && S.tab === "messages") loadConversation();
      else if (!n.thread_ts && (!isDm(n.channel) || n.channel === myDm())) { S.unread.add(n.channel); renderSidebar(); }
      if (S.thread && S.thread.channel === n.channel && (n.thread_ts === S.thread.ts || n.ts === S.thread.ts)) loadThread();
      break;
    case "views": case "home":
      if (n.user === S.me) loadViews();
      break;
    case "channel":
      if (n.channel === S.channel && S.tab === "messages") loadConversation();
      break;
    case "directory": refreshWorkspace(); break;
    case "apps": loadApps(); refreshWorkspace(); break;
    default: refreshAll();
  }
}

async function refreshWorkspace() {
  S.workspace = await get("workspace");
  S.commandsFor = null;
  renderSidebar();
}

async function refreshAll() {
  await refreshWorkspace();
  await Promise.all([loadConversation(), loadViews(), loadApps(), loadThread()]);
}

function toast(text) {
  const box = $("toast");
  const item = h("div", { class: "toast-item" }, text);
  box.append(item);
  setTimeout(() => item.remove(), 6000);
}

// --- start -------------------------------------------------------------------

async function main() {
  S.workspace = await get("workspace");
  const people = S.workspace.users.filter((u) => !u.is_bot);
  const wanted = new URLSearchParams(location.search).get("as");
  S.me = (people.find((u) => u.name === wanted || u.id === wanted) || people[0]).id;
  S.channel = visibleChannels()[0].id;
  $("workspace-name").textContent = S.workspace.team.domain;
  $("user-switch").addEventListener("change", async (e) => {
    const wasDm = isDm(S.channel);
    S.me = e.target.value;
    S.scopes.clear();
    S.messageNodes.clear();
    S.unread.clear();
    if (wasDm) S.channel = myDm();
    renderSidebar();
    renderHeader();
    await Promise.all([loadConversation(), loadViews(), loadThread()]);
    if (S.tab === "home") await post("home", {});
  });
  $("toggle-apps").addEventListener("click", () => { S.pane = S.pane === "apps" ? null : "apps"; renderPane(); });
  $("close-thread").addEventListener("click", () => { S.thread = null; S.pane = null; renderPane(); });
  $("close-pins").addEventListener("click", () => { S.pane = null; renderPane(); });
  $("pins-button").addEventListener("click", () => { S.pane = S.pane === "pins" ? null : "pins"; renderPane(); });
  $("shortcuts-button").addEventListener("click", (e) => openGlobalShortcuts(e.currentTarget));
  for (const tab of $("tabs").querySelectorAll("button")) tab.addEventListener("click", () => openChannel(myDm(), tab.dataset.tab));
  wireComposer($("composer-input"), () => null);
  wireComposer($("thread-input"), () => S.thread && S.thread.ts);
  $("composer-send").addEventListener("click", () => send($("composer-input"), null));
  renderSidebar();
  renderHeader();
  renderPane();
  await connect();
  await Promise.all([loadConversation(), loadViews(), loadApps()]);
  setInterval(() => { if (S.pane === "apps") renderApps(); }, 10000); // keeps "loaded 5s ago" honest
  document.body.dataset.ready = "1";
  $("composer-input").focus();
}

main().catch((e) => toast(`The workbench failed to start: ${e.message}`));
