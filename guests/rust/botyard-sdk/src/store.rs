//! The app's own key-value store: keys no other app can read or write, values
//! of bytes, kept across invocations, restarts and new versions of the app.
//!
//! Besides the raw calls, [`get_json`], [`set_json`] and [`update_json`] keep
//! any serde type as JSON:
//!
//! ```no_run
//! use botyard_sdk::store;
//! use std::collections::BTreeMap;
//!
//! # fn vote(user: &str, dish: &str) -> Result<(), store::Error> {
//! // Atomic even when two people vote at once.
//! let votes = store::update_json("votes/today", |votes: Option<BTreeMap<String, String>>| {
//!     let mut votes = votes.unwrap_or_default();
//!     votes.insert(user.to_string(), dish.to_string());
//!     votes
//! })?;
//! let tally: Option<BTreeMap<String, String>> = store::get_json("votes/today")?;
//! # Ok(())
//! # }
//! ```
//!
//! Errors convert into `String`, so `?` works in handlers.

use std::fmt;

use serde::{de::DeserializeOwned, Serialize};

pub use crate::bindings::botyard::app::store::{
    compare_and_swap, delete, get, increment, list_keys, set, StoreError,
};

/// Why a JSON helper failed.
#[derive(Debug)]
pub enum Error {
    /// The store call itself failed.
    Store(StoreError),
    /// The value under `key` is not JSON of the requested type, or the value
    /// to store cannot be written as JSON.
    Json {
        key: String,
        error: serde_json::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Store(error) => write!(f, "{error}"),
            Error::Json { key, error } => write!(f, "store key `{key}`: {error}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Error {
        Error::Store(error)
    }
}

/// Lets handlers use `?` on the JSON helpers; the error's text reaches the user.
impl From<Error> for String {
    fn from(error: Error) -> String {
        error.to_string()
    }
}

/// Lets handlers use `?` on the raw store calls.
impl From<StoreError> for String {
    fn from(error: StoreError) -> String {
        error.to_string()
    }
}

/// The value under `key` as a `T`, or `None` if the key is absent.
pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>, Error> {
    get(key)?.map(|bytes| decode(key, &bytes)).transpose()
}

/// Stores `value` as JSON under `key`.
pub fn set_json<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<(), Error> {
    Ok(set(key, &encode(key, value)?)?)
}

/// Atomically replaces the value under `key` (`None` when absent) with
/// `change(value)` and returns the new value. When another invocation writes
/// the key in between, `change` runs again on its value, so it must do
/// nothing but compute the new value.
pub fn update_json<T, F>(key: &str, change: F) -> Result<T, Error>
where
    T: Serialize + DeserializeOwned,
    F: FnMut(Option<T>) -> T,
{
    update_in(&Host, key, change)
}

/// The two calls [`update_json`] is made of; the tests put a fake in.
trait Swap {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn swap(&self, key: &str, expected: Option<&[u8]>, new: &[u8]) -> Result<bool, StoreError>;
}

/// The host's store.
struct Host;

impl Swap for Host {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        get(key)
    }

    fn swap(&self, key: &str, expected: Option<&[u8]>, new: &[u8]) -> Result<bool, StoreError> {
        compare_and_swap(key, expected, Some(new))
    }
}

fn update_in<T, F>(store: &impl Swap, key: &str, mut change: F) -> Result<T, Error>
where
    T: Serialize + DeserializeOwned,
    F: FnMut(Option<T>) -> T,
{
    loop {
        let current = store.get(key)?;
        let old = current.as_deref().map(|b| decode(key, b)).transpose()?;
        let new = change(old);
        if store.swap(key, current.as_deref(), &encode(key, &new)?)? {
            return Ok(new);
        }
    }
}

fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|error| Error::Json {
        key: key.into(),
        error,
    })
}

fn encode<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|error| Error::Json {
        key: key.into(),
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::{BTreeMap, HashMap};

    /// A store where someone else writes `interference` first whenever the
    /// app is about to swap, `interferences` times.
    #[derive(Default)]
    struct Contended {
        values: RefCell<HashMap<String, Vec<u8>>>,
        interference: Vec<u8>,
        interferences: RefCell<u32>,
    }

    impl Swap for Contended {
        fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
            Ok(self.values.borrow().get(key).cloned())
        }

        fn swap(&self, key: &str, expected: Option<&[u8]>, new: &[u8]) -> Result<bool, StoreError> {
            let mut values = self.values.borrow_mut();
            if *self.interferences.borrow() > 0 {
                *self.interferences.borrow_mut() -= 1;
                values.insert(key.into(), self.interference.clone());
            }
            if values.get(key).map(Vec::as_slice) != expected {
                return Ok(false);
            }
            values.insert(key.into(), new.to_vec());
            Ok(true)
        }
    }

    #[test]
    fn update_retries_on_a_concurrent_write_and_keeps_both() {
        let store = Contended {
            interference: br#"{"bob":"ramen"}"#.to_vec(),
            interferences: RefCell::new(1),
            ..Contended::default()
        };
        let mut runs = 0;
        let votes = update_in(
            &store,
            "votes",
            |votes: Option<BTreeMap<String, String>>| {
                runs += 1;
                let mut votes = votes.unwrap_or_default();
                votes.insert("alice".into(), "pho".into());
                votes
            },
        )
        .unwrap();
        assert_eq!(runs, 2, "ran again on the other writer's value");
        assert_eq!(votes.len(), 2, "{votes:?}");
        assert_eq!(
            store.values.borrow()["votes"],
            br#"{"alice":"pho","bob":"ramen"}"#
        );
    }

    #[test]
    fn a_value_of_another_shape_is_an_error_naming_the_key() {
        let store = Contended::default();
        store
            .values
            .borrow_mut()
            .insert("n".into(), b"\"text\"".to_vec());
        let err = update_in(&store, "n", |n: Option<u32>| n.unwrap_or(0) + 1).unwrap_err();
        assert!(matches!(err, Error::Json { .. }), "{err:?}");
        let text: String = err.into();
        assert!(text.starts_with("store key `n`:"), "{text}");
    }

    #[test]
    fn store_errors_become_the_users_message() {
        let text: String = Error::from(StoreError::Unavailable("disk full".into())).into();
        assert!(text.contains("disk full"), "{text}");
        let text: String = StoreError::NotANumber.into();
        assert!(text.contains("NotANumber"), "{text}");
    }
}
