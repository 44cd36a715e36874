//! Twilio's Messages API: `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`,
//! form-encoded `To`, `From` (or `MessagingServiceSid`) and `Body`, answered
//! `201 Created` with the Message resource (`sid` `SM…`, `status` `queued`),
//! or an error `{code, message, more_info, status}`.
//!
//! The app never holds Twilio's credentials: the operator's allow rule for
//! the URL carries `basic = { user = "${env:TWILIO_ACCOUNT_SID}", password =
//! "${env:TWILIO_AUTH_TOKEN}" }` and the host adds the header.

use botyard_sdk::http;
use serde::Deserialize;

/// Where and as whom to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// `https://api.twilio.com`, without a trailing slash.
    pub base: String,
    pub account_sid: String,
    /// An E.164 number, or a Messaging Service SID (`MG…`).
    pub from: String,
}

impl Sender {
    pub fn url(&self) -> String {
        format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.base.trim_end_matches('/'),
            self.account_sid
        )
    }

    /// The form Twilio takes.
    pub fn form(&self, to: &str, body: &str) -> Vec<(&'static str, String)> {
        let from_key = if self.from.starts_with("MG") {
            "MessagingServiceSid"
        } else {
            "From"
        };
        vec![
            ("To", to.to_string()),
            (from_key, self.from.clone()),
            ("Body", body.to_string()),
        ]
    }

    /// Sends one SMS: the Message's SID, or why not in words.
    pub fn send(&self, to: &str, body: &str, timeout_ms: u32) -> Result<String, String> {
        let response = http::post(self.url())
            .form(&self.form(to, body))
            .header("Accept", "application/json")
            .timeout_ms(timeout_ms)
            .send()
            .map_err(|e| format!("Twilio did not answer ({e})"))?;
        outcome(response.status, &response.body)
    }
}

#[derive(Deserialize)]
struct Created {
    sid: String,
}

#[derive(Deserialize)]
struct TwilioError {
    code: Option<u64>,
    message: Option<String>,
}

/// What Twilio's answer means: the Message SID, or the error in words.
pub fn outcome(status: u16, body: &[u8]) -> Result<String, String> {
    if (200..300).contains(&status) {
        return serde_json::from_slice::<Created>(body)
            .map(|m| m.sid)
            .map_err(|_| format!("Twilio answered {status} without a Message resource"));
    }
    let hint = match status {
        401 => " — check the `basic` credential of the Twilio rule in `[[apps.health.http.allow]]`",
        404 => " — check the `twilio_account_sid` setting",
        _ => "",
    };
    match serde_json::from_slice::<TwilioError>(body) {
        Ok(TwilioError {
            code: Some(code),
            message,
        }) => Err(format!(
            "Twilio refused it: {status}, error {code} ({}){hint}",
            message.unwrap_or_default()
        )),
        _ => Err(format!("Twilio answered HTTP {status}{hint}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_and_url_are_twilios() {
        let s = Sender {
            base: "https://api.twilio.com/".into(),
            account_sid: "AC123".into(),
            from: "+15550000000".into(),
        };
        assert_eq!(
            s.url(),
            "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json"
        );
        assert_eq!(
            s.form("+15551230001", "hi"),
            vec![
                ("To", "+15551230001".to_string()),
                ("From", "+15550000000".to_string()),
                ("Body", "hi".to_string())
            ]
        );
        let service = Sender {
            from: "MG0123".into(),
            ..s
        };
        assert_eq!(service.form("+1555", "x")[1].0, "MessagingServiceSid");
    }

    #[test]
    fn answers_read_as_a_sid_or_a_reason() {
        assert_eq!(
            outcome(201, br#"{"sid":"SM0123","status":"queued"}"#).unwrap(),
            "SM0123"
        );
        let e = outcome(
            401,
            br#"{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}"#,
        )
        .unwrap_err();
        assert!(
            e.starts_with("Twilio refused it: 401, error 20003 (Authenticate)"),
            "{e}"
        );
        assert!(e.contains("[[apps.health.http.allow]]"), "{e}");
        assert_eq!(
            outcome(502, b"bad gateway").unwrap_err(),
            "Twilio answered HTTP 502"
        );
    }
}
