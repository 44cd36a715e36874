//! Write botyard Slack apps in Rust, the way Slack's Bolt registers handlers.
//!
//! An app is an [`App`] value: its name, and a handler for each command,
//! click, modal, event, schedule, shortcut and webhook it answers to, and
//! the settings it reads. What it answers to — the `describe` the host reads
//! when it loads the app, and the webhooks and settings it declares — is
//! derived from those registrations, so nothing is declared without a handler or handled
//! without being declared. [`export_app!`] makes a function returning the
//! `App` the component botyard loads.
//!
//! ```no_run
//! use botyard_sdk::prelude::*;
//!
//! fn app() -> App {
//!     App::new("hello", "Greets you")
//!         .command("/hello", spec("Say hello").usage("[name]"), hello)
//!         .action("again", again)
//! }
//!
//! fn hello(request: CommandRequest) -> Result<Reply, String> {
//!     let user = &request.context.user_id;
//!     let count = store::increment(&format!("calls/{user}"), 1)?;
//!     let text = format!("Hi, <@{user}>! That makes {count}.");
//!     let button = Element::button("Again", "again").value(user.as_str());
//!     let message = Message::new(&text)
//!         .with_blocks([Block::section(&text), Block::actions([button])]);
//!     Ok(Reply::in_channel(message))
//! }
//!
//! fn again(request: ActionRequest) -> Result<String, String> {
//!     Ok(format!("You clicked {}", request.action_id))
//! }
//!
//! export_app!(app);
//! ```
//!
//! Every invocation runs in a fresh instance, so `app()` runs for each
//! request and state lives in [`store`], not in statics. A request no
//! handler is registered for is an error naming it (``app `hello` has no
//! handler for action `colour` ``), and registering one id twice makes
//! `describe` fail, so that version is refused at load instead of half
//! working.
//!
//! Handlers return `Err` with a short message for the user; errors from
//! [`store`], [`slack`] and [`http`] convert into it, so `?` works in every
//! handler.
//!
//! A component imports only the interfaces its code calls (`store` above),
//! and botyard refuses to load one that imports an interface the operator
//! did not grant it.

mod app;
pub mod blocks;
pub mod http;
mod phrase;
mod reply;
pub mod settings;
pub mod slack;
pub mod store;

/// The `botyard:app` bindings; [`export_app!`] refers to them.
///
/// Built for world `app-with-triggers`: the `handler` every app exports plus
/// the optional triggers (`shortcuts`, `webhooks`) and `settings-schema`, so
/// an app built with this SDK offers whatever it registers.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "app-with-triggers",
        path: "../../../wit",
        pub_export_macro: true,
        additional_derives: [PartialEq, Eq],
    });
}

pub use app::{setting_spec, shortcut_spec, spec, App, Setting, Shortcut, Spec, ViewClosed};
/// Time from the host: `clock::now_ms()`.
pub use bindings::botyard::app::clock;
/// One-off ticks: `schedule::once(name, at_ms)` reaches the [`App::tick`]
/// handler registered for `name` when it is due.
pub use bindings::botyard::app::schedule;
pub use bindings::botyard::app::types::*;
pub use bindings::exports::botyard::app::phrases::{ChoiceSpec, PhraseSpec, SlotKind, SlotSpec};
pub use bindings::exports::botyard::app::settings_schema::SettingSpec;
pub use bindings::exports::botyard::app::shortcuts::{
    ShortcutKind, ShortcutMessage, ShortcutRequest, ShortcutSpec,
};
pub use bindings::exports::botyard::app::webhooks::{WebhookRequest, WebhookSpec};
pub use phrase::{Phrase, Slot};
pub use reply::{IntoActionResponse, IntoCommandReply, IntoViewResponse};
pub use slack::{MessageMetadata, PostOptions};

/// The README's examples, compiled as doc tests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeExamples;

/// Structured log lines, tagged by the host with the app and invocation.
pub mod log {
    pub use crate::bindings::botyard::app::log::{write, Level};

    pub fn debug(message: &str) {
        write(Level::Debug, message);
    }

    pub fn info(message: &str) {
        write(Level::Info, message);
    }

    pub fn warn(message: &str) {
        write(Level::Warn, message);
    }

    pub fn error(message: &str) {
        write(Level::Error, message);
    }
}

/// Everything an app usually needs: `use botyard_sdk::prelude::*;`.
pub mod prelude {
    pub use crate::bindings::botyard::app::types::*;
    pub use crate::blocks::{option, Block, Element, SelectOption, Text, View};
    pub use crate::{
        clock, export_app, http, log, schedule, setting_spec, settings, shortcut_spec, slack, spec,
        store, App, MessageMetadata, Phrase, PostOptions, ShortcutKind, ShortcutMessage,
        ShortcutRequest, Slot, ViewClosed, WebhookRequest,
    };
}

/// Exports the [`App`] a function builds as the component's handlers:
/// `export_app!(app);` at the top level of the app crate, with `fn app() ->
/// App`. The function runs once per invocation (each in a fresh instance),
/// so it should do nothing but register.
#[macro_export]
macro_rules! export_app {
    ($app:path) => {
        const _: () = {
            struct BotyardApp;

            impl $crate::bindings::exports::botyard::app::handler::Guest for BotyardApp {
                fn describe() -> $crate::AppInfo {
                    $app().describe()
                }

                fn on_command(
                    request: $crate::CommandRequest,
                ) -> ::core::result::Result<
                    ::core::option::Option<$crate::Reply>,
                    ::std::string::String,
                > {
                    $app().on_command(request)
                }

                fn on_action(
                    request: $crate::ActionRequest,
                ) -> ::core::result::Result<$crate::ActionResponse, ::std::string::String> {
                    $app().on_action(request)
                }

                fn on_view_submission(
                    submission: $crate::ViewSubmission,
                ) -> ::core::result::Result<$crate::ViewResponse, ::std::string::String> {
                    $app().on_view_submission(submission)
                }

                fn on_event(
                    event: $crate::Event,
                ) -> ::core::result::Result<(), ::std::string::String> {
                    $app().on_event(event)
                }

                fn on_tick(
                    tick: $crate::Tick,
                ) -> ::core::result::Result<(), ::std::string::String> {
                    $app().on_tick(tick)
                }
            }

            impl $crate::bindings::exports::botyard::app::shortcuts::Guest for BotyardApp {
                fn describe_shortcuts() -> ::std::vec::Vec<$crate::ShortcutSpec> {
                    $app().describe_shortcuts()
                }

                fn on_shortcut(
                    request: $crate::ShortcutRequest,
                ) -> ::core::result::Result<(), ::std::string::String> {
                    $app().on_shortcut(request)
                }
            }

            impl $crate::bindings::exports::botyard::app::webhooks::Guest for BotyardApp {
                fn describe_webhooks() -> ::std::vec::Vec<$crate::WebhookSpec> {
                    $app().describe_webhooks()
                }

                fn on_webhook(
                    request: $crate::WebhookRequest,
                ) -> ::core::result::Result<(), ::std::string::String> {
                    $app().on_webhook(request)
                }
            }

            impl $crate::bindings::exports::botyard::app::settings_schema::Guest for BotyardApp {
                fn describe_settings() -> ::std::vec::Vec<$crate::SettingSpec> {
                    $app().describe_settings()
                }
            }

            impl $crate::bindings::exports::botyard::app::phrases::Guest for BotyardApp {
                fn describe_phrases() -> ::std::vec::Vec<$crate::PhraseSpec> {
                    $app().describe_phrases()
                }
            }

            $crate::bindings::export! { BotyardApp with_types_in $crate::bindings }
        };
    };
}
