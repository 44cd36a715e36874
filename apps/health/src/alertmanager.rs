//! Alertmanager's webhook payload (`webhook_config`, version 4), as its
//! documentation gives it:
//!
//! ```json
//! { "version": "4", "groupKey": "…", "truncatedAlerts": 0,
//!   "status": "firing|resolved", "receiver": "…",
//!   "groupLabels": {…}, "commonLabels": {…}, "commonAnnotations": {…},
//!   "externalURL": "…",
//!   "alerts": [ { "status": "firing|resolved", "labels": {…},
//!                 "annotations": {…}, "startsAt": "…", "endsAt": "…",
//!                 "generatorURL": "…", "fingerprint": "…" } ] }
//! ```
//!
//! Each alert of a group is handled on its own, by its own `status` (a
//! group's `status` is `firing` while any of its alerts fires).

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    pub version: String,
    #[serde(default)]
    pub alerts: Vec<AmAlert>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AmAlert {
    pub status: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, rename = "generatorURL")]
    pub generator_url: String,
    #[serde(default)]
    pub fingerprint: String,
}

/// Parses a delivery; an error says what is wrong, for the host's log.
pub fn parse(body: &[u8]) -> Result<Payload, String> {
    let payload: Payload = serde_json::from_slice(body)
        .map_err(|e| format!("not an Alertmanager webhook payload: {e}"))?;
    if payload.version != "4" {
        return Err(format!(
            "Alertmanager webhook payload version {:?}; this app reads version \"4\"",
            payload.version
        ));
    }
    Ok(payload)
}

impl AmAlert {
    pub fn firing(&self) -> bool {
        self.status == "firing"
    }

    /// The alert's identity: Alertmanager's fingerprint of its labels, or
    /// the labels themselves when a sender leaves it out.
    pub fn key(&self) -> String {
        if !self.fingerprint.is_empty() {
            return format!("am:{}", self.fingerprint);
        }
        let labels: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!("am:{{{}}}", labels.join(","))
    }

    /// `HighErrorRate (critical) on api-1:9100`.
    pub fn title(&self) -> String {
        let name = self
            .labels
            .get("alertname")
            .map(String::as_str)
            .unwrap_or("Alert");
        let mut title = name.to_string();
        if let Some(severity) = self.labels.get("severity") {
            title.push_str(&format!(" ({severity})"));
        }
        if let Some(instance) = self.labels.get("instance") {
            title.push_str(&format!(" on {instance}"));
        }
        title
    }

    /// The summary (or description) annotation, else the labels.
    pub fn detail(&self) -> String {
        for name in ["summary", "description", "message"] {
            if let Some(text) = self.annotations.get(name).filter(|t| !t.trim().is_empty()) {
                return text.trim().to_string();
            }
        }
        self.labels
            .iter()
            .filter(|(k, _)| k.as_str() != "alertname")
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn link(&self) -> Option<String> {
        (!self.generator_url.is_empty()).then(|| self.generator_url.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Alertmanager 0.27 posts (captured from the one the suite runs).
    const FIRING: &str = r#"{"receiver":"botyard","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"HighErrorRate","instance":"api-1:9100","severity":"critical"},"annotations":{"summary":"5xx above 5% for 10 minutes"},"startsAt":"2026-01-05T09:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus.example/graph?g0.expr=rate","fingerprint":"c0ffee1234567890"}],"groupLabels":{"alertname":"HighErrorRate"},"commonLabels":{"alertname":"HighErrorRate"},"commonAnnotations":{},"externalURL":"http://am.example:9093","version":"4","groupKey":"{}:{alertname=\"HighErrorRate\"}","truncatedAlerts":0}"#;

    #[test]
    fn a_version_4_payload_reads_as_alerts() {
        let p = parse(FIRING.as_bytes()).unwrap();
        let a = &p.alerts[0];
        assert!(a.firing());
        assert_eq!(a.key(), "am:c0ffee1234567890");
        assert_eq!(a.title(), "HighErrorRate (critical) on api-1:9100");
        assert_eq!(a.detail(), "5xx above 5% for 10 minutes");
        assert_eq!(
            a.link().as_deref(),
            Some("http://prometheus.example/graph?g0.expr=rate")
        );
    }

    #[test]
    fn other_versions_and_other_json_are_refused_with_a_reason() {
        let v3 = FIRING.replace(r#""version":"4""#, r#""version":"3""#);
        assert!(parse(v3.as_bytes()).unwrap_err().contains("version \"3\""));
        assert!(parse(b"{}").unwrap_err().contains("not an Alertmanager"));
    }

    #[test]
    fn without_a_fingerprint_the_labels_are_the_key() {
        let json = FIRING.replace(r#","fingerprint":"c0ffee1234567890""#, "");
        let p = parse(json.as_bytes()).unwrap();
        assert_eq!(
            p.alerts[0].key(),
            "am:{alertname=HighErrorRate,instance=api-1:9100,severity=critical}"
        );
    }
}
