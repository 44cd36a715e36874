//! `settings`: values the operator set for the app in `botyard.toml`,
//! `[apps.<id>.settings]` — which channel to post in, which office, who
//! approves — so an app is configured without rebuilding it. Read-only, and
//! an app sees only its own section (the host passes the app's section, not
//! a name the guest chose). Settings are not for secrets: credentials stay
//! with the host and are injected where they are used.
//!
//! An app declares the settings it reads (`settings-schema`): the host fills
//! in a declared default the operator did not override, and refuses to load
//! a version missing a required setting, naming it and the line to add —
//! a load-time message instead of a crash at the first request.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::Linker;

use super::{Capability, Ctx, CtxOf, Host, Services, ctx};
use crate::contract::bindings::botyard::app::settings;
use crate::contract::description::Description;

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

    fn described(
        &self,
        app: &Arc<str>,
        values: &Arc<Values>,
        description: &Description,
    ) -> Result<Arc<Values>, String> {
        let mut effective = Values::clone(values);
        for spec in &description.settings {
            if effective.contains_key(&spec.name) {
                continue;
            }
            match &spec.default {
                Some(default) => {
                    effective.insert(spec.name.clone(), default.clone());
                }
                None if spec.required => {
                    let about = if spec.description.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", spec.description)
                    };
                    return Err(format!(
                        "the app requires setting `{name}`{about} and it is not set; add it to botyard.toml: [apps.{app}.settings] {name} = \"…\"",
                        name = spec.name
                    ));
                }
                None => {}
            }
        }
        Ok(Arc::new(effective))
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

    #[test]
    fn declared_defaults_fill_in_and_a_missing_required_one_is_named() {
        use crate::contract::bindings::settings_schema::SettingSpec;
        let spec = |name: &str, default: Option<&str>, required: bool| SettingSpec {
            name: name.into(),
            description: format!("about {name}"),
            default: default.map(String::from),
            required,
        };
        let mut description = Description::empty();
        description.settings = vec![
            spec("channel", Some("#general"), true),
            spec("office", None, false),
            spec("budget", Some("100"), false),
        ];
        let set: Values = [("budget".to_string(), "250".to_string())].into();
        let app: Arc<str> = "lunch".into();
        let effective = Settings
            .described(&app, &Arc::new(set), &description)
            .unwrap();
        assert_eq!(effective.get("channel").map(String::as_str), Some("#general"));
        assert_eq!(effective.get("budget").map(String::as_str), Some("250"), "the operator wins");
        assert!(!effective.contains_key("office"));

        description.settings.push(spec("approvers", None, true));
        let error = Settings
            .described(&app, &Arc::new(Values::new()), &description)
            .unwrap_err();
        assert!(
            error.contains("`approvers` (about approvers)")
                && error.contains("[apps.lunch.settings] approvers ="),
            "{error}"
        );
    }
}
