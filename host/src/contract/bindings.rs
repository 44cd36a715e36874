//! Host-side bindings of `botyard:app`, generated from `wit/`.
//!
//! Generated for world `app-with-triggers`, so every optional trigger's
//! types and call glue exist here; the runtime instantiates components
//! against world `app` (what every component must export) and looks the
//! optional trigger exports up one by one at load.
//!
//! `slack`, `store`, `schedule` and `http` are async because they wait on
//! the network or on storage, which may be a database across the network;
//! `log`, `clock` and `settings` answer from memory and stay synchronous
//! (cheaper). Exports are
//! async so every call runs on a fiber the epoch deadline can stop.

wasmtime::component::bindgen!({
    world: "app-with-triggers",
    path: "../wit",
    imports: {
        "botyard:app/slack": async,
        "botyard:app/store": async,
        "botyard:app/schedule": async,
        "botyard:app/http": async,
    },
    exports: { default: async },
    // Requests are compared in tests and parsed payloads compared in
    // routing; none of these types carries anything that compares oddly.
    // Serde: a request taken into the inbox is kept as JSON, so another
    // process can run it if the one that took it dies.
    additional_derives: [PartialEq, serde::Serialize, serde::Deserialize],
});

pub use self::botyard::app::{clock, log, schedule, slack, store, types};
pub use self::exports::botyard::app::{handler, phrases, settings_schema, shortcuts, webhooks};
