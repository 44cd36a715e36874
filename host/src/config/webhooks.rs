//! `[apps.<id>.webhooks.<name>]`: how the host checks who is calling one of
//! an app's webhooks, and how hard it tries to hand a delivery over.
//!
//! ```toml
//! [apps.ci.webhooks.github]          # POST /hooks/ci/github
//! verify = "github"                  # X-Hub-Signature-256 over the body
//! secret = "${env:GITHUB_WEBHOOK_SECRET}"
//!
//! [apps.health.webhooks.alerts]      # as Alertmanager sends: basic auth
//! verify = "basic"
//! username = "alertmanager"
//! password = "${file:/run/secrets/alerts}"
//!
//! [apps.tasks.webhooks.tracker]
//! verify = "bearer"                  # Authorization: Bearer <token>
//! token = "${env:TRACKER_TOKEN}"
//! delivery_header = "X-Request-Id"   # the sender's id for a delivery
//! max_body_bytes = 1048576           # default 1 MiB
//! attempts = 5                       # tries before a delivery is dead
//! retry_after_ms = 1000              # first wait; doubles, up to 5 min
//! ```
//!
//! A webhook an app declares but the operator did not configure answers
//! nothing but 404 with what to add: nobody is trusted by default, and
//! `verify = "none"` has to be written out.

use std::time::Duration;

use serde::Deserialize;

use crate::contract::secret::{self, Secret};

/// Largest body accepted by default: Slack's own limit for the receiver,
/// and far above GitHub's or Alertmanager's usual payloads.
pub const DEFAULT_MAX_BODY: usize = 1 << 20;
/// Tries before a delivery is given up on, by default.
pub const DEFAULT_ATTEMPTS: u32 = 5;
/// The first wait after a failed try, by default; it doubles after each.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// The longest wait between tries.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(300);

/// How a sender proves who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verify {
    /// GitHub's `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.
    Github { secret: Secret },
    /// `Authorization: Bearer <token>`.
    Bearer { token: Secret },
    /// `Authorization: Basic …` (Alertmanager's `basic_auth`).
    Basic { username: Secret, password: Secret },
    /// Anyone may post (the operator wrote `verify = "none"`).
    None,
}

impl Verify {
    /// Its name in `botyard.toml`.
    pub fn kind(&self) -> &'static str {
        match self {
            Verify::Github { .. } => "github",
            Verify::Bearer { .. } => "bearer",
            Verify::Basic { .. } => "basic",
            Verify::None => "none",
        }
    }
}

/// One webhook's configuration, with its secrets read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    pub verify: Verify,
    /// The request header carrying the sender's delivery id, lowercase
    /// (`x-github-delivery` for `verify = "github"` unless set); without
    /// one, every request is a new delivery.
    pub delivery_header: Option<String>,
    pub max_body_bytes: usize,
    pub attempts: u32,
    pub retry_after: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    verify: String,
    secret: Option<String>,
    token: Option<String>,
    username: Option<String>,
    password: Option<String>,
    delivery_header: Option<String>,
    max_body_bytes: Option<u64>,
    attempts: Option<u32>,
    retry_after_ms: Option<u64>,
}

/// Parses `[apps.<app>.webhooks]`: one table per webhook name.
pub(super) fn parse(
    app: &str,
    value: &toml::Value,
) -> Result<std::collections::BTreeMap<String, WebhookConfig>, String> {
    let table = value
        .as_table()
        .ok_or_else(|| format!("[apps.{app}.webhooks] must be a table of webhooks by name"))?;
    table
        .iter()
        .map(|(name, value)| {
            let at = format!("[apps.{app}.webhooks.{name}]");
            let file: File = value
                .clone()
                .try_into()
                .map_err(|e: toml::de::Error| format!("{at}: {}", e.message()))?;
            Ok((name.clone(), resolve(&at, file)?))
        })
        .collect()
}

fn resolve(at: &str, file: File) -> Result<WebhookConfig, String> {
    let File {
        verify,
        secret,
        token,
        username,
        password,
        delivery_header,
        max_body_bytes,
        attempts,
        retry_after_ms,
    } = file;
    let needs = |value: Option<String>, key: &str| {
        value.ok_or_else(|| {
            format!(
                "{at}: verify = \"{verify}\" needs `{key} = \"${{env:NAME}}\"` (or ${{file:/path}})"
            )
        })
    };
    let unused = |present: &[(&str, bool)]| match present.iter().find(|(_, set)| *set) {
        Some((key, _)) => Err(format!(
            "{at}: `{key}` is not used with verify = \"{verify}\""
        )),
        None => Ok(()),
    };
    let verify = match verify.as_str() {
        "github" => {
            unused(&[
                ("token", token.is_some()),
                ("username", username.is_some()),
                ("password", password.is_some()),
            ])?;
            Verify::Github {
                secret: secret::resolve(&needs(secret, "secret")?, &format!("{at} secret"))?,
            }
        }
        "bearer" => {
            unused(&[
                ("secret", secret.is_some()),
                ("username", username.is_some()),
                ("password", password.is_some()),
            ])?;
            Verify::Bearer {
                token: secret::resolve(&needs(token, "token")?, &format!("{at} token"))?,
            }
        }
        "basic" => {
            unused(&[("secret", secret.is_some()), ("token", token.is_some())])?;
            let username =
                username.ok_or_else(|| format!("{at}: verify = \"basic\" needs `username`"))?;
            Verify::Basic {
                username: secret::resolve_or_plain(&username, &format!("{at} username"))?,
                password: secret::resolve(
                    &needs(password, "password")?,
                    &format!("{at} password"),
                )?,
            }
        }
        "none" => {
            unused(&[
                ("secret", secret.is_some()),
                ("token", token.is_some()),
                ("username", username.is_some()),
                ("password", password.is_some()),
            ])?;
            Verify::None
        }
        other => {
            return Err(format!(
                "{at}: verify = \"{other}\" is not one botyard knows; use \"github\", \"bearer\", \"basic\" or \"none\""
            ));
        }
    };
    let delivery_header = match delivery_header {
        Some(name) => {
            let token = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !token {
                return Err(format!(
                    "{at}: delivery_header `{name}` is not a header name"
                ));
            }
            Some(name.to_ascii_lowercase())
        }
        None if matches!(verify, Verify::Github { .. }) => Some("x-github-delivery".into()),
        None => None,
    };
    let max_body_bytes = match max_body_bytes {
        None => DEFAULT_MAX_BODY,
        Some(n) if (1..=64 << 20).contains(&n) => n as usize,
        Some(n) => {
            return Err(format!(
                "{at}: max_body_bytes = {n} must be 1..=67108864 (64 MiB)"
            ));
        }
    };
    let attempts = match attempts {
        None => DEFAULT_ATTEMPTS,
        Some(n) if (1..=100).contains(&n) => n,
        Some(n) => return Err(format!("{at}: attempts = {n} must be 1..=100")),
    };
    let retry_after = match retry_after_ms {
        None => DEFAULT_RETRY_AFTER,
        Some(ms) if (1..=MAX_RETRY_WAIT.as_millis() as u64).contains(&ms) => {
            Duration::from_millis(ms)
        }
        Some(ms) => return Err(format!("{at}: retry_after_ms = {ms} must be 1..=300000")),
    };
    Ok(WebhookConfig {
        verify,
        delivery_header,
        max_body_bytes,
        attempts,
        retry_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_one(text: &str) -> Result<WebhookConfig, String> {
        let value: toml::Value = toml::from_str(&format!("[gh]\n{text}")).unwrap();
        parse("ci", &value).map(|mut m| m.remove("gh").unwrap())
    }

    #[test]
    fn each_kind_needs_its_secret_from_outside_the_file() {
        // SAFETY: variables only this test reads.
        unsafe { std::env::set_var("BOTYARD_TEST_HOOK_SECRET", "It's a Secret to Everybody") };
        let gh =
            parse_one("verify = \"github\"\nsecret = \"${env:BOTYARD_TEST_HOOK_SECRET}\"").unwrap();
        assert_eq!(
            gh.verify,
            Verify::Github {
                secret: Secret::from_value("It's a Secret to Everybody")
            }
        );
        assert_eq!(gh.delivery_header.as_deref(), Some("x-github-delivery"));
        assert_eq!(
            (gh.max_body_bytes, gh.attempts),
            (DEFAULT_MAX_BODY, DEFAULT_ATTEMPTS)
        );
        assert!(
            !format!("{gh:?}").contains("Everybody"),
            "secrets never print"
        );

        let literal = parse_one("verify = \"bearer\"\ntoken = \"abc\"").unwrap_err();
        assert!(literal.contains("never from botyard.toml"), "{literal}");
        let missing = parse_one("verify = \"github\"").unwrap_err();
        assert!(
            missing.contains("[apps.ci.webhooks.gh]") && missing.contains("secret"),
            "{missing}"
        );
        let basic = parse_one(
            "verify = \"basic\"\nusername = \"am\"\npassword = \"${env:BOTYARD_TEST_HOOK_SECRET}\"\ndelivery_header = \"X-Request-Id\"",
        )
        .unwrap();
        assert_eq!(basic.delivery_header.as_deref(), Some("x-request-id"));
        assert!(matches!(basic.verify, Verify::Basic { .. }));
        assert_eq!(parse_one("verify = \"none\"").unwrap().verify, Verify::None);
        assert_eq!(
            parse_one("verify = \"none\"").unwrap().delivery_header,
            None
        );
    }

    #[test]
    fn mistakes_are_named() {
        for (text, says) in [
            ("verify = \"hmac\"", "\"github\", \"bearer\""),
            (
                "verify = \"none\"\ntoken = \"${env:X}\"",
                "`token` is not used",
            ),
            ("verify = \"none\"\nattempts = 0", "attempts"),
            ("verify = \"none\"\nmax_body_bytes = 0", "max_body_bytes"),
            ("verify = \"none\"\nretry_after_ms = 0", "retry_after_ms"),
            ("verify = \"none\"\nsecrett = 1", "secrett"),
            (
                "verify = \"none\"\ndelivery_header = \"a b\"",
                "delivery_header",
            ),
        ] {
            let error = parse_one(text).unwrap_err();
            assert!(error.contains(says), "{text}: {error}");
        }
    }
}
