//! What the operator set for this app in `botyard.toml`
//! (`[apps.<id>.settings]`): which channel, which office, who approves.
//! Needs the `settings` grant.
//!
//! An app declares the settings it reads with [`App::setting`](crate::App::setting),
//! so the host can show them and refuse to load the app while a required one
//! is missing; [`get`] answers the operator's value, else the declared
//! default, else `None`:
//!
//! ```no_run
//! use botyard_sdk::prelude::*;
//!
//! fn app() -> App {
//!     App::new("lunch", "Posts the menu")
//!         .setting("channel", setting_spec("Where to post the menu").default("#lunch"))
//!         .setting("seats", setting_spec("How many people fit").required())
//!         .schedule("menu", "0 11 * * 1-5", menu)
//! }
//!
//! fn menu(_: Tick) -> Result<(), String> {
//!     let channel = settings::get("channel").unwrap_or_default(); // "#lunch" unless the operator says otherwise
//!     let seats: u32 = settings::get_json("seats")?.unwrap_or(0);
//!     slack::post_message(&channel, &Message::new(format!("Lunch for {seats}")), None)?;
//!     Ok(())
//! }
//! # export_app!(app);
//! ```
//!
//! Values are text: a TOML string as it is; numbers, booleans, dates,
//! arrays and tables as JSON ([`get_json`] parses them).

use std::borrow::Cow;
use std::cell::RefCell;

use serde::de::DeserializeOwned;

use crate::bindings::botyard::app::settings as wit;

thread_local! {
    /// The defaults of the app handling the request: (name, default).
    static DEFAULTS: RefCell<Vec<(Cow<'static, str>, Cow<'static, str>)>> =
        const { RefCell::new(Vec::new()) };
}

/// Called by the app's dispatch before a handler runs: these are the
/// defaults [`get`] falls back on.
pub(crate) fn declare(defaults: impl Iterator<Item = (Cow<'static, str>, Cow<'static, str>)>) {
    DEFAULTS.with(|declared| {
        let mut declared = declared.borrow_mut();
        declared.clear();
        declared.extend(defaults);
    });
}

/// The default the app declared for `name`, if any.
fn default_of(name: &str) -> Option<String> {
    DEFAULTS.with(|declared| {
        declared
            .borrow()
            .iter()
            .find(|(declared, _)| declared == name)
            .map(|(_, default)| default.to_string())
    })
}

/// The operator's value if there is one, else the declared default.
fn resolve(name: &str, operators: Option<String>) -> Option<String> {
    operators.or_else(|| default_of(name))
}

/// Setting `name` as text: the operator's value, else the default the app
/// declared with [`App::setting`](crate::App::setting), else `None`.
pub fn get(name: &str) -> Option<String> {
    resolve(name, wit::get(name))
}

/// Setting `name` parsed as JSON (numbers, booleans, lists, tables), or
/// `None` when neither the operator nor a declared default gives one. A
/// value that is not JSON of type `T` is an error naming the setting.
pub fn get_json<T: DeserializeOwned>(name: &str) -> Result<Option<T>, String> {
    get(name)
        .map(|text| {
            serde_json::from_str(&text)
                .map_err(|e| format!("setting `{name}` is not what the app expects ({e}): {text}"))
        })
        .transpose()
}

/// The names [`get`] answers for, sorted: every setting the operator set,
/// and every declared one with a default.
pub fn names() -> Vec<String> {
    with_defaults(wit::names())
}

fn with_defaults(mut names: Vec<String>) -> Vec<String> {
    DEFAULTS.with(|declared| {
        names.extend(declared.borrow().iter().map(|(name, _)| name.to_string()));
    });
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{setting_spec, App, Tick};

    #[test]
    fn the_operators_value_wins_then_the_declared_default() {
        let app = App::new("hooks", "")
            .setting("channel", setting_spec("Where to post").default("C0HOOKS"))
            .setting("fail_times", setting_spec("How often to fail").default("0"))
            .setting("token_name", setting_spec("Which token").required())
            .setting("plain", "No default")
            .tick("t", |_| {
                assert_eq!(resolve("channel", None).as_deref(), Some("C0HOOKS"));
                assert_eq!(resolve("channel", Some("C1".into())).as_deref(), Some("C1"));
                assert_eq!(resolve("fail_times", None).as_deref(), Some("0"));
                assert_eq!(resolve("token_name", None), None);
                assert_eq!(resolve("plain", None), None);
                assert_eq!(resolve("undeclared", None), None);
                assert_eq!(
                    with_defaults(vec!["channel".into(), "zone".into()]),
                    ["channel", "fail_times", "zone"]
                );
                Ok(())
            });
        app.on_tick(Tick {
            name: "t".into(),
            due_ms: 0,
        })
        .unwrap();
        // Another app's request sees only its own defaults.
        App::new("other", "")
            .tick("t", |_| {
                assert_eq!(resolve("channel", None), None);
                Ok(())
            })
            .on_tick(Tick {
                name: "t".into(),
                due_ms: 0,
            })
            .unwrap();
    }
}
