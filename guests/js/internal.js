// What the SDK's modules (botyard.js, fetch.js) share: UTF-8 for store
// values and HTTP and webhook bodies (QuickJS has no TextEncoder or
// TextDecoder), and the `err` of a failed import. Pure functions only, so a
// bundle keeps just what it uses.

/**
 * The WIT `err` value of what an import threw: componentize-qjs throws an
 * Error whose `payload` it is (the SDK's tests throw the value itself).
 * @param {unknown} thrown
 */
export function errPayload(thrown) {
  return thrown instanceof Error && "payload" in thrown ? thrown.payload : thrown;
}

export function utf8Encode(text) {
  const out = [];
  for (const ch of text) {
    const c = ch.codePointAt(0);
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return new Uint8Array(out);
}

// Malformed sequences decode to U+FFFD, as TextDecoder does.
export function utf8Decode(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    const len = b < 0x80 ? 1 : b >= 0xf0 && b < 0xf8 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 && b < 0xe0 ? 2 : 0;
    let c = len === 1 ? b : len === 2 ? b & 31 : len === 3 ? b & 15 : b & 7;
    let ok = len > 0 && i + len <= bytes.length;
    for (let k = 1; ok && k < len; k++) {
      ok = (bytes[i + k] & 0xc0) === 0x80;
      c = (c << 6) | (bytes[i + k] & 63);
    }
    const min = [0, 0, 0x80, 0x800, 0x10000][len];
    if (!ok || c < min || c > 0x10ffff || (c >= 0xd800 && c < 0xe000)) {
      text += "\ufffd";
      i += 1;
    } else {
      text += String.fromCodePoint(c);
      i += len;
    }
  }
  return text;
}
