//! Reading a request body with a cap, for every inbound HTTP endpoint (the
//! Slack receiver, webhooks): an oversized body is refused without being
//! buffered, and a client still sending it sees the refusal rather than a
//! reset connection.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use futures_util::StreamExt;

/// Why a body was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("body over the {0}-byte limit")]
    TooLarge(usize),
    #[error("{0}")]
    Read(String),
}

/// At most this much of an oversized body is read and thrown away before
/// answering 413, and for at most [`DRAIN_TIME`]: enough that an honest
/// client still sending sees the 413 instead of a reset connection, little
/// enough that a flood costs nothing.
const DRAIN_BYTES: usize = 8 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// The raw body, refusing more than `limit` bytes without buffering them.
pub async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut stream = body.into_data_stream();
    if declared.is_some_and(|len| len > limit as u64) {
        if declared.is_some_and(|len| len <= (limit + DRAIN_BYTES) as u64) {
            drain(&mut stream).await;
        }
        return Err(BodyError::TooLarge(limit));
    }
    let mut bytes = Vec::with_capacity(declared.unwrap_or(0) as usize);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| BodyError::Read(format!("reading the body: {e}")))?;
        if bytes.len() + chunk.len() > limit {
            drain(&mut stream).await;
            return Err(BodyError::TooLarge(limit));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

async fn drain(stream: &mut axum::body::BodyDataStream) {
    let discard = async {
        let mut read = 0;
        while let Some(Ok(chunk)) = stream.next().await {
            read += chunk.len();
            if read > DRAIN_BYTES {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, discard).await;
}
