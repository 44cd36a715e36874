//! Host capabilities: what an app may import, one file each, all on one
//! trait ([`Capability`]) — Spin's "factors" are the model.
//!
//! A capability says, in its own file and nowhere else: its name (which is
//! its grant and its WIT interface), whether apps get it when the operator
//! says nothing (only the first five; everything new is opt-in), its
//! per-app configuration section (`[apps.<id>.<name>]`), its per-app state
//! (resolved when a version loads), its per-invocation state, how it binds
//! to the invocation (who acts), how its interface is linked (on its own,
//! through a projection of the store's data), and the Slack scopes the app
//! manifest must ask for. The registration list at the bottom of this file
//! generates everything that spans all capabilities.
//!
//! What every capability shares in one invocation lives in [`Invocation`]:
//! the app's identity, the unit of work its writes go into, who acts, the
//! Slack calls queued so far, and the app's log.
//!
//! Adding a capability is one file implementing [`Capability`] plus one line
//! in the `registered!` list at the bottom, which also declares the file's
//! module (and its WIT interface and SDK wrappers).

pub mod quota;
pub mod wasi;

use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;
use wasmtime::component::{HasData, Linker};

use crate::contract::bindings::types::InvocationContext;
use crate::contract::description::Description;
use crate::contract::grants::Grants;
use crate::contract::limits::Quotas;
use crate::slack::web_api::WebApi;
use crate::storage::{OutboxStatus, Storage, Unit};

/// One importable interface of `botyard:app`, and everything the host does
/// to provide it.
pub trait Capability: Send + Sync + Sized + 'static {
    /// The WIT interface (`store` for `botyard:app/store`), which is also
    /// the grant's name in `botyard.toml`.
    const NAME: &'static str;
    /// Whether an app the operator says nothing about gets it. Only the
    /// original five are; every capability added since is opt-in, so a new
    /// power never reaches an app silently.
    const DEFAULT_GRANTED: bool = false;

    /// `[apps.<id>.<NAME>]` in `botyard.toml`, for apps granted it.
    type AppConfig: DeserializeOwned + Default + Clone + Send + Sync + 'static;
    /// Resolved once per loaded app version.
    type AppState: Send + Sync + 'static;
    /// Fresh in every instance (every invocation).
    type InstanceState: Send + 'static;

    /// Built once per host, from what the host shares with capabilities.
    fn new(services: &Services) -> Self;

    /// The app's state, when a version of it loads; an error refuses the
    /// version and is shown where load errors are.
    fn load(&self, app: &Arc<str>, config: &Self::AppConfig) -> Result<Self::AppState, String>;

    /// Called once `describe` has said what the app declares, before the
    /// version serves anything: the capability may check the declarations
    /// against its configuration (a required setting nobody set) or complete
    /// its state from them (a setting's default). Returns the state to keep.
    fn described(
        &self,
        app: &Arc<str>,
        state: &Arc<Self::AppState>,
        description: &Description,
    ) -> Result<Arc<Self::AppState>, String> {
        let _ = (app, description);
        Ok(state.clone())
    }

    /// The state of a new instance (possibly made ahead of its request).
    fn instance(&self, app: &Arc<Self::AppState>) -> Self::InstanceState;

    /// Called when the instance is given its request: who acts is known now.
    fn bind(state: &mut Self::InstanceState, invocation: &Invocation) {
        let _ = (state, invocation);
    }

    /// Called when the invocation is over, whatever its outcome.
    fn finish(state: &mut Self::InstanceState, invocation: &mut Invocation) {
        let _ = (state, invocation);
    }

    /// Adds this capability's interface to `linker`, reaching its state
    /// through the store data's [`Host`] projection.
    fn link<T: Host>(linker: &mut Linker<T>) -> wasmtime::Result<()>;

    /// The Slack bot scopes an app needs for calling `functions` of this
    /// interface ([`Uses::ALL`] for any of them); the generated manifest
    /// asks for them. Most capabilities reach no Slack API.
    fn slack_scopes(functions: &[String]) -> Vec<&'static str> {
        let _ = functions;
        Vec::new()
    }
}

/// The configuration of a capability that has none: any key in its
/// `[apps.<id>.<name>]` section is an error.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoConfig {}

/// The interface of shared records; it carries no functions and is no
/// capability, but components import it.
pub const TYPES_INTERFACE: &str = "botyard:app/types@0.1.0";

/// What the host shares with every capability.
#[derive(Clone)]
pub struct Services {
    pub storage: Storage,
    /// Every app's recent log lines.
    pub logs: log::AppLogs,
    /// How apps' Slack calls are recorded: `Pending` when a Slack connection
    /// delivers them, `Local` when none is connected.
    pub delivery: OutboxStatus,
    /// The live Web API once a Slack connection exists.
    pub slack_api: Arc<OnceLock<Arc<WebApi>>>,
    /// Every app's per-minute windows and quota refusals.
    pub quotas: Arc<quota::Meter>,
    /// The time apps see (`clock`, `slack.schedule-message`): the system
    /// clock in production, a manual one under the test kit.
    pub clock: crate::contract::time::Clock,
}

/// What the capabilities of one invocation share.
pub struct Invocation {
    /// The app's id: its namespace in everything it owns. Always the
    /// host's idea of who is running, never a name the guest gave.
    pub app: Arc<str>,
    /// The running version's hash, for records a capability writes.
    pub version: Arc<str>,
    /// When the invocation must be over (set when it is bound to its
    /// request); work a capability does on its behalf ends by then.
    pub deadline: Option<std::time::Instant>,
    /// Where the invocation's writes go (`None` in an instance made ahead
    /// and not yet given its request).
    pub unit: Option<Box<dyn Unit>>,
    /// Who acts and where (empty for events and ticks).
    pub context: InvocationContext,
    /// Outbox ids of the Slack calls made so far, in order.
    pub slack_calls: Vec<i64>,
    /// The app's log, with this invocation's line budget.
    pub log: log::Sink,
    /// The app's quotas (set with the deadline, from its limits).
    pub quotas: Quotas,
}

impl Invocation {
    pub fn new(app: Arc<str>, version: Arc<str>, logs: log::AppLogs) -> Self {
        Invocation {
            log: log::Sink::new(app.clone(), logs),
            app,
            version,
            deadline: None,
            unit: None,
            context: InvocationContext {
                user_id: String::new(),
                channel_id: String::new(),
                trigger_id: None,
            },
            slack_calls: Vec::new(),
            quotas: Quotas::default(),
        }
    }

    /// The unit of work, or an error a capability can hand the guest.
    pub fn unit(&mut self) -> Result<&mut (dyn Unit + 'static), crate::storage::StorageError> {
        self.unit.as_deref_mut().ok_or_else(|| {
            crate::storage::StorageError::Backend(
                "no unit of work: the instance was called before it was bound".into(),
            )
        })
    }
}

/// How a capability's host functions see the store: their own state, and
/// the invocation shared with the others.
pub struct Ctx<'a, S> {
    pub state: &'a mut S,
    pub invocation: &'a mut Invocation,
}

/// The [`HasData`] whose data is a [`Ctx`] over `S`, for `add_to_linker`.
pub struct CtxOf<S>(PhantomData<S>);

impl<S: 'static> HasData for CtxOf<S> {
    type Data<'a> = Ctx<'a, S>;
}

/// What a wasmtime store's data gives capabilities: their states and the
/// invocation. Implemented by the runtime's store data.
pub trait Host: Send + 'static {
    fn parts(&mut self) -> (&mut States, &mut Invocation);
}

/// Access to one capability's instance state inside [`States`].
pub trait Has<C: Capability> {
    fn get(&mut self) -> &mut C::InstanceState;
}

/// The projection every capability links through: its state and the
/// invocation, out of the store's data.
pub fn ctx<T: Host, C: Capability>(host: &mut T) -> Ctx<'_, C::InstanceState>
where
    States: Has<C>,
{
    let (states, invocation) = host.parts();
    Ctx {
        state: <States as Has<C>>::get(states),
        invocation,
    }
}

/// Why a grant or a capability's configuration is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error("unknown capability `{0}`; botyard provides: {names}", names = NAMES.join(", "))]
    Unknown(String),
    #[error("[apps.{app}.{capability}]: {message}")]
    Config {
        app: String,
        capability: &'static str,
        message: String,
    },
}

/// The capability a grant names, checked.
pub fn name(grant: &str) -> Result<&'static str, GrantError> {
    NAMES
        .iter()
        .copied()
        .find(|n| *n == grant)
        .ok_or_else(|| GrantError::Unknown(grant.to_string()))
}

/// What an app gets when `botyard.toml` says nothing about it.
pub fn default_grants() -> Grants {
    DEFAULTS.iter().copied().filter(|n| !n.is_empty()).collect()
}

/// `grants` in registration order (`slack, store, schedule, log, clock`, then
/// the later ones), the order people see them in.
pub fn ordered(grants: &Grants) -> Vec<&'static str> {
    NAMES
        .iter()
        .copied()
        .filter(|n| grants.contains(n))
        .collect()
}

/// Which functions of which capabilities an app version calls: read off a
/// component's imports; for a native app, everything it was granted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Uses(pub std::collections::BTreeMap<&'static str, Vec<String>>);

impl Uses {
    /// Stands for "every function" where nothing narrower is known.
    pub const ALL: &'static str = "*";

    /// Every function of every granted capability.
    pub fn all_of(grants: &Grants) -> Uses {
        Uses(
            grants
                .iter()
                .map(|name| (*name, vec![Uses::ALL.to_string()]))
                .collect(),
        )
    }

    /// The Slack scopes these calls need, sorted, each once.
    pub fn slack_scopes(&self) -> Vec<&'static str> {
        let mut scopes: Vec<&'static str> = self
            .0
            .iter()
            .flat_map(|(name, functions)| scopes_of(name, functions))
            .collect();
        scopes.sort_unstable();
        scopes.dedup();
        scopes
    }
}

/// Generates, from the list of capabilities, everything that spans them:
/// the names, default grants and scopes; the host-wide [`Capabilities`]; the
/// per-app [`AppStates`] and per-app configuration; the per-instance
/// [`States`]; linking, binding and finishing all of them.
macro_rules! registered {
    ($($field:ident :: $name:ident),* $(,)?) => {
        $(pub mod $field;)*
        registered!(@generate $($field: $field::$name),*);
    };
    (@generate $($field:ident: $cap:ty),*) => {
        /// Every capability's name, in registration order.
        pub const NAMES: &[&str] = &[$(<$cap as Capability>::NAME),*];

        const DEFAULTS: &[&str] = &{
            const ALL: [(&str, bool); NAMES.len()] =
                [$((<$cap as Capability>::NAME, <$cap as Capability>::DEFAULT_GRANTED)),*];
            let mut defaults = [""; NAMES.len()];
            let mut i = 0;
            let mut n = 0;
            while i < ALL.len() {
                if ALL[i].1 {
                    defaults[n] = ALL[i].0;
                    n += 1;
                }
                i += 1;
            }
            defaults
        };

        /// The Slack scopes calling `functions` of capability `name` needs.
        fn scopes_of(name: &str, functions: &[String]) -> Vec<&'static str> {
            match name {
                $(<$cap as Capability>::NAME => <$cap as Capability>::slack_scopes(functions),)*
                _ => Vec::new(),
            }
        }

        /// Every capability, built once per host.
        pub struct Capabilities {
            $(pub $field: $cap,)*
        }

        impl Capabilities {
            pub fn new(services: &Services) -> Self {
                Capabilities { $($field: <$cap>::new(services),)* }
            }

            /// Per-app state of every granted capability, from the app's
            /// configuration sections; the first refusal wins.
            pub fn load(
                &self,
                app: &Arc<str>,
                grants: &Grants,
                config: &AppConfigs,
            ) -> Result<AppStates, GrantError> {
                Ok(AppStates {
                    $($field: match grants.contains(<$cap as Capability>::NAME) {
                        true => Some(Arc::new(self.$field.load(app, &config.$field).map_err(
                            |message| GrantError::Config {
                                app: app.to_string(),
                                capability: <$cap as Capability>::NAME,
                                message,
                            },
                        )?)),
                        false => None,
                    },)*
                })
            }

            /// The states to keep once `describe` has said what the app
            /// declares (see [`Capability::described`]).
            pub fn described(
                &self,
                app: &Arc<str>,
                states: &AppStates,
                description: &Description,
            ) -> Result<AppStates, GrantError> {
                Ok(AppStates {
                    $($field: match &states.$field {
                        Some(state) => Some(self.$field.described(app, state, description).map_err(
                            |message| GrantError::Config {
                                app: app.to_string(),
                                capability: <$cap as Capability>::NAME,
                                message,
                            },
                        )?),
                        None => None,
                    },)*
                })
            }

            /// A new instance's states: every capability's, granted or not
            /// (an import that was not granted is refused at load, so the
            /// state of one never granted is never reached).
            pub fn instance(&self, states: &AppStates) -> States {
                States {
                    $($field: match &states.$field {
                        Some(state) => Some(self.$field.instance(state)),
                        None => None,
                    },)*
                }
            }
        }

        /// Links every capability's interface, and `types`, which every
        /// component imports for the records the others use.
        pub fn link_all<T: Host>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
            linker.instance(TYPES_INTERFACE)?;
            $(<$cap as Capability>::link(linker)?;)*
            Ok(())
        }

        /// `[apps.<id>.<name>]` of every capability, parsed.
        #[derive(Clone, Default)]
        pub struct AppConfigs {
            $(pub $field: <$cap as Capability>::AppConfig,)*
        }

        impl AppConfigs {
            /// Parses the sections of `app`'s table that name capabilities;
            /// returns the keys it did not recognise for the caller to judge.
            pub fn parse(
                app: &str,
                table: &toml::Table,
            ) -> Result<(AppConfigs, Vec<String>), GrantError> {
                let mut configs = AppConfigs::default();
                let mut rest = Vec::new();
                for (key, value) in table {
                    match key.as_str() {
                        $(<$cap as Capability>::NAME => {
                            configs.$field = value.clone().try_into().map_err(|e: toml::de::Error| {
                                GrantError::Config {
                                    app: app.to_string(),
                                    capability: <$cap as Capability>::NAME,
                                    message: e.message().to_string(),
                                }
                            })?;
                        })*
                        _ => rest.push(key.clone()),
                    }
                }
                Ok((configs, rest))
            }
        }

        /// One app version's per-app capability states (`None`: not granted).
        pub struct AppStates {
            $(pub $field: Option<Arc<<$cap as Capability>::AppState>>,)*
        }

        /// One instance's capability states (`None`: not granted).
        pub struct States {
            $($field: Option<<$cap as Capability>::InstanceState>,)*
        }

        impl States {
            /// Binds every capability to the invocation about to run.
            pub fn bind(&mut self, invocation: &Invocation) {
                $(if let Some(state) = &mut self.$field {
                    <$cap as Capability>::bind(state, invocation);
                })*
            }

            /// Lets every capability finish the invocation.
            pub fn finish(&mut self, invocation: &mut Invocation) {
                $(if let Some(state) = &mut self.$field {
                    <$cap as Capability>::finish(state, invocation);
                })*
            }
        }

        $(impl Has<$cap> for States {
            fn get(&mut self) -> &mut <$cap as Capability>::InstanceState {
                self.$field
                    .as_mut()
                    .expect(concat!("`", stringify!($field), "` is linked only into apps granted it"))
            }
        })*
    };
}

// The registration list: `<module>::<type>`, one line per capability, in
// the order people see them.
registered! {
    slack::Slack,
    store::Store,
    schedule::Schedule,
    log::Log,
    clock::Clock,
    settings::Settings,
    http::Http,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_five_are_granted_by_default_and_names_are_checked() {
        assert_eq!(
            default_grants(),
            ["slack", "store", "schedule", "log", "clock"]
                .into_iter()
                .collect()
        );
        assert_eq!(name("store"), Ok("store"));
        let err = name("files").unwrap_err().to_string();
        assert!(
            err.contains("`files`") && err.contains("slack, store"),
            "{err}"
        );
    }

    #[test]
    fn scopes_follow_the_functions_used() {
        assert!(Uses::all_of(&Grants::new()).slack_scopes().is_empty());
        let all = Uses::all_of(&["slack", "store"].into_iter().collect()).slack_scopes();
        assert!(
            all.contains(&"chat:write") && all.contains(&"pins:write"),
            "{all:?}"
        );
        let posting = Uses(
            [
                ("slack", vec!["post-message".to_string()]),
                ("store", vec!["get".to_string()]),
            ]
            .into_iter()
            .collect(),
        );
        assert_eq!(posting.slack_scopes(), ["chat:write"]);
        let thread = Uses(
            [(
                "slack",
                vec!["thread-replies".to_string(), "send-dm".to_string()],
            )]
            .into_iter()
            .collect(),
        );
        assert_eq!(
            thread.slack_scopes(),
            [
                "channels:history",
                "chat:write",
                "groups:history",
                "im:history",
                "im:write",
                "mpim:history"
            ]
        );
    }
}
