//! `[storage]`: where botyard keeps its data.
//!
//! ```toml
//! [storage]
//! backend = "postgres"          # or "sqlite" (the default): <data-dir>/botyard.db
//! url = "${env:BOTYARD_DATABASE_URL}"   # postgres://user:pw@db1,db2/botyard?target_session_attrs=read-write
//! replica = "bot-1"             # this process's name among the replicas; default: the host name
//! pool_size = 16                # connections kept at most
//! heartbeat_ms = 2000           # how often this replica says it is alive
//! ```
//!
//! A URL usually carries a password, so one written out in the file is
//! refused: the URL (or just its password) comes from the environment or a
//! file by reference (`${env:NAME}`, `${file:/path}`), as every secret in
//! `botyard.toml` does. [`StorageConfig`] keeps it as a [`Secret`], which
//! never prints.

use std::time::Duration;

use serde::Deserialize;

use crate::contract::secret::{self, Secret};
use crate::storage::postgres;

/// Which backend, and how to reach it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StorageConfig {
    /// SQLite in the data directory (`<data-dir>/botyard.db`): one machine.
    #[default]
    Sqlite,
    /// A PostgreSQL database shared by any number of replicas.
    Postgres(PostgresConfig),
}

/// `[storage] backend = "postgres"`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresConfig {
    /// The URL, secret references read.
    pub url: Secret,
    /// This replica's name (see [`postgres::Options::replica`]).
    pub replica: String,
    pub pool_size: usize,
    pub heartbeat: Duration,
}

impl PostgresConfig {
    /// Where the database is, for messages: hosts and database, never the
    /// password.
    pub fn location(&self) -> String {
        postgres::location(self.url.expose()).unwrap_or_else(|_| "<invalid URL>".into())
    }

    /// The options [`crate::storage::Storage::connect_postgres`] takes.
    pub fn options(&self) -> postgres::Options {
        postgres::Options {
            url: self.url.expose().to_string(),
            replica: self.replica.clone(),
            pool_size: self.pool_size,
            heartbeat: self.heartbeat,
            observer: false,
        }
    }
}

/// `[storage]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    backend: Option<String>,
    url: Option<String>,
    replica: Option<String>,
    pool_size: Option<u64>,
    heartbeat_ms: Option<u64>,
}

/// Longest replica name: it is shown in logs and stored with every claim.
const MAX_REPLICA_NAME: usize = 128;

/// Checks and resolves `[storage]`.
pub(super) fn resolve(file: File) -> Result<StorageConfig, String> {
    let File {
        backend,
        url,
        replica,
        pool_size,
        heartbeat_ms,
    } = file;
    match backend.as_deref().unwrap_or("sqlite") {
        "sqlite" => {
            let set = [
                ("url", url.is_some()),
                ("replica", replica.is_some()),
                ("pool_size", pool_size.is_some()),
                ("heartbeat_ms", heartbeat_ms.is_some()),
            ];
            if let Some((key, _)) = set.iter().find(|(_, set)| *set) {
                return Err(format!(
                    "[storage] `{key}` is only for backend = \"postgres\"; SQLite keeps its data in <data-dir>/botyard.db"
                ));
            }
            Ok(StorageConfig::Sqlite)
        }
        "postgres" => {
            let url = url.ok_or(
                "[storage] backend = \"postgres\" needs `url = \"${env:BOTYARD_DATABASE_URL}\"` \
                 (a postgres://user:password@host/dbname URL, from the environment)",
            )?;
            let url = resolve_url(&url)?;
            let replica = match replica {
                Some(name) => name,
                None => hostname().ok_or(
                    "[storage] replica: this machine's host name cannot be read; set replica = \"…\", a name of its own for each botyard process",
                )?,
            };
            if replica.trim().is_empty()
                || replica.len() > MAX_REPLICA_NAME
                || replica.chars().any(char::is_control)
            {
                return Err(format!(
                    "[storage] replica = {replica:?} must be a name of 1 to {MAX_REPLICA_NAME} bytes without control characters"
                ));
            }
            let pool_size = pool_size.unwrap_or(postgres::DEFAULT_POOL_SIZE as u64);
            if !(2..=1000).contains(&pool_size) {
                return Err(format!(
                    "[storage] pool_size = {pool_size} must be 2..=1000"
                ));
            }
            let heartbeat = heartbeat_ms.map_or(postgres::DEFAULT_HEARTBEAT, Duration::from_millis);
            if !(Duration::from_millis(100)..=Duration::from_secs(60)).contains(&heartbeat) {
                return Err(format!(
                    "[storage] heartbeat_ms = {} must be 100..=60000",
                    heartbeat.as_millis()
                ));
            }
            Ok(StorageConfig::Postgres(PostgresConfig {
                url,
                replica,
                pool_size: pool_size as usize,
                heartbeat,
            }))
        }
        other => Err(format!(
            "[storage] backend = {other:?}: expected \"sqlite\" or \"postgres\""
        )),
    }
}

/// The URL with its references read. A password written out in the file
/// is refused; one that comes from a reference is the point.
fn resolve_url(template: &str) -> Result<Secret, String> {
    const USE_A_REFERENCE: &str = "keep passwords out of botyard.toml: write url = \"${env:BOTYARD_DATABASE_URL}\" and put the URL in that environment variable (or read it from a file with ${file:/path})";
    // What the file itself says, references left out: a password there is
    // written out in the file.
    let literal = blank_references(template);
    if !template.contains("${") {
        return match postgres::url_has_password(template) {
            Ok(true) => Err(format!("[storage] url holds a password; {USE_A_REFERENCE}")),
            Ok(false) => Ok(Secret::from_value(template)),
            Err(e) => Err(format!("[storage] url: {e}")),
        };
    }
    if let Ok(true) = postgres::url_has_password(&literal)
        && !password_is_a_reference(&literal)
    {
        return Err(format!("[storage] url holds a password; {USE_A_REFERENCE}"));
    }
    let url = secret::resolve(template, "[storage] url")?;
    postgres::location(url.expose()).map_err(|e| format!("[storage] url: {e}"))?;
    Ok(url)
}

/// A stand-in for a reference, so the URL's shape can be read without
/// reading any secret.
const PLACEHOLDER: &str = "botyardreference";

/// `template` with every `${…}` replaced by [`PLACEHOLDER`].
fn blank_references(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(end) => {
                out.push_str(PLACEHOLDER);
                rest = &rest[start + end + 1..];
            }
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether the password in `literal` (references blanked) came from one.
fn password_is_a_reference(literal: &str) -> bool {
    // The whole URL a reference: `${env:…}` alone, or its password part.
    literal.contains(&format!(":{PLACEHOLDER}@"))
        || literal.contains(&format!("password={PLACEHOLDER}"))
        || literal == PLACEHOLDER
}

/// This machine's name, the default replica name (a container's is its
/// pod or container name, unique among replicas).
fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|name| name.trim().to_string())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<StorageConfig, String> {
        #[derive(Deserialize)]
        struct Wrapper {
            storage: File,
        }
        let wrapper: Wrapper = toml::from_str(text).map_err(|e| e.to_string())?;
        resolve(wrapper.storage)
    }

    #[test]
    fn sqlite_is_the_default_and_takes_no_postgres_keys() {
        assert_eq!(parse("[storage]\n").unwrap(), StorageConfig::Sqlite);
        let err = parse("[storage]\nbackend = \"sqlite\"\nurl = \"x\"\n").unwrap_err();
        assert!(err.contains("only for backend = \"postgres\""), "{err}");
        let err = parse("[storage]\nbackend = \"mysql\"\n").unwrap_err();
        assert!(err.contains("\"sqlite\" or \"postgres\""), "{err}");
    }

    #[test]
    fn a_password_written_out_is_refused_and_one_by_reference_is_read() {
        let err = parse(
            "[storage]\nbackend = \"postgres\"\nurl = \"postgres://bot:hunter2@db/botyard\"\n",
        )
        .unwrap_err();
        assert!(err.contains("${env:BOTYARD_DATABASE_URL}"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let err = parse(
            "[storage]\nbackend = \"postgres\"\nurl = \"host=db user=bot password=hunter2 dbname=${env:HOME}\"\n",
        )
        .unwrap_err();
        assert!(err.contains("holds a password"), "{err}");
        // SAFETY: variables only this test reads.
        unsafe {
            std::env::set_var(
                "BOTYARD_TEST_STORAGE_URL",
                "postgres://bot:s3cret@db1,db2/yard",
            );
            std::env::set_var("BOTYARD_TEST_STORAGE_PW", "s3cret");
        }
        let StorageConfig::Postgres(pg) = parse(
            "[storage]\nbackend = \"postgres\"\nurl = \"${env:BOTYARD_TEST_STORAGE_URL}\"\nreplica = \"bot-1\"\npool_size = 4\nheartbeat_ms = 500\n",
        )
        .unwrap() else {
            panic!("postgres")
        };
        assert_eq!(pg.location(), "postgres://bot@db1:5432,db2:5432/yard");
        assert_eq!((pg.replica.as_str(), pg.pool_size), ("bot-1", 4));
        assert_eq!(pg.heartbeat, Duration::from_millis(500));
        assert!(!format!("{pg:?}").contains("s3cret"));
        let StorageConfig::Postgres(pg) = parse(
            "[storage]\nbackend = \"postgres\"\nurl = \"postgres://bot:${env:BOTYARD_TEST_STORAGE_PW}@db/yard\"\n",
        )
        .unwrap() else {
            panic!("postgres")
        };
        assert_eq!(pg.options().url, "postgres://bot:s3cret@db/yard");
        assert!(!pg.replica.is_empty(), "the host name by default");
        // No password at all (trust, certificates): fine as it is.
        assert!(
            parse("[storage]\nbackend = \"postgres\"\nurl = \"postgres://bot@db/yard\"\n").is_ok()
        );
    }

    #[test]
    fn bad_values_and_unknown_keys_are_refused() {
        let pg = "[storage]\nbackend = \"postgres\"\nurl = \"postgres://bot@db/yard\"\n";
        assert!(
            parse("[storage]\nbackend = \"postgres\"\n")
                .unwrap_err()
                .contains("needs `url")
        );
        assert!(
            parse(&format!("{pg}pool_size = 1\n"))
                .unwrap_err()
                .contains("pool_size")
        );
        assert!(
            parse(&format!("{pg}replica = \"\"\n"))
                .unwrap_err()
                .contains("replica")
        );
        assert!(
            parse(&format!("{pg}heartbeat_ms = 5\n"))
                .unwrap_err()
                .contains("heartbeat_ms")
        );
        let unknown = parse(&format!("{pg}uri = \"x\"\n")).unwrap_err();
        assert!(
            unknown.contains("uri") && unknown.contains("url"),
            "{unknown}"
        );
        assert!(
            parse("[storage]\nbackend = \"postgres\"\nurl = \"postgres://bot@db:port/yard\"\n")
                .unwrap_err()
                .contains("not valid")
        );
    }
}
