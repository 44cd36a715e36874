//! Slack's v0 request signatures: `v0=` + hex HMAC-SHA256 of
//! `v0:{timestamp}:{raw body}` under the app's signing secret. Checked on the
//! raw bytes before anything is parsed, so a forged request costs one HMAC
//! and leaves nothing behind. The emulator signs with [`sign`] too, so both
//! sides share one implementation of the scheme.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;

type HmacSha256 = Hmac<Sha256>;

/// Header carrying `v0=<hex>`.
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// Header carrying the Unix time (seconds) the request was signed at.
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
/// Requests signed further than this from our clock (either way) are
/// refused, so a captured request cannot be replayed later.
pub const MAX_SKEW_SECS: i64 = 5 * 60;

const VERSION_PREFIX: &str = "v0=";

/// Why a request's signature was not accepted. All of them mean 401.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SignatureError {
    #[error("missing X-Slack-Request-Timestamp header")]
    MissingTimestamp,
    #[error("missing X-Slack-Signature header")]
    MissingSignature,
    #[error("X-Slack-Request-Timestamp is not a Unix time in seconds")]
    BadTimestamp,
    #[error("request timestamp is {skew_secs} s away from now (limit {MAX_SKEW_SECS} s)")]
    Stale { skew_secs: i64 },
    #[error("X-Slack-Signature is not of the form v0=<64 hex digits>")]
    Malformed,
    #[error("X-Slack-Signature does not match the request body")]
    Mismatch,
}

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut mac =
        HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

/// The `X-Slack-Signature` value Slack would send for `body` at `timestamp`.
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    format!("{VERSION_PREFIX}{}", hex::encode(digest))
}

/// The two headers Slack adds to a request, for senders (emulator, tests).
pub fn signed_headers(secret: &str, now_secs: i64, body: &[u8]) -> [(&'static str, String); 2] {
    let timestamp = now_secs.to_string();
    let signature = sign(secret, &timestamp, body);
    [(TIMESTAMP_HEADER, timestamp), (SIGNATURE_HEADER, signature)]
}

/// Checks a request's signature headers against its raw `body`; `now_secs`
/// is the current Unix time (a parameter so tests can pin it).
pub fn verify(
    secret: &str,
    headers: &HeaderMap,
    body: &[u8],
    now_secs: i64,
) -> Result<(), SignatureError> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    verify_parts(
        secret,
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
        body,
        now_secs,
    )
}

/// [`verify`] for callers holding the header values already.
pub fn verify_parts(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now_secs: i64,
) -> Result<(), SignatureError> {
    let timestamp = timestamp.ok_or(SignatureError::MissingTimestamp)?;
    let signature = signature.ok_or(SignatureError::MissingSignature)?;
    let signed_at: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    let skew_secs = now_secs.saturating_sub(signed_at).saturating_abs();
    if skew_secs > MAX_SKEW_SECS {
        return Err(SignatureError::Stale { skew_secs });
    }
    let digest = signature
        .strip_prefix(VERSION_PREFIX)
        .and_then(|hex_digits| hex::decode(hex_digits).ok())
        .filter(|d| d.len() == 32)
        .ok_or(SignatureError::Malformed)?;
    // `verify_slice` compares in constant time.
    mac(secret, timestamp, body)
        .verify_slice(&digest)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    // The worked example in Slack's "Verifying requests from Slack".
    const DOC_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const DOC_TS: &str = "1531420618";
    const DOC_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const DOC_SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    const DOC_NOW: i64 = 1531420618;

    fn headers(ts: Option<&str>, sig: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(ts) = ts {
            h.insert(TIMESTAMP_HEADER, HeaderValue::from_str(ts).unwrap());
        }
        if let Some(sig) = sig {
            h.insert(SIGNATURE_HEADER, HeaderValue::from_str(sig).unwrap());
        }
        h
    }

    #[test]
    fn signs_slacks_documented_example() {
        assert_eq!(sign(DOC_SECRET, DOC_TS, DOC_BODY.as_bytes()), DOC_SIG);
    }

    #[test]
    fn verifies_slacks_documented_example() {
        let h = headers(Some(DOC_TS), Some(DOC_SIG));
        assert_eq!(verify(DOC_SECRET, &h, DOC_BODY.as_bytes(), DOC_NOW), Ok(()));
        assert_eq!(
            verify(DOC_SECRET, &h, DOC_BODY.as_bytes(), DOC_NOW + 299),
            Ok(())
        );
    }

    #[test]
    fn rejects_tampering_and_the_wrong_secret() {
        let h = headers(Some(DOC_TS), Some(DOC_SIG));
        let tampered = DOC_BODY.replace("roadrunner", "coyote");
        assert_eq!(
            verify(DOC_SECRET, &h, tampered.as_bytes(), DOC_NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("other-secret", &h, DOC_BODY.as_bytes(), DOC_NOW),
            Err(SignatureError::Mismatch)
        );
        // The timestamp is signed too: moving it breaks the signature.
        let moved = headers(Some("1531420619"), Some(DOC_SIG));
        assert_eq!(
            verify(DOC_SECRET, &moved, DOC_BODY.as_bytes(), DOC_NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn rejects_timestamps_more_than_five_minutes_off_either_way() {
        let h = headers(Some(DOC_TS), Some(DOC_SIG));
        for now in [DOC_NOW + 301, DOC_NOW - 301] {
            assert_eq!(
                verify(DOC_SECRET, &h, DOC_BODY.as_bytes(), now),
                Err(SignatureError::Stale { skew_secs: 301 })
            );
        }
        assert_eq!(
            verify(DOC_SECRET, &h, DOC_BODY.as_bytes(), DOC_NOW - 300),
            Ok(())
        );
    }

    #[test]
    fn rejects_missing_and_malformed_headers() {
        let body = DOC_BODY.as_bytes();
        let cases = [
            (
                headers(None, Some(DOC_SIG)),
                SignatureError::MissingTimestamp,
            ),
            (
                headers(Some(DOC_TS), None),
                SignatureError::MissingSignature,
            ),
            (
                headers(Some("yesterday"), Some(DOC_SIG)),
                SignatureError::BadTimestamp,
            ),
            (
                headers(Some(DOC_TS), Some(&DOC_SIG[3..])),
                SignatureError::Malformed,
            ),
            (
                headers(Some(DOC_TS), Some("v0=zz")),
                SignatureError::Malformed,
            ),
            (
                headers(Some(DOC_TS), Some(&DOC_SIG[..DOC_SIG.len() - 2])),
                SignatureError::Malformed,
            ),
            (
                headers(Some(DOC_TS), Some(&DOC_SIG.replace("v0=", "v1="))),
                SignatureError::Malformed,
            ),
        ];
        for (h, want) in cases {
            assert_eq!(verify(DOC_SECRET, &h, body, DOC_NOW), Err(want));
        }
    }

    #[test]
    fn signed_headers_round_trip() {
        let body = br#"{"type":"event_callback"}"#;
        let mut h = HeaderMap::new();
        for (name, value) in signed_headers("s3cret", 1_700_000_000, body) {
            h.insert(name, HeaderValue::from_str(&value).unwrap());
        }
        assert_eq!(verify("s3cret", &h, body, 1_700_000_010), Ok(()));
    }
}
