// `/fetch <METHOD> <url> [body]`, as tests/guests/fetcher does in Rust: sends
// the request with `X-App-Header: from-app` through the SDK's `fetch` and
// answers one line of JSON — status, url, the first 200 characters of the
// body, the headers it set, the response's headers (as `Headers` shows them:
// lowercased, one per name) and the host's error, or null. `global` says
// whether `globalThis.fetch` is the SDK's too. It imports only `http`.
import { App, fetch, reply } from "botyard";

const app = new App("fetcher-js", "Fetches URLs");

app.command("/fetch", { description: "Send an HTTP request", usage: "<METHOD> <url> [body]" }, ({ text }) => {
  const [method, url, ...rest] = text.trim().split(" ");
  if (!url) throw new Error("usage: /fetch <METHOD> <url> [body]");
  const headers = [["X-App-Header", "from-app"]];
  const init = { method, headers };
  if (rest.length > 0) init.body = rest.join(" "); // sent with the web's text/plain content type
  let answer;
  try {
    const res = fetch(url, init);
    answer = {
      status: res.status, url: res.url, body: [...res.text()].slice(0, 200).join(""),
      request_headers: headers, response_headers: [...res.headers], error: null,
    };
  } catch (e) {
    answer = {
      status: null, url: null, body: null, request_headers: headers, response_headers: [], error: e.message,
    };
  }
  answer.global = globalThis.fetch === fetch;
  return reply.ephemeral(JSON.stringify(answer));
});

export default app;
