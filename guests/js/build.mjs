// Run by `botyard build` (host/src/build/js.rs) under node, from the JS
// toolchain directory botyard installs; not part of the SDK.
//
//   node build.mjs bundle '<json>'       esbuild: the app + SDK → one ES module
//   node build.mjs componentize '<json>' componentize-qjs: that module → component
//
// Exit status 2 means the app is at fault; the message on stderr says where,
// as file:line:column relative to the app's directory.

import { readFileSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { basename, dirname, isAbsolute, relative, resolve } from "node:path";

const [step, json] = process.argv.slice(2);
const opts = JSON.parse(json);

function appFault(text) {
  process.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
  process.exit(2);
}

// A path as the app author knows it: relative to the app when inside it.
function shown(path) {
  const rel = relative(opts.appDir, path);
  return rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}

if (step === "bundle") {
  await bundle();
} else if (step === "componentize") {
  await componentizeBundle();
} else {
  throw new Error(`unknown step ${step}`);
}

// opts: appDir, entry, entryShown (the entry as the author knows it), sdk,
// console, package ("botyard:app@0.1.0"), interfaces (importable names),
// exports (the interfaces the component exports, in camelCase), out (bundle
// path), report (JSON written on success).
//
// The bundle's entry is not the app's module but a few lines of glue that
// import it and export its default export, an `App`, as the component's
// interfaces: an app ends with `export default app` and never names them.
async function bundle() {
  const esbuild = await import("esbuild");
  const [pkgName, version] = opts.package.split("@");
  const botyard = {
    name: "botyard",
    setup(build) {
      build.onResolve({ filter: /^botyard$/ }, () => ({ path: opts.sdk }));
      // The SDK's own modules. Free of side effects as far as the bundle is
      // concerned: fetch.js, which makes itself `globalThis.fetch` and makes
      // the component import `http`, is kept only when the app uses `fetch`.
      build.onResolve({ filter: /^\.\/(fetch|internal)\.js$/ }, (args) => {
        if (args.importer !== opts.sdk && dirname(args.importer) !== dirname(opts.sdk)) return undefined;
        return { path: resolve(dirname(opts.sdk), args.path), sideEffects: false };
      });
      // `botyard:app/store` and `botyard:app/store@0.1.0` both name the
      // versioned import componentize-qjs knows; unused ones are dropped.
      build.onResolve({ filter: /^botyard:/ }, (args) => {
        const m = /^([^/@]+:[^/@]+)\/([^/@]+)(?:@(.+))?$/.exec(args.path);
        if (!m || m[1] !== pkgName || !opts.interfaces.includes(m[2])) {
          return {
            errors: [{
              text: `"${args.path}" is not something apps can import; they may import ` +
                opts.interfaces.map((i) => `${pkgName}/${i}`).join(", ") +
                ' (or, simpler, the SDK: import { … } from "botyard")',
            }],
          };
        }
        if (m[3] && m[3] !== version) {
          return { errors: [{ text: `this botyard provides ${opts.package}, not @${m[3]}` }] };
        }
        return { path: `${pkgName}/${m[2]}@${version}`, external: true, sideEffects: false };
      });
      // esbuild's own message would suggest bundling for node, which cannot
      // help. Bare names (`fs`) pass when a package of that name is installed.
      const names = builtinModules.map((m) => m.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
      build.onResolve({ filter: new RegExp(`^(wasi:|node:|(${names})(/|$))`) }, async (args) => {
        if (args.pluginData === "botyard:retry") return undefined;
        if (!/^(wasi|node):/.test(args.path)) {
          const { errors, path, external, namespace, sideEffects } = await build.resolve(args.path, {
            kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: "botyard:retry",
          });
          if (errors.length === 0) return { path, external, namespace, sideEffects };
        }
        return {
          errors: [{
            text: `"${args.path}" is not available: botyard apps run sandboxed, with no file system, ` +
              "network, environment or Node.js APIs; reach Slack and storage through the SDK " +
              '(import { slack, store } from "botyard")',
          }],
        };
      });
    },
  };
  let result;
  try {
    result = await esbuild.build({
      absWorkingDir: opts.appDir,
      stdin: {
        contents: glue(),
        resolveDir: opts.appDir,
        sourcefile: "botyard-exports.js",
        loader: "js",
      },
      outfile: opts.out,
      bundle: true,
      format: "esm",
      // QuickJS has the ECMAScript built-ins only: no node, no web APIs.
      platform: "browser",
      sourcemap: "external",
      sourcesContent: false,
      metafile: true,
      logLevel: "silent",
      // QuickJS has no console; apps that use one get botyard's.
      inject: [opts.console],
      plugins: [botyard],
    });
  } catch (e) {
    if (!e.errors) throw e;
    appFault(e.errors.map((m) => diagnostic("error", m)).join("\n"));
  }
  const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint);
  const imports = output.imports
    .filter((i) => i.external && i.path.startsWith(`${pkgName}/`))
    .map((i) => i.path.slice(pkgName.length + 1).split("@")[0]);
  writeFileSync(opts.report, JSON.stringify({
    imports: [...new Set(imports)].sort(),
    warnings: result.warnings.map((m) => diagnostic("warning", m)),
  }));
}

// The entry module of the bundle. Its top level runs at build time, so an
// app module without `export default app`, or one whose registrations
// clash, fails the build.
function glue() {
  const names = opts.exports.join(", ");
  return `import * as app from ${JSON.stringify(opts.entry)};
import { componentExports } from "botyard";
export const { ${names} } = componentExports(app, ${JSON.stringify(opts.entryShown)}, ${JSON.stringify(opts.exports)});
`;
}

// `app.js:3:9: error: Expected ";" but found "y"` and the line, with a caret.
function diagnostic(kind, m) {
  const loc = m.location;
  let text = `${kind}: ${m.text}`;
  if (loc) {
    const gutter = String(loc.line).length;
    text = `${loc.file}:${loc.line}:${loc.column + 1}: ${text}\n` +
      ` ${loc.line} | ${loc.lineText}\n` +
      ` ${" ".repeat(gutter)} | ${" ".repeat(loc.column)}^`;
  }
  for (const note of m.notes ?? []) {
    const at = note.location ? `${note.location.file}:${note.location.line}:${note.location.column + 1}: ` : "";
    text += `\n  ${at}note: ${note.text}`;
  }
  return text;
}

// opts: appDir, entryShown, bundle, sdk, wit, world, out. The module's top level runs here,
// at build time, and the component starts from the state it leaves.
async function componentizeBundle() {
  const { componentize } = await import("componentize-qjs");
  let component;
  try {
    ({ component } = await componentize({
      witPath: opts.wit,
      jsSource: readFileSync(opts.bundle, "utf8"),
      jsPath: opts.bundle,
      world: opts.world,
      // Handlers are synchronous: every capability answers at once, and a
      // host without the component-model async ABI can run the result.
      sync: true,
    }));
  } catch (e) {
    const text = String(e.message ?? e);
    // The top level ran a capability: there is no host to answer it at build time.
    const called = /unknown import: `botyard:app\/([a-z-]+)@[^#`]*#([a-z-]+)` has not been defined/.exec(text);
    if (called) {
      const [, iface, func] = called;
      const name = `${iface}.${func.replace(/-([a-z])/g, (_, c) => c.toUpperCase())}`;
      appFault(`${opts.entryShown}: error: the module's top level calls ${name}` +
        `${iface === "log" ? " (console.* writes through it)" : ""}, but capabilities answer only while a ` +
        "handler runs; move the call into a handler");
    }
    appFault(withoutSdkFrames(toAppLocations(withoutNoise(text))));
  }
  writeFileSync(opts.out, component);
}

// Drops the stack frames inside the SDK (its argument checks throw from
// there): the app's own line is the one that helps.
function withoutSdkFrames(text) {
  return text
    .split("\n")
    .filter((line) => !(/^\s+at /.test(line) && line.includes(`(${opts.sdk}:`)))
    .join("\n");
}

// Drops the toolchain's own framing of an exception in the app's top level.
// A string thrown (as the SDK does at build time, to show just its message)
// arrives quoted and escaped: `Exception generated by quickjs: String(Ok("…"))`.
function withoutNoise(text) {
  text = text
    .replace(/^(: )?Failed to evaluate user JavaScript module: (Failed to finish JavaScript module evaluation: )?/, "")
    .trim();
  const thrown = /^Exception generated by quickjs: String\(Ok\(("[^]*")\)\)$/.exec(text);
  if (thrown) {
    try {
      return JSON.parse(thrown[1]);
    } catch {
      // Not JSON-compatible escaping: show it as it came.
    }
  }
  return text;
}

// Rewrites `<bundle>:line:col` in an error to the app's own file:line:col
// through the bundle's source map.
function toAppLocations(text) {
  const name = basename(opts.bundle);
  let map;
  try {
    map = JSON.parse(readFileSync(`${opts.bundle}.map`, "utf8"));
  } catch {
    return text;
  }
  const lines = decodeMappings(map.mappings);
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return text.replace(new RegExp(`/?${escaped}:(\\d+):(\\d+)`, "g"), (whole, line, col) => {
    const segments = lines[Number(line) - 1] ?? [];
    let best;
    for (const s of segments) {
      if (s[0] <= Number(col) - 1) best = s;
    }
    if (!best) return whole;
    const source = resolve(dirname(opts.bundle), map.sources[best[1]]);
    return `${shown(source)}:${best[2] + 1}:${best[3] + 1}`;
  });
}

// Source map v3 `mappings` → per generated line, [genCol, source, line, col] (0-based).
function decodeMappings(mappings) {
  const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const out = [];
  let source = 0, line = 0, col = 0;
  for (const text of mappings.split(";")) {
    const segments = [];
    let genCol = 0;
    for (const seg of text.split(",").filter(Boolean)) {
      const values = [];
      let value = 0, shift = 0;
      for (const ch of seg) {
        const digit = B64.indexOf(ch);
        value += (digit & 31) << shift;
        if (digit & 32) {
          shift += 5;
        } else {
          values.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      genCol += values[0];
      if (values.length >= 4) {
        source += values[1];
        line += values[2];
        col += values[3];
        segments.push([genCol, source, line, col]);
      }
    }
    out.push(segments);
  }
  return out;
}
