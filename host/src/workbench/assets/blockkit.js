// Block Kit and mrkdwn, rendered the way Slack shows them. Builds DOM nodes
// (never HTML strings), so nothing an app sends can inject markup.
"use strict";

const BlockKit = (() => {
  // --- emoji ---------------------------------------------------------------

  const EMOJI = new Map();
  const EMOJI_ORDER = [];
  for (const entry of EMOJI_DATA.split("|")) {
    const [names, hex] = entry.split(":");
    const char = String.fromCodePoint(...hex.split("-").map((h) => parseInt(h, 16)));
    const list = names.split(",");
    EMOJI_ORDER.push({ name: list[0], names: list, char });
    for (const name of list) EMOJI.set(name, char);
  }
  const SKIN_TONES = { 2: "\u{1F3FB}", 3: "\u{1F3FC}", 4: "\u{1F3FD}", 5: "\u{1F3FE}", 6: "\u{1F3FF}" };

  function emoji(name, tone) {
    const char = EMOJI.get(name);
    if (!char) return null;
    return tone && SKIN_TONES[tone] ? char + SKIN_TONES[tone] : char;
  }

  // --- DOM helpers ---------------------------------------------------------

  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key in node && typeof value !== "string") node[key] = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /// Slack escapes only these three in message text.
  function unescape(text) {
    return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  }

  // --- mrkdwn --------------------------------------------------------------

  /// Replaces `:shortcode:` in plain text with emoji (unknown ones stay).
  function emojify(text) {
    return text.replace(/:([a-z0-9_+'-]+):(?::skin-tone-([2-6]):)?/g, (whole, name, tone) => emoji(name, tone) || whole);
  }

  /// Splits a line into atoms: code spans, `<…>` specials, emoji and text
  /// characters. Style markers pair up over atoms, so `*bold <link>*` works.
  function atomize(line, ctx) {
    const atoms = [];
    const re = /`([^`]+)`|<([^<>]+)>|:([a-z0-9_+'-]+):(?::skin-tone-([2-6]):)?/g;
    let last = 0;
    let m;
    const pushText = (text) => {
      for (const ch of unescape(text)) atoms.push({ ch });
    };
    while ((m = re.exec(line))) {
      pushText(line.slice(last, m.index));
      if (m[1] !== undefined) atoms.push({ node: h("code", { class: "mrkdwn-code" }, unescape(m[1])) });
      else if (m[2] !== undefined) atoms.push({ node: special(m[2], ctx) });
      else {
        const char = emoji(m[3], m[4]);
        if (char) atoms.push({ node: h("span", { class: "emoji", title: `:${m[3]}:` }, char) });
        else pushText(m[0]);
      }
      last = re.lastIndex;
    }
    pushText(line.slice(last));
    return atoms;
  }

  /// `<@U…>`, `<#C…|name>`, `<!here>`, `<url|label>`.
  function special(body, ctx) {
    const [target, label] = splitOnce(body, "|");
    if (target.startsWith("@")) {
      const id = target.slice(1);
      const name = label || (ctx.userName ? ctx.userName(id) : id);
      return h("span", { class: "mention" + (ctx.me === id ? " mention-me" : ""), dataset: { user: id } }, "@" + unescape(name));
    }
    if (target.startsWith("#")) {
      const id = target.slice(1);
      const name = label || (ctx.channelName ? ctx.channelName(id) : id);
      return h("a", {
        class: "mention channel-mention",
        href: "#",
        dataset: { channel: id },
        onclick: (e) => { e.preventDefault(); ctx.openChannel && ctx.openChannel(id); },
      }, "#" + unescape(name));
    }
    if (target.startsWith("!")) {
      const [cmd] = splitOnce(target.slice(1), "^");
      if (cmd === "date") return h("span", {}, unescape(label || ""));
      const name = label || "@" + cmd;
      return h("span", { class: "mention mention-broadcast" }, unescape(name.startsWith("@") ? name : "@" + name));
    }
    return h("a", { href: safeUrl(unescape(target)) || "#", target: "_blank", rel: "noopener noreferrer", class: "link" }, unescape(label || target));
  }

  /// Only web and mail links: an app's `javascript:` URL must not run here.
  function safeUrl(url) {
    return /^(https?:|mailto:)/i.test(url || "") ? url : null;
  }

  function splitOnce(text, sep) {
    const at = text.indexOf(sep);
    return at < 0 ? [text, null] : [text.slice(0, at), text.slice(at + 1)];
  }

  const MARKERS = { "*": "b", _: "i", "~": "s" };
  const isSpace = (a) => !a || (a.ch !== undefined && /\s/.test(a.ch));
  const isBoundary = (a) => !a || (a.ch !== undefined && /[\s.,;:!?'"()\[\]{}\-*_~]/.test(a.ch));

  /// Pairs `*`, `_` and `~` into bold, italic and strike, as Slack does:
  /// an opener follows a boundary and precedes a non-space, a closer the reverse.
  function styled(atoms, from, to) {
    const out = [];
    let text = "";
    const flush = () => { if (text) { out.push(document.createTextNode(text)); text = ""; } };
    let i = from;
    while (i < to) {
      const a = atoms[i];
      const tag = a.ch !== undefined && MARKERS[a.ch];
      if (tag && isBoundary(atoms[i - 1]) && !isSpace(atoms[i + 1]) && i + 1 < to) {
        let close = -1;
        for (let j = i + 2; j < to; j++) {
          if (atoms[j].ch === a.ch && !isSpace(atoms[j - 1]) && (j + 1 >= to || isBoundary(atoms[j + 1]))) {
            close = j;
            break;
          }
        }
        if (close > 0) {
          flush();
          out.push(h(tag, {}, styled(atoms, i + 1, close)));
          i = close + 1;
          continue;
        }
      }
      if (a.node) { flush(); out.push(a.node); } else text += a.ch;
      i++;
    }
    flush();
    return out;
  }

  /// Slack's mrkdwn: styles, code spans and blocks, quotes, links, mentions
  /// and emoji.
  function mrkdwn(text, ctx = {}) {
    const root = h("span", { class: "mrkdwn" });
    const parts = String(text || "").split("```");
    parts.forEach((part, index) => {
      if (index % 2 === 1 && index < parts.length - 1) {
        root.append(h("pre", { class: "mrkdwn-pre" }, unescape(part.replace(/^\n/, ""))));
        return;
      }
      const chunk = index % 2 === 1 ? "```" + part : part;
      const lines = chunk.split("\n");
      let quote = null;
      lines.forEach((line, n) => {
        const quoted = /^(&gt;|>)\s?/.exec(line);
        const atoms = atomize(quoted ? line.slice(quoted[0].length) : line, ctx);
        const content = styled(atoms, 0, atoms.length);
        if (quoted) {
          if (!quote) { quote = h("blockquote", { class: "mrkdwn-quote" }); root.append(quote); }
          else quote.append(h("br"));
          quote.append(...content);
          return;
        }
        quote = null;
        root.append(...content);
        if (n < lines.length - 1) root.append(h("br"));
      });
    });
    return root;
  }

  /// A text object: `plain_text` (with `:emoji:` unless `emoji: false`) or `mrkdwn`.
  function text(obj, ctx) {
    if (!obj) return h("span");
    if (typeof obj === "string") return mrkdwn(obj, ctx);
    if (obj.type === "mrkdwn") return mrkdwn(obj.text, ctx);
    return h("span", { class: "plain" }, obj.emoji === false ? obj.text : emojify(obj.text || ""));
  }

  function plain(obj) {
    return obj ? emojify(obj.text || "") : "";
  }

  // --- interactive state -------------------------------------------------------

  /// An element's entry in Slack's `state.values`, from the page's value(s).
  function stateEntry(el, value) {
    const entry = { type: el.type };
    const option = (v) => findOption(el, v);
    switch (el.type) {
      case "plain_text_input": case "number_input": case "email_text_input": case "url_text_input":
        entry.value = value ?? null; break;
      case "datepicker": entry.selected_date = value || null; break;
      case "timepicker": entry.selected_time = value || null; break;
      case "datetimepicker": entry.selected_date_time = value ? Number(value) : null; break;
      case "users_select": entry.selected_user = value || null; break;
      case "conversations_select": entry.selected_conversation = value || null; break;
      case "channels_select": entry.selected_channel = value || null; break;
      case "multi_users_select": entry.selected_users = value || []; break;
      case "multi_conversations_select": entry.selected_conversations = value || []; break;
      case "multi_channels_select": entry.selected_channels = value || []; break;
      case "checkboxes": case "multi_static_select": case "multi_external_select":
        entry.selected_options = (value || []).map(option); break;
      default: entry.selected_option = value ? option(value) : null;
    }
    return entry;
  }

  function options(el) {
    const list = [...(el.options || [])];
    for (const group of el.option_groups || []) list.push(...(group.options || []));
    return list;
  }

  function findOption(el, value) {
    return options(el).find((o) => o.value === value) || { text: { type: "plain_text", text: value }, value };
  }

  /// The element's initial value(s), as the page keeps them.
  function initialValue(el) {
    switch (el.type) {
      case "plain_text_input": case "email_text_input": case "url_text_input": case "number_input": return el.initial_value ?? "";
      case "datepicker": return el.initial_date || "";
      case "timepicker": return el.initial_time || "";
      case "datetimepicker": return el.initial_date_time ? String(el.initial_date_time) : "";
      case "users_select": return el.initial_user || "";
      case "conversations_select": return el.initial_conversation || "";
      case "channels_select": return el.initial_channel || "";
      case "multi_users_select": return el.initial_users || [];
      case "multi_conversations_select": return el.initial_conversations || [];
      case "multi_channels_select": return el.initial_channels || [];
      case "checkboxes": case "multi_static_select": return (el.initial_options || []).map((o) => o.value);
      default: return el.initial_option ? el.initial_option.value : "";
    }
  }

  // --- elements ------------------------------------------------------------

  /// Renders one interactive element. `scope` knows the container: it keeps
  /// values across redraws and sends actions (`scope.act`).
  function element(el, blockId, scope, inInput) {
    const ctx = scope.ctx;
    const key = `${blockId}/${el.action_id}`;
    const current = scope.values.has(key) ? scope.values.get(key) : initialValue(el);
    scope.values.set(key, current);
    scope.elements.set(key, { el, blockId });
    // Inside an input block an element only acts when the block asks to.
    const live = !inInput || scope.dispatch(blockId);
    const changed = (value) => {
      scope.values.set(key, value);
      if (live) scope.act(el, blockId, value);
    };
    const common = { dataset: { actionId: el.action_id || "", blockId } };
    switch (el.type) {
      case "button": {
        const cls = "bk-button" + (el.style === "primary" ? " bk-primary" : el.style === "danger" ? " bk-danger" : "");
        return h("button", {
          ...common, class: cls, type: "button",
          onclick: async () => {
            if (el.confirm && !(await confirmDialog(el.confirm, ctx))) return;
            if (safeUrl(el.url)) window.open(el.url, "_blank", "noopener");
            scope.act(el, blockId, el.value ?? "");
          },
        }, plain(el.text));
      }
      case "overflow": return overflow(el, blockId, scope, common);
      case "static_select": case "external_select": case "users_select": case "conversations_select": case "channels_select":
        return select(el, current, changed, common, ctx, false);
      case "multi_static_select": case "multi_external_select": case "multi_users_select": case "multi_conversations_select": case "multi_channels_select":
        return select(el, current, changed, common, ctx, true);
      case "datepicker":
        return h("input", { ...common, class: "bk-date", type: "date", value: current, onchange: (e) => changed(e.target.value) });
      case "timepicker":
        return h("input", { ...common, class: "bk-date", type: "time", value: current, onchange: (e) => changed(e.target.value) });
      case "datetimepicker": {
        const local = current ? new Date(Number(current) * 1000).toISOString().slice(0, 16) : "";
        return h("input", { ...common, class: "bk-date", type: "datetime-local", value: local,
          onchange: (e) => changed(e.target.value ? String(Math.floor(new Date(e.target.value).getTime() / 1000)) : "") });
      }
      case "checkboxes": return choices(el, current, changed, common, ctx, "checkbox");
      case "radio_buttons": return choices(el, current, changed, common, ctx, "radio");
      case "plain_text_input": case "number_input": case "email_text_input": case "url_text_input": {
        const type = { number_input: "number", email_text_input: "email", url_text_input: "url" }[el.type] || "text";
        const attrs = {
          ...common, class: "bk-text-input", value: current, placeholder: el.placeholder ? plain(el.placeholder) : null,
          maxlength: el.max_length || null,
          oninput: (e) => scope.values.set(key, e.target.value),
          onchange: (e) => changed(e.target.value),
        };
        return el.multiline ? h("textarea", { ...attrs, rows: 4 }) : h("input", { ...attrs, type });
      }
      case "image":
        return image(el.image_url, el.alt_text, "bk-img-el");
      default:
        return h("span", { class: "bk-unsupported" }, `[${el.type}]`);
    }
  }

  function select(el, current, changed, common, ctx, multiple) {
    let opts;
    if (el.type.includes("users")) opts = (ctx.users || []).map((u) => ({ value: u.id, label: u.real_name || u.name }));
    else if (el.type.includes("conversations") || el.type.includes("channels")) opts = (ctx.channels || []).map((c) => ({ value: c.id, label: "#" + c.name }));
    else opts = null;
    const node = h("select", {
      ...common, class: "bk-select" + (multiple ? " bk-multi" : ""), multiple,
      onchange: (e) => changed(multiple ? [...e.target.selectedOptions].map((o) => o.value) : e.target.value),
    });
    if (!multiple) node.append(h("option", { value: "", disabled: true, selected: !current }, el.placeholder ? plain(el.placeholder) : "Select an item"));
    const chosen = (v) => (multiple ? (current || []).includes(v) : current === v);
    const add = (parent, list) => {
      for (const o of list) parent.append(h("option", { value: o.value, selected: chosen(o.value) }, o.label));
    };
    if (opts) add(node, opts);
    else {
      add(node, (el.options || []).map((o) => ({ value: o.value, label: plain(o.text) })));
      for (const group of el.option_groups || []) {
        const g = h("optgroup", { label: plain(group.label) });
        add(g, (group.options || []).map((o) => ({ value: o.value, label: plain(o.text) })));
        node.append(g);
      }
    }
    return node;
  }

  function choices(el, current, changed, common, ctx, kind) {
    const name = `${kind}-${Math.random().toString(36).slice(2)}`;
    const box = h("div", { ...common, class: "bk-choices" });
    const picked = () => [...box.querySelectorAll("input")].filter((i) => i.checked).map((i) => i.value);
    for (const o of el.options || []) {
      const checked = kind === "checkbox" ? (current || []).includes(o.value) : current === o.value;
      box.append(h("label", { class: "bk-choice" },
        h("input", { type: kind, name, value: o.value, checked,
          onchange: () => changed(kind === "checkbox" ? picked() : picked()[0] || "") }),
        h("span", { class: "bk-choice-text" }, text(o.text, ctx),
          o.description ? h("span", { class: "bk-choice-desc" }, text(o.description, ctx)) : null)));
    }
    return box;
  }

  function overflow(el, blockId, scope, common) {
    const wrap = h("span", { class: "bk-overflow-wrap" });
    const menu = h("div", { class: "bk-menu", hidden: true });
    for (const o of el.options || []) {
      menu.append(h("button", {
        type: "button", class: "bk-menu-item", dataset: { value: o.value },
        onclick: () => { menu.hidden = true; if (safeUrl(o.url)) window.open(o.url, "_blank", "noopener"); scope.act(el, blockId, o.value); },
      }, plain(o.text)));
    }
    const button = h("button", {
      ...common, type: "button", class: "bk-button bk-overflow", title: "More actions",
      onclick: (e) => {
        e.stopPropagation();
        menu.hidden = !menu.hidden;
        if (!menu.hidden) document.addEventListener("click", () => { menu.hidden = true; }, { once: true });
      },
    }, "\u22EE");
    wrap.append(button, menu);
    return wrap;
  }

  function image(url, alt, cls) {
    const img = h("img", { src: url, alt: alt || "", class: cls, loading: "lazy" });
    // Offline, remote images fail: show their alt text where they would be.
    img.addEventListener("error", () => img.replaceWith(h("span", { class: cls + " bk-img-missing", title: url }, alt || "image")), { once: true });
    return img;
  }

  function confirmDialog(confirm, ctx) {
    return new Promise((resolve) => {
      const done = (answer) => { overlay.remove(); resolve(answer); };
      const overlay = h("div", { class: "overlay confirm-overlay" },
        h("div", { class: "confirm" },
          h("h2", {}, plain(confirm.title) || "Are you sure?"),
          h("div", { class: "confirm-text" }, text(confirm.text, ctx)),
          h("div", { class: "confirm-buttons" },
            h("button", { class: "bk-button", type: "button", onclick: () => done(false) }, plain(confirm.deny) || "Cancel"),
            h("button", { class: "bk-button " + (confirm.style === "danger" ? "bk-danger" : "bk-primary"), type: "button", onclick: () => done(true) },
              plain(confirm.confirm) || "Yes"))));
      document.body.append(overlay);
    });
  }

  // --- blocks --------------------------------------------------------------

  function richText(block, ctx) {
    const inline = (els) => (els || []).map((e) => {
      switch (e.type) {
        case "text": {
          let node = document.createTextNode(e.text);
          const s = e.style || {};
          if (s.code) node = h("code", { class: "mrkdwn-code" }, node);
          if (s.bold) node = h("b", {}, node);
          if (s.italic) node = h("i", {}, node);
          if (s.strike) node = h("s", {}, node);
          return node;
        }
        case "link": return h("a", { href: safeUrl(e.url) || "#", target: "_blank", rel: "noopener noreferrer", class: "link" }, e.text || e.url);
        case "emoji": return h("span", { class: "emoji" }, emoji(e.name) || `:${e.name}:`);
        case "user": return special("@" + e.user_id, ctx);
        case "channel": return special("#" + e.channel_id, ctx);
        case "broadcast": return special("!" + e.range, ctx);
        default: return "";
      }
    });
    const section = (el) => {
      switch (el.type) {
        case "rich_text_section": return h("div", {}, inline(el.elements));
        case "rich_text_preformatted": return h("pre", { class: "mrkdwn-pre" }, inline(el.elements));
        case "rich_text_quote": return h("blockquote", { class: "mrkdwn-quote" }, inline(el.elements));
        case "rich_text_list": return h(el.style === "ordered" ? "ol" : "ul", { class: "bk-list" }, (el.elements || []).map((item) => h("li", {}, inline(item.elements))));
        default: return "";
      }
    };
    return h("div", { class: "bk-rich" }, (block.elements || []).map(section));
  }

  function block(b, index, scope) {
    const ctx = scope.ctx;
    const blockId = b.block_id || `block-${index}`;
    const data = { dataset: { blockId, blockType: b.type } };
    switch (b.type) {
      case "header":
        return h("div", { ...data, class: "bk-header" }, plain(b.text));
      case "divider":
        return h("hr", { ...data, class: "bk-divider" });
      case "section":
        return h("div", { ...data, class: "bk-section" },
          h("div", { class: "bk-section-main" },
            b.text ? h("div", { class: "bk-section-text" }, text(b.text, ctx)) : null,
            b.fields ? h("div", { class: "bk-fields" }, b.fields.map((f) => h("div", { class: "bk-field" }, text(f, ctx)))) : null),
          b.accessory ? h("div", { class: "bk-accessory" },
            b.accessory.type === "image" ? image(b.accessory.image_url, b.accessory.alt_text, "bk-accessory-img") : element(b.accessory, blockId, scope, false)) : null);
      case "context":
        return h("div", { ...data, class: "bk-context" }, (b.elements || []).map((e) =>
          e.type === "image" ? image(e.image_url, e.alt_text, "bk-context-img") : h("span", { class: "bk-context-text" }, text(e, ctx))));
      case "image":
        return h("figure", { ...data, class: "bk-image" },
          b.title ? h("figcaption", {}, plain(b.title)) : null,
          image(b.image_url, b.alt_text, "bk-image-img"));
      case "actions":
        return h("div", { ...data, class: "bk-actions" }, (b.elements || []).map((e) => element(e, blockId, scope, false)));
      case "input": {
        const error = scope.errors && scope.errors[blockId];
        return h("div", { ...data, class: "bk-input" + (error ? " bk-has-error" : "") },
          h("label", { class: "bk-label" }, plain(b.label), b.optional ? h("span", { class: "bk-optional" }, " (optional)") : null),
          element(b.element, blockId, scope, true),
          error ? h("div", { class: "bk-input-error" }, error) : null,
          b.hint ? h("div", { class: "bk-hint" }, plain(b.hint)) : null);
      }
      case "rich_text":
        return h("div", data, richText(b, ctx));
      case "video":
        return h("div", { ...data, class: "bk-video" }, "\u25B6 ", plain(b.title));
      default:
        return h("div", { ...data, class: "bk-unsupported" }, `[unsupported block: ${b.type}]`);
    }
  }

  /// A scope: one message or view's interactive state. `act(el, blockId,
  /// value)` is called when an element fires; `values` survives redraws.
  function scope(ctx, act, values = new Map()) {
    const s = { ctx, values, elements: new Map(), errors: null, inputBlocks: new Map() };
    s.dispatch = (blockId) => Boolean(s.inputBlocks.get(blockId));
    s.act = (el, blockId, value) => act(el, blockId, value, s);
    return s;
  }

  function render(blocks, s) {
    for (const b of blocks || []) if (b.type === "input" && b.block_id) s.inputBlocks.set(b.block_id, b.dispatch_action);
    return h("div", { class: "bk-blocks" }, (blocks || []).map((b, i) => block(b, i, s)));
  }

  /// Slack's `state.values` for everything the scope holds.
  function stateValues(s) {
    const values = {};
    for (const [key, { el, blockId }] of s.elements) {
      if (el.type === "button" || el.type === "overflow" || el.type === "image" || !el.action_id) continue;
      (values[blockId] ||= {})[el.action_id] = stateEntry(el, s.values.get(key));
    }
    return values;
  }

  return { h, mrkdwn, text, plain, emojify, emoji, EMOJI_ORDER, render, scope, stateValues };
})();
