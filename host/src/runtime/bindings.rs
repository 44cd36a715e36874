//! Host-side bindings for the `botyard:app` world, generated from `wit/`.
//!
//! `slack` is async because in production its calls wait on Slack's Web API;
//! the other imports answer from local state and stay synchronous (cheaper).
//! Exports are async so every call runs on a fiber the epoch deadline can stop.

wasmtime::component::bindgen!({
    world: "app",
    path: "../wit",
    imports: { "botyard:app/slack": async },
    exports: { default: async },
});

pub use self::botyard::app::{clock, log, schedule, slack, store, types};
pub use self::exports::botyard::app::handler;
