//! Secrets the operator gives the host — credentials for an app's outbound
//! requests, the keys webhooks are verified with — and the one way they are
//! written in `botyard.toml`: a reference, `${env:NAME}` or `${file:/path}`,
//! never the value itself, so the file can be committed and shown.
//!
//! A [`Secret`] never prints its value (`Debug` and `Display` are redacted),
//! so it cannot reach a log line, an error message or a listing by accident;
//! code that needs the value asks for it with [`Secret::expose`].
//!
//! Reading a reference is the only I/O in the contract floor: every layer
//! that takes a secret from configuration does it the same way.

/// A secret value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The value, for the one place that sends or checks it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A secret the host was given directly (the environment at startup, a
    /// test), not through a reference.
    pub fn from_value(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Reads a secret template: text with `${env:NAME}` and `${file:/path}`
/// references, at least one of them (a secret written into `botyard.toml`
/// itself is refused). `what` says where it was configured; errors name the
/// reference, never a value.
pub fn resolve(template: &str, what: &str) -> Result<Secret, String> {
    let mut out = String::new();
    let mut rest = template;
    let mut references = 0;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("{what}: `${{` without a closing `}}`"))?;
        let reference = &after[..end];
        let value = match reference.split_once(':') {
            Some(("env", name)) => std::env::var(name)
                .or_else(|_| provided(name).ok_or(()))
                .map_err(|_| {
                    format!("{what}: environment variable {name} is not set (or not UTF-8)")
                })?,
            Some(("file", path)) => read_secret_file(path)
                .map_err(|e| format!("{what}: cannot read secret file {path}: {e}"))?
                .trim_end_matches(['\n', '\r'])
                .to_string(),
            _ => {
                return Err(format!(
                    "{what}: `${{{reference}}}` is neither ${{env:NAME}} nor ${{file:/path}}"
                ));
            }
        };
        out.push_str(&value);
        references += 1;
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    if references == 0 {
        return Err(format!(
            "{what}: secrets come from the environment or a file, never from botyard.toml; \
             write ${{env:NAME}} or ${{file:/path}} where the secret goes"
        ));
    }
    Ok(Secret(out))
}

/// Values given under an environment variable's name by `botyard dev` for
/// the backends it simulates (`standins::dev`): the apps configured for a
/// stand-in (`${env:GITHUB_TOKEN}`) load on a fresh machine, and the
/// stand-in accepts exactly that value. The environment always wins; this
/// is consulted only for a name it lacks, and never by `serve`.
static PROVIDED: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<String, String>>> =
    std::sync::OnceLock::new();

fn provided(name: &str) -> Option<String> {
    let map = PROVIDED.get()?.lock().unwrap_or_else(|p| p.into_inner());
    map.get(name).cloned()
}

/// What `${env:name}` reads: the environment's value if it has one, else
/// `value`, remembered for every later read in this process.
pub fn provide_if_unset(name: &str, value: impl Into<String>) -> Secret {
    if let Ok(set) = std::env::var(name) {
        return Secret(set);
    }
    let mut map = PROVIDED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    Secret(
        map.entry(name.to_string())
            .or_insert_with(|| value.into())
            .clone(),
    )
}

/// Largest secret file read: far above any token, password or key. A
/// reference to what is not a secret file (`/dev/zero`, a log) is refused
/// rather than read without end.
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// The text of a secret file, refused past [`MAX_SECRET_FILE_BYTES`].
fn read_secret_file(path: &str) -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_SECRET_FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "it holds over {} KiB; a secret file holds one secret",
            MAX_SECRET_FILE_BYTES / 1024
        )));
    }
    String::from_utf8(bytes)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text"))
}

/// [`resolve`] for values that may be a secret or plain text (a user name):
/// a reference is read, anything else is taken as it is.
pub fn resolve_or_plain(text: &str, what: &str) -> Result<Secret, String> {
    if text.contains("${") {
        resolve(text, what)
    } else {
        Ok(Secret(text.to_string()))
    }
}

/// Compares a presented credential with the expected one in time that does
/// not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provided_value_fills_only_what_the_environment_lacks() {
        let name = "BOTYARD_TEST_PROVIDED_ONLY_HERE";
        assert!(resolve(&format!("${{env:{name}}}"), "t").is_err());
        let first = provide_if_unset(name, "made-up");
        assert_eq!(first.expose(), "made-up");
        // Remembered: a second call does not change what the config read.
        assert_eq!(provide_if_unset(name, "other").expose(), "made-up");
        assert_eq!(
            resolve(&format!("Bearer ${{env:{name}}}"), "t")
                .unwrap()
                .expose(),
            "Bearer made-up"
        );
        // The environment wins over a provided value.
        assert_eq!(
            provide_if_unset("PATH", "x").expose(),
            std::env::var("PATH").unwrap()
        );
    }

    #[test]
    fn references_are_read_literals_refused_values_never_shown() {
        // SAFETY: a variable only this test reads.
        unsafe { std::env::set_var("BOTYARD_TEST_SECRET_TOKEN", "s3cr3t") };
        let s = resolve("Bearer ${env:BOTYARD_TEST_SECRET_TOKEN}", "x").unwrap();
        assert_eq!(s.expose(), "Bearer s3cr3t");
        assert!(!format!("{s:?} {s}").contains("s3cr3t"));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "hunter2\n").unwrap();
        assert_eq!(
            resolve(&format!("${{file:{}}}", file.display()), "x")
                .unwrap()
                .expose(),
            "hunter2"
        );
        let literal = resolve("Bearer abc", "rule").unwrap_err();
        assert!(literal.contains("never from botyard.toml"), "{literal}");
        let missing = resolve("${env:BOTYARD_NO_SUCH_VAR}", "rule").unwrap_err();
        assert!(missing.contains("BOTYARD_NO_SUCH_VAR"), "{missing}");
        assert!(resolve("${vault:x}", "rule").is_err());
        assert_eq!(
            resolve_or_plain("alertmanager", "u").unwrap().expose(),
            "alertmanager"
        );
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd") && !constant_time_eq(b"abc", b"ab"));
    }

    /// Found fuzzing the configuration (`fuzz/regressions/webhook_config/`):
    /// `${file:/dev/zero}` was read until memory ran out.
    #[test]
    fn secret_files_are_read_up_to_a_bound() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big");
        std::fs::write(&file, "x".repeat(MAX_SECRET_FILE_BYTES as usize + 1)).unwrap();
        let too_big = resolve(&format!("${{file:{}}}", file.display()), "x").unwrap_err();
        assert!(too_big.contains("64 KiB"), "{too_big}");
        std::fs::write(&file, "y".repeat(MAX_SECRET_FILE_BYTES as usize)).unwrap();
        let at_bound = resolve(&format!("${{file:{}}}", file.display()), "x").unwrap();
        assert_eq!(at_bound.expose().len(), MAX_SECRET_FILE_BYTES as usize);
        #[cfg(target_os = "linux")]
        assert!(
            resolve("${file:/dev/zero}", "x")
                .unwrap_err()
                .contains("64 KiB")
        );
    }
}
