//! Write botyard Slack apps in Rust.
//!
//! An app is a type implementing [`App`]: [`App::describe`] says what it
//! answers to, and it writes only the handlers it needs — the others default.
//! [`export_app!`] makes it the component botyard loads. Every invocation runs
//! in a fresh instance, so state lives in [`store`], not in statics.
//!
//! ```no_run
//! use botyard_sdk::prelude::*;
//!
//! struct Hello;
//!
//! impl App for Hello {
//!     fn describe() -> AppInfo {
//!         AppInfo::new("hello", "Greets you").command("/hello", "Say hello", "[name]")
//!     }
//!
//!     fn on_command(request: CommandRequest) -> Result<Option<Reply>, String> {
//!         let user = &request.context.user_id;
//!         let count = store::increment(&format!("calls/{user}"), 1)?;
//!         let text = format!("Hello, <@{user}>! That makes {count}.");
//!         let button = Element::button("Again", "again").value(user.as_str());
//!         let message = Message::new(&text)
//!             .with_blocks([Block::section(&text), Block::actions([button])]);
//!         Ok(Some(Reply::in_channel(message)))
//!     }
//!
//!     fn on_action(request: ActionRequest) -> Result<ActionResponse, String> {
//!         Ok(ActionResponse::ephemeral(format!("You clicked {}", request.action_id)))
//!     }
//! }
//!
//! export_app!(Hello);
//! ```
//!
//! Errors from [`store`] and [`slack`] convert into the `String` handlers
//! return, so `?` works in every handler; the host shows the text to the user.
//!
//! A component imports only the interfaces its code calls (`store` above),
//! and botyard refuses to load one that imports an interface the operator did
//! not grant it.

pub mod blocks;
mod reply;
pub mod store;

/// The `botyard:app` bindings; [`export_app!`] refers to them.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "app",
        path: "../../../wit",
        pub_export_macro: true,
        additional_derives: [PartialEq, Eq],
    });
}

/// Time from the host: `clock::now_ms()`.
pub use bindings::botyard::app::clock;
/// One-off ticks: `schedule::once(name, at_ms)` calls [`App::on_tick`] then.
pub use bindings::botyard::app::schedule;
/// Talking to Slack: post, update, ephemeral, DM, modals, App Home, reactions.
pub use bindings::botyard::app::slack;
pub use bindings::botyard::app::types::*;

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
    pub use crate::{clock, export_app, log, schedule, slack, store, App};
}

/// A botyard app. Write [`describe`](App::describe) and the handlers the app
/// needs; the others answer the way an app without that feature should.
///
/// Handlers return `Err` with a short message for the user: the host shows it
/// to them and records it in the audit log.
pub trait App {
    /// Name, commands, subcommands, events and schedules (see
    /// [`AppInfo::new`]). Runs once per loaded version: keep it pure and fast.
    fn describe() -> AppInfo;

    /// A slash command or subcommand from `describe`; `Ok(None)` acknowledges
    /// silently. Default: an error naming the command.
    fn on_command(request: CommandRequest) -> Result<Option<Reply>, String> {
        Err(format!("unknown command {}", request.command))
    }

    /// A click on a button, select or other element the app posted.
    /// Default: nothing visible happens.
    fn on_action(request: ActionRequest) -> Result<ActionResponse, String> {
        let _ = request;
        Ok(ActionResponse::None)
    }

    /// A modal the app opened was submitted. Default: the modal closes.
    fn on_view_submission(submission: ViewSubmission) -> Result<ViewResponse, String> {
        let _ = submission;
        Ok(ViewResponse::Close)
    }

    /// An Events API event listed in `describe`. Default: ignored.
    fn on_event(event: Event) -> Result<(), String> {
        let _ = event;
        Ok(())
    }

    /// A schedule from `describe` or [`schedule::once`] is due. Default: ignored.
    fn on_tick(tick: Tick) -> Result<(), String> {
        let _ = tick;
        Ok(())
    }
}

impl<T: App> bindings::exports::botyard::app::handler::Guest for T {
    fn describe() -> AppInfo {
        <T as App>::describe()
    }

    fn on_command(request: CommandRequest) -> Result<Option<Reply>, String> {
        <T as App>::on_command(request)
    }

    fn on_action(request: ActionRequest) -> Result<ActionResponse, String> {
        <T as App>::on_action(request)
    }

    fn on_view_submission(submission: ViewSubmission) -> Result<ViewResponse, String> {
        <T as App>::on_view_submission(submission)
    }

    fn on_event(event: Event) -> Result<(), String> {
        <T as App>::on_event(event)
    }

    fn on_tick(tick: Tick) -> Result<(), String> {
        <T as App>::on_tick(tick)
    }
}

/// Exports an [`App`] as the component's handler. Write it once, at the top
/// level of the app crate: `export_app!(Hello);`.
#[macro_export]
macro_rules! export_app {
    ($app:ident) => {
        $crate::bindings::export!($app with_types_in $crate::bindings);
    };
}

impl AppInfo {
    /// An app called `name` (`[a-z0-9-]`, also its storage namespace) that
    /// answers to nothing yet; add what it answers to with the methods below.
    ///
    /// ```
    /// # use botyard_sdk::AppInfo;
    /// let info = AppInfo::new("lunch", "Rate my plate")
    ///     .command("/lunch", "Today's menu", "")
    ///     .subcommand("/spy", "lunch", "Lunch votes so far", "[day]")
    ///     .event("reaction_added")
    ///     .schedule("menu", "0 11 * * 1-5");
    /// assert_eq!(info.commands[0].name, "/lunch");
    /// assert_eq!(info.subcommands[0].umbrella, "/spy");
    /// ```
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> AppInfo {
        AppInfo {
            name: name.into(),
            description: description.into(),
            commands: Vec::new(),
            subcommands: Vec::new(),
            events: Vec::new(),
            schedules: Vec::new(),
        }
    }

    /// A slash command, with its slash (`/hello`), a one-line description and
    /// an argument hint (`[name]`, or empty).
    pub fn command(
        mut self,
        name: impl Into<String>,
        description: impl Into<String>,
        usage: impl Into<String>,
    ) -> AppInfo {
        self.commands.push(CommandSpec {
            name: name.into(),
            description: description.into(),
            usage: usage.into(),
        });
        self
    }

    /// A subcommand of an umbrella command several apps share: `/spy status`
    /// is `subcommand("/spy", "status", …)`.
    pub fn subcommand(
        mut self,
        umbrella: impl Into<String>,
        name: impl Into<String>,
        description: impl Into<String>,
        usage: impl Into<String>,
    ) -> AppInfo {
        self.subcommands.push(SubcommandSpec {
            umbrella: umbrella.into(),
            name: name.into(),
            description: description.into(),
            usage: usage.into(),
        });
        self
    }

    /// An Events API type to receive in [`App::on_event`] (`app_mention`, …).
    pub fn event(mut self, event_type: impl Into<String>) -> AppInfo {
        self.events.push(event_type.into());
        self
    }

    /// A recurring tick for [`App::on_tick`]: a UTC cron expression with five
    /// fields (`0 11 * * 1-5`) or six (leading seconds).
    pub fn schedule(mut self, name: impl Into<String>, cron: impl Into<String>) -> AppInfo {
        self.schedules.push(ScheduleSpec {
            name: name.into(),
            cron: cron.into(),
        });
        self
    }
}
