//! Checking who sent a webhook, before anything of it is kept: GitHub's
//! `X-Hub-Signature-256` (an HMAC-SHA256 of the raw body under a shared
//! secret), a bearer token, or HTTP basic auth (what Alertmanager's
//! `basic_auth` sends). Every comparison takes the same time wherever the
//! presented value differs, and a refusal says what was wrong with the
//! request, never what the right value would have been.

use axum::http::{HeaderMap, header};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::webhooks::Verify;
use crate::contract::secret::constant_time_eq;

/// GitHub's signature header.
pub const GITHUB_SIGNATURE: &str = "x-hub-signature-256";

/// Headers that carry what the host checked; they are not kept with the
/// delivery nor shown to the app.
pub const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    GITHUB_SIGNATURE,
    "x-hub-signature",
];

/// Why a sender was not accepted. All of them mean 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing X-Hub-Signature-256 header")]
    MissingSignature,
    #[error("X-Hub-Signature-256 is not of the form sha256=<64 hex digits>")]
    MalformedSignature,
    #[error("X-Hub-Signature-256 does not match the body")]
    Mismatch,
    #[error("missing Authorization header")]
    MissingAuthorization,
    #[error("Authorization is not `{0} …`")]
    WrongScheme(&'static str),
    #[error("the credentials in Authorization are not accepted")]
    BadCredentials,
}

/// GitHub's HMAC-SHA256 of `body` under `secret`, before it is encoded.
fn github_mac(secret: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(body);
    mac
}

/// The `X-Hub-Signature-256` value GitHub sends for `body` under `secret`.
pub fn github_signature(secret: &str, body: &[u8]) -> String {
    let mac = github_mac(secret, body).finalize().into_bytes();
    format!("sha256={}", hex::encode(mac))
}

/// Checks the request's credentials against the webhook's configuration.
pub fn verify(verify: &Verify, headers: &HeaderMap, body: &[u8]) -> Result<(), VerifyError> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    match verify {
        Verify::None => Ok(()),
        Verify::Github { secret } => {
            let presented = header(GITHUB_SIGNATURE).ok_or(VerifyError::MissingSignature)?;
            let hex = presented
                .strip_prefix("sha256=")
                .filter(|h| h.len() == 64)
                .ok_or(VerifyError::MalformedSignature)?;
            let presented = hex::decode(hex).map_err(|_| VerifyError::MalformedSignature)?;
            github_mac(secret.expose(), body)
                .verify_slice(&presented)
                .map_err(|_| VerifyError::Mismatch)
        }
        Verify::Bearer { token } => {
            let presented = credentials(header(header::AUTHORIZATION.as_str()), "Bearer")?;
            match constant_time_eq(presented.as_bytes(), token.expose().as_bytes()) {
                true => Ok(()),
                false => Err(VerifyError::BadCredentials),
            }
        }
        Verify::Basic { username, password } => {
            let presented = credentials(header(header::AUTHORIZATION.as_str()), "Basic")?;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(presented)
                .map_err(|_| VerifyError::BadCredentials)?;
            let (user, pass) = match decoded.iter().position(|&b| b == b':') {
                Some(colon) => (&decoded[..colon], &decoded[colon + 1..]),
                None => return Err(VerifyError::BadCredentials),
            };
            // Both compared, always, so the time says nothing about which
            // one was wrong.
            let user_ok = constant_time_eq(user, username.expose().as_bytes());
            let pass_ok = constant_time_eq(pass, password.expose().as_bytes());
            match user_ok & pass_ok {
                true => Ok(()),
                false => Err(VerifyError::BadCredentials),
            }
        }
    }
}

/// What follows `<scheme> ` in an Authorization header (the scheme matched
/// without regard to case, as RFC 9110 says).
fn credentials<'a>(value: Option<&'a str>, scheme: &'static str) -> Result<&'a str, VerifyError> {
    let value = value.ok_or(VerifyError::MissingAuthorization)?;
    let (given, rest) = value
        .split_once(' ')
        .ok_or(VerifyError::WrongScheme(scheme))?;
    if !given.eq_ignore_ascii_case(scheme) {
        return Err(VerifyError::WrongScheme(scheme));
    }
    Ok(rest.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::secret::Secret;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    /// GitHub's documented test values ("Validating webhook deliveries").
    #[test]
    fn githubs_documented_vector_verifies() {
        let secret = "It's a Secret to Everybody";
        let expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(github_signature(secret, b"Hello, World!"), expected);
        let config = Verify::Github {
            secret: Secret::from_value(secret),
        };
        let ok = headers(&[(GITHUB_SIGNATURE, expected)]);
        assert_eq!(verify(&config, &ok, b"Hello, World!"), Ok(()));
        assert_eq!(
            verify(&config, &ok, b"Hello, World?"),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(&config, &HeaderMap::new(), b"Hello, World!"),
            Err(VerifyError::MissingSignature)
        );
        for bad in ["sha1=abc", "sha256=xyz", &expected[..70]] {
            assert_eq!(
                verify(
                    &config,
                    &headers(&[(GITHUB_SIGNATURE, bad)]),
                    b"Hello, World!"
                ),
                Err(VerifyError::MalformedSignature),
                "{bad}"
            );
        }
    }

    #[test]
    fn bearer_and_basic_compare_the_credentials() {
        let bearer = Verify::Bearer {
            token: Secret::from_value("t0ken"),
        };
        assert_eq!(
            verify(&bearer, &headers(&[("authorization", "Bearer t0ken")]), b""),
            Ok(())
        );
        assert_eq!(
            verify(&bearer, &headers(&[("authorization", "bearer t0ken")]), b""),
            Ok(())
        );
        assert_eq!(
            verify(&bearer, &headers(&[("authorization", "Bearer t0ke")]), b""),
            Err(VerifyError::BadCredentials)
        );
        assert_eq!(
            verify(&bearer, &headers(&[("authorization", "Basic t0ken")]), b""),
            Err(VerifyError::WrongScheme("Bearer"))
        );
        assert_eq!(
            verify(&bearer, &HeaderMap::new(), b""),
            Err(VerifyError::MissingAuthorization)
        );

        let basic = Verify::Basic {
            username: Secret::from_value("alertmanager"),
            password: Secret::from_value("pa:ss"),
        };
        let encode = |text: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(text)
            )
        };
        let ok = encode("alertmanager:pa:ss");
        assert_eq!(
            verify(&basic, &headers(&[("authorization", &ok)]), b""),
            Ok(())
        );
        for wrong in ["alertmanager:pass", "am:pa:ss", "alertmanager", ""] {
            let presented = encode(wrong);
            assert_eq!(
                verify(&basic, &headers(&[("authorization", &presented)]), b""),
                Err(VerifyError::BadCredentials),
                "{wrong}"
            );
        }
        assert_eq!(verify(&Verify::None, &HeaderMap::new(), b"x"), Ok(()));
    }
}
