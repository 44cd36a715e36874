//! Per-app key-value namespaces.
//!
//! Every row is keyed by `(app, key)`. The `app` argument always comes from
//! the host (the identity of the component being run), never from the guest,
//! so an app cannot name another app's namespace; keys are opaque strings
//! inside it. Limits are checked before touching the database, so an
//! oversized request writes nothing.

use rusqlite::OptionalExtension;

use super::{Storage, StorageError, immediate_tx};

/// Longest key, in UTF-8 bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// Largest value, in bytes (1 MiB).
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;

const GET: &str = "SELECT value FROM kv WHERE app = ?1 AND key = ?2";
const SET: &str = "INSERT INTO kv (app, key, value) VALUES (?1, ?2, ?3)
                   ON CONFLICT (app, key) DO UPDATE SET value = excluded.value";
const DELETE: &str = "DELETE FROM kv WHERE app = ?1 AND key = ?2";

impl Storage {
    /// The value at `key` in `app`'s namespace, if any.
    pub fn kv_get(&self, app: &str, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        check_key(key)?;
        let conn = self.conn();
        let value = conn
            .prepare_cached(GET)?
            .query_row((app, key), |row| row.get(0))
            .optional()?;
        Ok(value)
    }

    /// Sets `key` to `value`, replacing any previous value.
    pub fn kv_set(&self, app: &str, key: &str, value: &[u8]) -> Result<(), StorageError> {
        check_key(key)?;
        check_value(value)?;
        self.conn()
            .prepare_cached(SET)?
            .execute((app, key, value))?;
        Ok(())
    }

    /// Deletes `key`; returns whether it existed.
    pub fn kv_delete(&self, app: &str, key: &str) -> Result<bool, StorageError> {
        check_key(key)?;
        let deleted = self.conn().prepare_cached(DELETE)?.execute((app, key))?;
        Ok(deleted > 0)
    }

    /// Up to `limit` keys of `app` starting with `prefix`, in byte order.
    ///
    /// The prefix is matched literally (`%` and `_` are ordinary characters):
    /// the query is a range scan `prefix <= key < successor(prefix)`, which
    /// also uses the primary-key index.
    pub fn kv_list(
        &self,
        app: &str,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<String>, StorageError> {
        if prefix.len() > MAX_KEY_BYTES {
            return Err(StorageError::TooLarge {
                what: "key prefix",
                limit: MAX_KEY_BYTES,
                actual: prefix.len(),
            });
        }
        let conn = self.conn();
        let keys = match prefix_upper_bound(prefix) {
            Some(upper) => conn
                .prepare_cached(
                    "SELECT key FROM kv WHERE app = ?1 AND key >= ?2 AND key < ?3
                     ORDER BY key LIMIT ?4",
                )?
                .query_map((app, prefix, upper, limit), |row| row.get(0))?
                .collect::<Result<_, _>>()?,
            None => conn
                .prepare_cached(
                    "SELECT key FROM kv WHERE app = ?1 AND key >= ?2 ORDER BY key LIMIT ?3",
                )?
                .query_map((app, prefix, limit), |row| row.get(0))?
                .collect::<Result<_, _>>()?,
        };
        Ok(keys)
    }

    /// Adds `delta` to the integer at `key` (missing counts as 0) and returns
    /// the new value, stored as decimal ASCII so `kv_get` reads e.g. `b"42"`.
    ///
    /// Atomic, even against other processes: read and write happen in one
    /// `BEGIN IMMEDIATE` transaction. A non-number or an overflow is an error
    /// and leaves the value unchanged.
    pub fn kv_increment(&self, app: &str, key: &str, delta: i64) -> Result<i64, StorageError> {
        check_key(key)?;
        let conn = self.conn();
        immediate_tx(&conn, |conn| {
            let current: Option<Vec<u8>> = conn
                .prepare_cached(GET)?
                .query_row((app, key), |row| row.get(0))
                .optional()?;
            let current = match current {
                None => 0,
                Some(bytes) => std::str::from_utf8(&bytes)
                    .ok()
                    .and_then(|text| text.parse::<i64>().ok())
                    .ok_or_else(|| StorageError::NotANumber { key: key.into() })?,
            };
            let next = current
                .checked_add(delta)
                .ok_or_else(|| StorageError::Overflow { key: key.into() })?;
            conn.prepare_cached(SET)?
                .execute((app, key, next.to_string().as_bytes()))?;
            Ok(next)
        })
    }

    /// Replaces the value at `key` with `new` only if it currently equals
    /// `expected`; returns whether it did.
    ///
    /// `expected: None` means "must be absent", `new: None` means "delete".
    /// Atomic in the same way as [`Storage::kv_increment`].
    pub fn kv_compare_and_swap(
        &self,
        app: &str,
        key: &str,
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool, StorageError> {
        check_key(key)?;
        if let Some(new) = new {
            check_value(new)?;
        }
        let conn = self.conn();
        immediate_tx(&conn, |conn| {
            let current: Option<Vec<u8>> = conn
                .prepare_cached(GET)?
                .query_row((app, key), |row| row.get(0))
                .optional()?;
            if current.as_deref() != expected {
                return Ok(false);
            }
            match new {
                Some(new) => conn.prepare_cached(SET)?.execute((app, key, new))?,
                None => conn.prepare_cached(DELETE)?.execute((app, key))?,
            };
            Ok(true)
        })
    }
}

fn check_key(key: &str) -> Result<(), StorageError> {
    check_size("key", key.len(), MAX_KEY_BYTES)
}

fn check_value(value: &[u8]) -> Result<(), StorageError> {
    check_size("value", value.len(), MAX_VALUE_BYTES)
}

fn check_size(what: &'static str, actual: usize, limit: usize) -> Result<(), StorageError> {
    if actual > limit {
        return Err(StorageError::TooLarge {
            what,
            limit,
            actual,
        });
    }
    Ok(())
}

/// The smallest string greater than every string starting with `prefix`, or
/// `None` if there is none (empty prefix, or only `char::MAX`s).
///
/// UTF-8 byte order equals code-point order, so bumping the last bumpable
/// character gives the exclusive upper bound of the prefix range.
fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut bound = prefix.to_owned();
    while let Some(last) = bound.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'), // skip the surrogate gap
            char::MAX => None,
            c => char::from_u32(c as u32 + 1),
        };
        if let Some(next) = next {
            bound.push(next);
            return Some(bound);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::tests::temp_storage;
    use super::*;
    use std::sync::Arc;

    #[test]
    fn get_set_delete_roundtrip() {
        let (_dir, s) = temp_storage();
        assert_eq!(s.kv_get("a", "k").unwrap(), None);
        s.kv_set("a", "k", b"one").unwrap();
        assert_eq!(s.kv_get("a", "k").unwrap().as_deref(), Some(&b"one"[..]));
        s.kv_set("a", "k", b"two").unwrap();
        assert_eq!(s.kv_get("a", "k").unwrap().as_deref(), Some(&b"two"[..]));
        s.kv_set("a", "empty", b"").unwrap();
        assert_eq!(s.kv_get("a", "empty").unwrap().as_deref(), Some(&b""[..]));
        assert!(s.kv_delete("a", "k").unwrap());
        assert!(!s.kv_delete("a", "k").unwrap());
        assert_eq!(s.kv_get("a", "k").unwrap(), None);
    }

    #[test]
    fn apps_cannot_see_each_others_keys() {
        let (_dir, s) = temp_storage();
        s.kv_set("alpha", "secret/token", b"a").unwrap();
        s.kv_set("alpha", "votes", b"5").unwrap();
        s.kv_set("beta", "secret/mine", b"b").unwrap();

        assert_eq!(s.kv_get("beta", "secret/token").unwrap(), None);
        assert_eq!(s.kv_list("beta", "", 100).unwrap(), vec!["secret/mine"]);
        assert_eq!(
            s.kv_list("beta", "secret/", 100).unwrap(),
            vec!["secret/mine"]
        );
        assert_eq!(
            s.kv_list("alpha", "", 100).unwrap(),
            vec!["secret/token", "votes"]
        );
        // Apps whose names share a prefix stay apart too.
        s.kv_set("alphabet", "votes", b"x").unwrap();
        assert_eq!(s.kv_list("alpha", "v", 100).unwrap(), vec!["votes"]);

        assert!(!s.kv_delete("beta", "votes").unwrap());
        assert_eq!(s.kv_increment("beta", "votes", 1).unwrap(), 1);
        assert!(
            s.kv_compare_and_swap("beta", "secret/token", None, Some(b"b2"))
                .unwrap()
        );
        assert_eq!(
            s.kv_get("alpha", "votes").unwrap().as_deref(),
            Some(&b"5"[..])
        );
        assert_eq!(
            s.kv_get("alpha", "secret/token").unwrap().as_deref(),
            Some(&b"a"[..])
        );
    }

    #[test]
    fn list_matches_percent_and_underscore_literally() {
        let (_dir, s) = temp_storage();
        for key in ["a%b", "axb", "a_c", "abc", "a", "b%"] {
            s.kv_set("app", key, b"1").unwrap();
        }
        assert_eq!(s.kv_list("app", "a%", 100).unwrap(), vec!["a%b"]);
        assert_eq!(s.kv_list("app", "a_", 100).unwrap(), vec!["a_c"]);
        assert_eq!(s.kv_list("app", "%", 100).unwrap(), Vec::<String>::new());
        assert_eq!(s.kv_list("app", "_", 100).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn list_is_byte_ordered_and_limited() {
        let (_dir, s) = temp_storage();
        for key in ["b", "é", "a", "B", "ab", "a\u{10FFFF}", "\u{10FFFF}x"] {
            s.kv_set("app", key, b"1").unwrap();
        }
        assert_eq!(
            s.kv_list("app", "", 100).unwrap(),
            vec!["B", "a", "ab", "a\u{10FFFF}", "b", "é", "\u{10FFFF}x"]
        );
        assert_eq!(s.kv_list("app", "", 2).unwrap(), vec!["B", "a"]);
        assert_eq!(s.kv_list("app", "", 0).unwrap(), Vec::<String>::new());
        assert_eq!(
            s.kv_list("app", "a", 100).unwrap(),
            vec!["a", "ab", "a\u{10FFFF}"]
        );
        assert_eq!(
            s.kv_list("app", "a\u{10FFFF}", 100).unwrap(),
            vec!["a\u{10FFFF}"]
        );
        assert_eq!(
            s.kv_list("app", "\u{10FFFF}", 100).unwrap(),
            vec!["\u{10FFFF}x"]
        );
    }

    #[test]
    fn prefix_upper_bound_edges() {
        assert_eq!(prefix_upper_bound(""), None);
        assert_eq!(prefix_upper_bound("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_upper_bound("a%").as_deref(), Some("a&"));
        assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("\u{10FFFF}\u{10FFFF}"), None);
        assert_eq!(prefix_upper_bound("\u{D7FF}").as_deref(), Some("\u{E000}"));
    }

    #[test]
    fn increment_counts_from_zero_and_stores_ascii() {
        let (_dir, s) = temp_storage();
        assert_eq!(s.kv_increment("app", "n", 5).unwrap(), 5);
        assert_eq!(s.kv_increment("app", "n", -7).unwrap(), -2);
        assert_eq!(s.kv_get("app", "n").unwrap().as_deref(), Some(&b"-2"[..]));
        s.kv_set("app", "m", b"41").unwrap();
        assert_eq!(s.kv_increment("app", "m", 1).unwrap(), 42);
        assert_eq!(s.kv_increment("app", "m", 0).unwrap(), 42);
    }

    #[test]
    fn increment_of_non_number_fails_and_leaves_value() {
        let (_dir, s) = temp_storage();
        for bad in [&b"hello"[..], b"", b" 1", b"1.5", b"\xff"] {
            s.kv_set("app", "k", bad).unwrap();
            let err = s.kv_increment("app", "k", 1).unwrap_err();
            assert!(
                matches!(&err, StorageError::NotANumber { key } if key == "k"),
                "{err:?}"
            );
            assert_eq!(s.kv_get("app", "k").unwrap().as_deref(), Some(bad));
        }
    }

    #[test]
    fn increment_overflow_fails_and_leaves_value() {
        let (_dir, s) = temp_storage();
        s.kv_set("app", "k", i64::MAX.to_string().as_bytes())
            .unwrap();
        let err = s.kv_increment("app", "k", 1).unwrap_err();
        assert!(matches!(err, StorageError::Overflow { .. }), "{err:?}");
        assert_eq!(
            s.kv_get("app", "k").unwrap().unwrap(),
            i64::MAX.to_string().as_bytes()
        );
        assert_eq!(s.kv_increment("app", "low", i64::MIN).unwrap(), i64::MIN);
        assert!(matches!(
            s.kv_increment("app", "low", -1),
            Err(StorageError::Overflow { .. })
        ));
    }

    #[test]
    fn increment_is_atomic_across_threads_and_connections() {
        const THREADS: usize = 8;
        const PER_THREAD: usize = 200;
        let (dir, shared) = temp_storage();
        let path = dir.path().join("botyard.db");
        let barrier = Arc::new(std::sync::Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|i| {
                // Half share one handle, half have their own connection, as
                // a second process (e.g. `botyard call`) would.
                let storage = if i % 2 == 0 {
                    shared.clone()
                } else {
                    Storage::open(&path).unwrap()
                };
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    for _ in 0..PER_THREAD {
                        storage.kv_increment("app", "count", 1).unwrap();
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        let total = (THREADS * PER_THREAD) as i64;
        let stored = shared.kv_get("app", "count").unwrap().unwrap();
        assert_eq!(String::from_utf8(stored).unwrap(), total.to_string());
    }

    #[test]
    fn compare_and_swap_semantics() {
        let (_dir, s) = temp_storage();
        // Absent: expecting a value fails, expecting absence succeeds.
        assert!(
            !s.kv_compare_and_swap("app", "k", Some(b"x"), Some(b"y"))
                .unwrap()
        );
        assert_eq!(s.kv_get("app", "k").unwrap(), None);
        assert!(
            s.kv_compare_and_swap("app", "k", None, Some(b"v1"))
                .unwrap()
        );
        assert_eq!(s.kv_get("app", "k").unwrap().as_deref(), Some(&b"v1"[..]));
        // Present: expecting absence fails, a mismatch fails, a match swaps.
        assert!(
            !s.kv_compare_and_swap("app", "k", None, Some(b"zz"))
                .unwrap()
        );
        assert!(
            !s.kv_compare_and_swap("app", "k", Some(b"v0"), Some(b"zz"))
                .unwrap()
        );
        assert_eq!(s.kv_get("app", "k").unwrap().as_deref(), Some(&b"v1"[..]));
        assert!(
            s.kv_compare_and_swap("app", "k", Some(b"v1"), Some(b"v2"))
                .unwrap()
        );
        assert_eq!(s.kv_get("app", "k").unwrap().as_deref(), Some(&b"v2"[..]));
        // Delete: mismatch keeps it, match removes it.
        assert!(
            !s.kv_compare_and_swap("app", "k", Some(b"v1"), None)
                .unwrap()
        );
        assert!(s.kv_get("app", "k").unwrap().is_some());
        assert!(
            s.kv_compare_and_swap("app", "k", Some(b"v2"), None)
                .unwrap()
        );
        assert_eq!(s.kv_get("app", "k").unwrap(), None);
        // An empty value is present, not absent.
        s.kv_set("app", "e", b"").unwrap();
        assert!(!s.kv_compare_and_swap("app", "e", None, Some(b"x")).unwrap());
        assert!(
            s.kv_compare_and_swap("app", "e", Some(b""), Some(b"x"))
                .unwrap()
        );
    }

    #[test]
    fn too_large_key_or_value_is_rejected_and_nothing_written() {
        let (_dir, s) = temp_storage();
        let long_key = "k".repeat(MAX_KEY_BYTES + 1);
        let big_value = vec![b'v'; MAX_VALUE_BYTES + 1];

        let err = s.kv_set("app", &long_key, b"v").unwrap_err();
        assert!(
            matches!(err, StorageError::TooLarge { what: "key", limit: MAX_KEY_BYTES, actual } if actual == MAX_KEY_BYTES + 1),
            "{err:?}"
        );
        let err = s.kv_set("app", "k", &big_value).unwrap_err();
        assert!(
            matches!(
                err,
                StorageError::TooLarge {
                    what: "value",
                    limit: MAX_VALUE_BYTES,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(matches!(
            s.kv_increment("app", &long_key, 1),
            Err(StorageError::TooLarge { .. })
        ));
        assert!(matches!(
            s.kv_compare_and_swap("app", "k", None, Some(&big_value)),
            Err(StorageError::TooLarge { .. })
        ));
        assert!(matches!(
            s.kv_compare_and_swap("app", &long_key, None, Some(b"v")),
            Err(StorageError::TooLarge { .. })
        ));
        assert_eq!(s.kv_list("app", "", 100).unwrap(), Vec::<String>::new());
        assert!(err.to_string().contains("1048576"), "{err}");

        // Exactly at the limits is fine.
        let max_key = "k".repeat(MAX_KEY_BYTES);
        s.kv_set("app", &max_key, &big_value[..MAX_VALUE_BYTES])
            .unwrap();
        assert_eq!(
            s.kv_get("app", &max_key).unwrap().map(|v| v.len()),
            Some(MAX_VALUE_BYTES)
        );
    }

    #[test]
    fn data_survives_reopen() {
        let (dir, s) = temp_storage();
        s.kv_set("app", "greeting", b"hello").unwrap();
        s.kv_increment("app", "count", 3).unwrap();
        drop(s);
        let s = Storage::open(&dir.path().join("botyard.db")).unwrap();
        assert_eq!(
            s.kv_get("app", "greeting").unwrap().as_deref(),
            Some(&b"hello"[..])
        );
        assert_eq!(s.kv_increment("app", "count", 1).unwrap(), 4);
    }
}
