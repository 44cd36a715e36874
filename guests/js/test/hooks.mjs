// Module resolution for the SDK's tests: `botyard:app/<interface>@0.1.0` is
// host/<interface>.mjs.
export async function resolve(specifier, context, next) {
  const m = /^botyard:app\/([a-z-]+)@0\.1\.0$/.exec(specifier);
  if (m) {
    return { url: new URL(`./host/${m[1]}.mjs`, import.meta.url).href, shortCircuit: true };
  }
  return next(specifier, context);
}
