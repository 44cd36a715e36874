//! `settings`: values the operator set for the app in `botyard.toml`,
//! `[apps.<id>.settings]` — which channel to post in, which office, who
//! approves — so an app is configured without rebuilding it. Read-only, and
//! an app sees only its own section (the host passes the app's section, not
//! a name the guest chose). Settings are not for secrets: credentials stay
//! with the host and are injected where they are used.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::Linker;

use super::{Capability, Ctx, CtxOf, Host, Services, ctx};
use crate::contract::bindings::botyard::app::settings;

/// Longest setting value handed to an app: far above any channel, office
/// or approver list; a typo that pasted a file in is refused at load.
const MAX_VALUE_BYTES: usize = 64 * 1024;

pub struct Settings;

/// The app's settings as the guest reads them, by name.
pub type Values = BTreeMap<String, String>;

impl Capability for Settings {
    const NAME: &'static str = "settings";
    type AppConfig = BTreeMap<String, toml::Value>;
    type AppState = Values;
    type InstanceState = Arc<Values>;

    fn new(_: &Services) -> Self {
        Settings
    }

    fn load(&self, _: &Arc<str>, config: &Self::AppConfig) -> Result<Values, String> {
        config
            .iter()
            .map(|(name, value)| {
                let text = match value {
                    toml::Value::String(text) => text.clone(),
                    other => serde_json::to_string(other).map_err(|e| format!("`{name}`: {e}"))?,
                };
                if text.len() > MAX_VALUE_BYTES {
                    return Err(format!(
                        "`{name}` is {} bytes, over the {MAX_VALUE_BYTES}-byte limit for a setting",
                        text.len()
                    ));
                }
                Ok((name.clone(), text))
            })
            .collect()
    }

    fn instance(&self, values: &Arc<Values>) -> Arc<Values> {
        values.clone()
    }

    fn link<T: Host>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
        settings::add_to_linker::<T, CtxOf<Arc<Values>>>(linker, ctx::<T, Settings>)
    }
}

impl settings::Host for Ctx<'_, Arc<Values>> {
    fn get(&mut self, name: String) -> Option<String> {
        self.state.get(&name).cloned()
    }

    fn names(&mut self) -> Vec<String> {
        self.state.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_text_strings_as_they_are_the_rest_as_json() {
        let config: BTreeMap<String, toml::Value> = toml::from_str(
            "channel = \"#lunch\"\nseats = 12\nholidays = [\"2026-12-25\"]\nremote = false\n",
        )
        .unwrap();
        let values = Settings.load(&"app".into(), &config).unwrap();
        assert_eq!(values["channel"], "#lunch");
        assert_eq!(values["seats"], "12");
        assert_eq!(values["holidays"], r#"["2026-12-25"]"#);
        assert_eq!(values["remote"], "false");
        let huge: BTreeMap<String, toml::Value> =
            [("blob".to_string(), toml::Value::String("x".repeat(MAX_VALUE_BYTES + 1)))].into();
        assert!(Settings.load(&"app".into(), &huge).unwrap_err().contains("`blob`"));
    }
}
