//! GitHub's published OpenAPI description — the npm package
//! `@octokit/openapi`, `generated/api.github.com.json` — installed on first
//! use and held against the GitHub stand-in
//! (`botyard::standins::github`): every request it answers and every
//! webhook it sends goes through [`OpenApi::check`], and a test fails on
//! any violation the stand-in kept.
//!
//! The check: the operation is found by method and OpenAPI path (for a
//! webhook, by its `x-webhooks` key); the request body is validated against
//! the operation's `requestBody` schema, and the answer against the schema
//! of its status code — a status the operation does not document is a
//! violation too, except 401, which GitHub documents for every endpoint in
//! one place ("Authenticating to the REST API") rather than per operation.
//! Schemas are JSON Schema as OpenAPI 3.0 writes it: `nullable: true` is
//! rewritten to `anyOf: [{type: null}, …]` before compiling (the file uses
//! no `type` lists or other 3.1 forms), `$ref`s into `#/components/…` are
//! resolved by carrying the components a schema reaches along with it, and
//! `format`s are checked (`uri`, `date-time`, `email` …; GitHub's own, such
//! as `repo.nwo`, are not standard and are left alone).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use botyard::standins::github::{Exchange, Validator};
use serde_json::{Map, Value, json};

/// The package and the version the tests were written against.
const PACKAGE: &str = "@octokit/openapi";
const VERSION: &str = "23.0.2";
/// The description of api.github.com inside the package.
const FILE: &str = "generated/api.github.com.json";

/// GitHub's description, loaded once per process (installing it the first
/// time on this machine).
pub fn github() -> &'static OpenApi {
    static LOADED: OnceLock<OpenApi> = OnceLock::new();
    LOADED.get_or_init(|| {
        let path = install();
        let text = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "reading GitHub's OpenAPI description {}: {e}",
                path.display()
            )
        });
        let mut doc: Value =
            serde_json::from_slice(&text).expect("GitHub's OpenAPI description is JSON");
        assert!(
            doc["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3.0")),
            "{} is OpenAPI {}, not the 3.0 this checker reads",
            path.display(),
            doc["openapi"]
        );
        rewrite_nullable(&mut doc);
        OpenApi {
            doc,
            compiled: Mutex::default(),
        }
    })
}

/// A validator for the stand-in ([`botyard::standins::github::GitHubConfig::validated`]).
pub fn github_validator() -> Validator {
    let openapi = github();
    Arc::new(move |exchange: &Exchange| openapi.check(exchange))
}

/// `node_modules/@octokit/openapi/generated/api.github.com.json` under a
/// cache directory in the cargo target dir, installed with npm the first
/// time (npm itself from Debian when missing). One process installs while
/// the others wait on a file lock; the install goes into a directory of its
/// own, renamed into place once complete, so an interrupted one is redone.
/// The package's other descriptions (GHES, GHEC, dereferenced copies:
/// ~400 MB) are deleted; only api.github.com's is read.
fn install() -> PathBuf {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = cache.join(format!("octokit-openapi-{VERSION}"));
    let file = dir.join("node_modules").join(PACKAGE).join(FILE);
    if file.is_file() {
        return file;
    }
    std::fs::create_dir_all(cache).expect("creating the cargo target tmp dir");
    let lock = std::fs::File::create(cache.join("octokit-openapi.lock"))
        .expect("creating the OpenAPI install lock");
    lock.lock().expect("locking the OpenAPI install");
    if file.is_file() {
        return file;
    }
    let npm = super::install_once("npm", || on_path("npm"));
    let staging = cache.join(format!("octokit-openapi-{VERSION}.installing"));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).expect("creating the OpenAPI cache directory");
    eprintln!(
        "installing {PACKAGE}@{VERSION} into {} (one time)…",
        dir.display()
    );
    let out = Command::new(&npm)
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--prefix",
        ])
        .arg(&staging)
        .arg(format!("{PACKAGE}@{VERSION}"))
        .current_dir(&staging)
        .stdin(Stdio::null())
        .output()
        .expect("running npm");
    assert!(
        out.status.success(),
        "npm install {PACKAGE}@{VERSION} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let staged = staging.join("node_modules").join(PACKAGE).join(FILE);
    assert!(staged.is_file(), "{PACKAGE}@{VERSION} has no {FILE}");
    let generated = staged.parent().expect("FILE is in a directory");
    for entry in std::fs::read_dir(generated)
        .expect("listing the package")
        .flatten()
    {
        if entry.path() != staged && entry.path().extension().is_some_and(|e| e == "json") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    std::fs::rename(&staging, &dir).expect("moving the OpenAPI description into place");
    file
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

/// OpenAPI 3.0's `nullable: true`, as JSON Schema says it.
fn rewrite_nullable(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for child in map.values_mut() {
                rewrite_nullable(child);
            }
            if map.get("nullable") == Some(&Value::Bool(true)) {
                map.remove("nullable");
                let schema = Value::Object(std::mem::take(map));
                *value = json!({"anyOf": [{"type": "null"}, schema]});
            } else {
                map.remove("nullable");
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_nullable),
        _ => {}
    }
}

/// A loaded description, with the schemas compiled so far.
pub struct OpenApi {
    doc: Value,
    compiled: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

impl OpenApi {
    /// Whether `exchange` keeps to the description; `Err` says how not.
    pub fn check(&self, exchange: &Exchange) -> Result<(), String> {
        let problems = match &exchange.webhook {
            Some(key) => self.webhook_problems(key, exchange),
            None => self.api_problems(exchange),
        };
        match problems.is_empty() {
            true => Ok(()),
            false => Err(problems.join("; ")),
        }
    }

    /// The schema at `pointer` (`#/components/schemas/hook`) checked against `value`.
    pub fn validate(&self, pointer: &str, value: &Value) -> Result<(), String> {
        let schema = json!({"$ref": pointer});
        let errors = self.errors(pointer, &schema, value);
        match errors.is_empty() {
            true => Ok(()),
            false => Err(errors.join("; ")),
        }
    }

    fn api_problems(&self, exchange: &Exchange) -> Vec<String> {
        let method = exchange.method.to_lowercase();
        let Some(path) = self.doc["paths"].get(&exchange.template) else {
            return vec![format!(
                "{} is not a path of GitHub's REST API",
                exchange.template
            )];
        };
        let Some(operation) = path.get(&method) else {
            return vec![format!(
                "GitHub's REST API has no {} {}",
                exchange.method, exchange.template
            )];
        };
        let id = operation["operationId"].as_str().unwrap_or("?");
        let mut problems = Vec::new();
        let request_body = operation.get("requestBody").map(|b| self.deref(b));
        match (&exchange.request, request_body) {
            (Some(body), Some(declared)) => match json_schema(declared) {
                Some(schema) => problems.extend(
                    self.errors(&format!("{id} request"), schema, body)
                        .into_iter()
                        .map(|e| format!("request body: {e}")),
                ),
                None => problems.push(format!("{id} takes no JSON body")),
            },
            (Some(_), None) => problems.push(format!("{id} takes no request body")),
            (None, Some(declared)) if declared["required"] == true => {
                problems.push(format!("{id} requires a request body"))
            }
            _ => {}
        }
        let status = exchange.status.to_string();
        let responses = &operation["responses"];
        let declared = responses
            .get(&status)
            .or_else(|| responses.get(format!("{}XX", &status[..1])))
            .or_else(|| responses.get("default"))
            .map(|r| self.deref(r))
            .or_else(|| {
                (exchange.status == 401)
                    .then(|| &self.doc["components"]["responses"]["requires_authentication"])
            });
        let Some(declared) = declared else {
            let documented: Vec<&String> = responses
                .as_object()
                .map(|r| r.keys().collect())
                .unwrap_or_default();
            problems.push(format!(
                "{id} does not document status {status} (it documents {documented:?})"
            ));
            return problems;
        };
        match (json_schema(declared), &exchange.response) {
            (Some(schema), Some(body)) => problems.extend(
                self.errors(&format!("{id} {status}"), schema, body)
                    .into_iter()
                    .map(|e| format!("response body: {e}")),
            ),
            (Some(_), None) => problems.push(format!("{id} {status} answers JSON, but none came")),
            (None, Some(_)) if exchange.status == 204 => {
                problems.push(format!("{id} 204 has a body"))
            }
            (None, _) => {}
        }
        problems
    }

    fn webhook_problems(&self, key: &str, exchange: &Exchange) -> Vec<String> {
        let Some(operation) = self.doc["x-webhooks"].get(key).and_then(|w| w.get("post")) else {
            return vec![format!("{key} is not one of GitHub's webhooks")];
        };
        let mut problems = Vec::new();
        let sent = |name: &str| {
            exchange
                .request_headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            let parameter = self.deref(parameter);
            if parameter["in"] != "header" {
                continue;
            }
            let name = parameter["name"].as_str().unwrap_or_default();
            // GitHub signs only for a webhook with a secret.
            if name.eq_ignore_ascii_case("x-hub-signature-256") {
                continue;
            }
            match sent(name) {
                None => problems.push(format!("header {name} not sent")),
                Some(value) if name.eq_ignore_ascii_case("x-github-event") => {
                    if let Some(expected) = parameter["example"].as_str().filter(|e| *e != value) {
                        problems.push(format!("X-GitHub-Event is {value}, not {expected}"));
                    }
                }
                Some(value) if name.eq_ignore_ascii_case("user-agent") => {
                    if !value.starts_with("GitHub-Hookshot/") {
                        problems.push(format!("User-Agent {value} is not GitHub-Hookshot/…"));
                    }
                }
                Some(_) => {}
            }
        }
        let declared = self.deref(&operation["requestBody"]);
        match (json_schema(declared), &exchange.request) {
            (Some(schema), Some(payload)) => problems.extend(
                self.errors(&format!("webhook {key}"), schema, payload)
                    .into_iter()
                    .map(|e| format!("payload: {e}")),
            ),
            _ => problems.push(format!("webhook {key} without a JSON payload")),
        }
        problems
    }

    /// What `$ref` `value` points at (itself when it is no reference).
    fn deref<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        while let Some(pointer) = value.get("$ref").and_then(Value::as_str) {
            value = self
                .doc
                .pointer(pointer.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("{pointer} is not in the description"));
        }
        value
    }

    /// Every way `value` breaks `schema` (compiled once under `key`).
    fn errors(&self, key: &str, schema: &Value, value: &Value) -> Vec<String> {
        let validator = self.compiled(key, schema);
        validator
            .iter_errors(value)
            .take(5)
            .map(|error| {
                let mut text = error.to_string();
                if text.len() > 300 {
                    let cut = (0..=300)
                        .rev()
                        .find(|&i| text.is_char_boundary(i))
                        .unwrap_or(0);
                    text.truncate(cut);
                    text.push('…');
                }
                format!("{text} (at {})", error.instance_path())
            })
            .collect()
    }

    fn compiled(&self, key: &str, schema: &Value) -> Arc<jsonschema::Validator> {
        if let Some(found) = self.compiled.lock().unwrap().get(key) {
            return found.clone();
        }
        // The schema with every component it reaches, where its `$ref`s
        // (`#/components/schemas/…`) point.
        let mut reached = BTreeSet::new();
        self.reach(schema, &mut reached);
        let mut components = Map::new();
        for pointer in &reached {
            let mut parts = pointer.trim_start_matches("#/components/").splitn(2, '/');
            let (Some(kind), Some(name)) = (parts.next(), parts.next()) else {
                continue;
            };
            let target = self.doc.pointer(pointer.trim_start_matches('#')).cloned();
            components
                .entry(kind.to_string())
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("a map")
                .insert(name.to_string(), target.unwrap_or(Value::Null));
        }
        let root = json!({"allOf": [schema], "components": components});
        let validator = jsonschema::draft7::options()
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("compiling the schema of {key}: {e}"));
        let validator = Arc::new(validator);
        self.compiled
            .lock()
            .unwrap()
            .insert(key.to_string(), validator.clone());
        validator
    }

    /// Every `#/components/…` reference `value` reaches, transitively.
    fn reach(&self, value: &Value, reached: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    if key == "$ref"
                        && let Some(pointer) = child.as_str()
                        && reached.insert(pointer.to_string())
                        && let Some(target) = self.doc.pointer(pointer.trim_start_matches('#'))
                    {
                        self.reach(target, reached);
                    } else {
                        self.reach(child, reached);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| self.reach(item, reached)),
            _ => {}
        }
    }
}

/// The JSON schema of a request body or response, if it has JSON.
fn json_schema(declared: &Value) -> Option<&Value> {
    declared["content"]
        .as_object()?
        .iter()
        .find(|(media, _)| media.contains("json"))
        .map(|(_, content)| &content["schema"])
}
