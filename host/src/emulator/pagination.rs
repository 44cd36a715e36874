//! Slack's cursor pagination: `limit` and `cursor` in, a page and
//! `response_metadata.next_cursor` out — an opaque base64 string, empty on
//! the last page. A cursor names the first item of the next page (`user:U…`,
//! `next_ts:…`), as Slack's own decode to, so a page stays right when items
//! are added or removed between calls.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::web_api::{ApiError, Args};

/// How one read method pages: the cursor's prefix and its limits.
pub struct Paging {
    /// What the cursor names, e.g. `user`, `channel`, `next_ts`.
    pub kind: &'static str,
    /// Items per page when no `limit` is given; `None`: everything.
    pub default_limit: Option<usize>,
    /// Largest page Slack serves; a bigger `limit` gets this many.
    pub max_limit: usize,
}

/// A page's request: how many, and from which item on.
pub struct PageRequest {
    pub limit: usize,
    /// The key of the first item to return, from the cursor.
    pub from: Option<String>,
}

impl Paging {
    /// Reads `limit` and `cursor`; `invalid_cursor` for a cursor this method
    /// did not hand out, `invalid_limit` for a limit that is not a number.
    pub fn request(&self, args: &Args) -> Result<PageRequest, ApiError> {
        let limit = match args.str("limit") {
            None => None,
            Some(raw) => {
                let n: i64 = raw.trim().parse().map_err(|_| {
                    ApiError::with("invalid_limit", format!("limit `{raw}` is not a number"))
                })?;
                // Slack treats 0 (and below) as no limit given.
                (n > 0).then_some(n as usize)
            }
        };
        let limit = limit
            .or(self.default_limit)
            .unwrap_or(usize::MAX)
            .min(self.max_limit);
        let from = match args.str("cursor") {
            None => None,
            Some(cursor) => Some(self.decode(&cursor)?),
        };
        Ok(PageRequest { limit, from })
    }

    fn decode(&self, cursor: &str) -> Result<String, ApiError> {
        STANDARD
            .decode(cursor.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| {
                text.strip_prefix(self.kind)
                    .and_then(|rest| rest.strip_prefix(':'))
                    .map(str::to_string)
            })
            .filter(|key| !key.is_empty())
            .ok_or(ApiError::new("invalid_cursor"))
    }

    pub fn encode(&self, key: &str) -> String {
        STANDARD.encode(format!("{}:{key}", self.kind))
    }

    /// Cuts one page out of `items` (already in the method's order):
    /// starting at the first item `reached` by the cursor's key, at most
    /// `limit` of them, and the cursor for the rest ("" when none is left).
    pub fn page<T>(
        &self,
        items: Vec<T>,
        request: &PageRequest,
        key: impl Fn(&T) -> String,
        reached: impl Fn(&T, &str) -> bool,
    ) -> (Vec<T>, String) {
        let start = match &request.from {
            None => 0,
            Some(from) => items
                .iter()
                .position(|item| reached(item, from))
                .unwrap_or(items.len()),
        };
        let mut rest = items.into_iter().skip(start);
        let page: Vec<T> = rest.by_ref().take(request.limit).collect();
        let next = rest.next().map(|item| self.encode(&key(&item)));
        (page, next.unwrap_or_default())
    }
}

/// `response_metadata` with the next cursor, as every paginated answer has.
pub fn metadata(next_cursor: &str) -> Value {
    json!({"next_cursor": next_cursor})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: &[(&str, &str)]) -> Args {
        Args(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect(),
        )
    }

    const USERS: Paging = Paging {
        kind: "user",
        default_limit: None,
        max_limit: 1000,
    };

    #[test]
    fn pages_follow_their_cursors_to_an_empty_one() {
        let items: Vec<String> = (1..=5).map(|n| format!("U{n}")).collect();
        let mut seen = Vec::new();
        let mut cursor = String::new();
        loop {
            let mut pairs = vec![("limit", "2")];
            if !cursor.is_empty() {
                pairs.push(("cursor", &cursor));
            }
            let request = USERS.request(&args(&pairs)).unwrap();
            let (page, next) = USERS.page(
                items.clone(),
                &request,
                |u| u.clone(),
                |u, from| u.as_str() >= from,
            );
            assert!(page.len() <= 2);
            seen.extend(page);
            if next.is_empty() {
                break;
            }
            assert_eq!(
                String::from_utf8(STANDARD.decode(&next).unwrap()).unwrap(),
                format!("user:{}", items[seen.len()])
            );
            cursor = next;
        }
        assert_eq!(seen, items);
    }

    #[test]
    fn foreign_or_garbled_cursors_and_bad_limits_are_refused() {
        let other = STANDARD.encode("channel:C1");
        for cursor in ["not base64!", other.as_str(), "dXNlcjo="] {
            let refused = USERS.request(&args(&[("cursor", cursor)]));
            assert_eq!(refused.err().map(|e| e.code), Some("invalid_cursor"));
        }
        let refused = USERS.request(&args(&[("limit", "lots")]));
        assert_eq!(refused.err().map(|e| e.code), Some("invalid_limit"));
        let all = USERS.request(&args(&[("limit", "0")])).unwrap();
        assert_eq!(all.limit, 1000, "0 is no limit, capped at the maximum");
    }
}
