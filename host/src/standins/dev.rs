//! What `botyard dev` simulates, so the shipped apps work out of the box:
//! `/spy servers list` lists servers and `/spy stores top` stores on a
//! machine with neither a supervisord nor a Prometheus.
//!
//! Each stand-in has a fixed loopback address — the one the shipped
//! `botyard.toml` points the app at — and is started only when some app's
//! configuration (`[apps.<id>]`, its settings and allow-list) names that
//! address: pointing the settings at a real backend is all it takes to
//! replace its stand-in, and an app that is not configured costs nothing.
//! When something already listens there, that is what the apps talk to
//! (say, a real supervisord on 9001), and dev says so rather than failing.
//! The workbench lists what runs as "simulated" ([`Simulated`]).
//!
//! A stand-in that checks credentials (GitHub's token, Zendesk's) accepts the value the
//! app's allow rule reads — `${env:GITHUB_TOKEN}` — and when the
//! environment has none, dev makes one up under that name for this process
//! ([`provide_credentials`]), so the shipped configuration loads as it is.

use std::net::SocketAddr;

use serde::Serialize;

use super::github::{GitHubConfig, GitHubStandIn};
use super::prometheus::PrometheusStandIn;
use super::supervisor::SupervisorStandIn;
use super::twilio::{DEMO_ACCOUNT_SID, TwilioStandIn};
use super::zendesk::{DEMO_EMAIL, ZendeskStandIn};
use crate::config::Config;

/// A backend `botyard dev` simulates, as the workbench shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Simulated {
    /// "supervisord (data center east)".
    pub name: String,
    pub url: String,
    /// What it answers and how it differs from the real thing.
    pub about: String,
}

enum Kind {
    Supervisor(&'static [&'static str]),
    Prometheus,
    /// Accepts the token `${env:GITHUB_TOKEN}` reads ([`provide_credentials`]).
    GitHub,
    /// A made-up help desk queue, accepting
    /// `support-bot@example.com/token` and `${env:ZENDESK_API_TOKEN}`.
    Zendesk,
    /// Twilio's Messages API for account [`DEMO_ACCOUNT_SID`], accepting
    /// `${env:TWILIO_ACCOUNT_SID}` / `${env:TWILIO_AUTH_TOKEN}`.
    Twilio,
}

/// The environment variables whose values the simulated backends check —
/// what the shipped `botyard.toml` reads their credentials from.
pub const GITHUB_TOKEN: &str = "GITHUB_TOKEN";

/// The Zendesk API token the shipped `[apps.support]` allow rule sends.
pub const ZENDESK_API_TOKEN: &str = "ZENDESK_API_TOKEN";

/// The Twilio credential pair the shipped `[apps.health]` allow rule sends.
pub const TWILIO_ACCOUNT_SID: &str = "TWILIO_ACCOUNT_SID";
pub const TWILIO_AUTH_TOKEN: &str = "TWILIO_AUTH_TOKEN";

/// Every credential a simulated backend checks.
const CREDENTIALS: &[&str] = &[
    GITHUB_TOKEN,
    ZENDESK_API_TOKEN,
    TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN,
];

/// Gives each simulated backend's credential a value under its variable's
/// name when the environment has none (see
/// [`crate::contract::secret::provide_if_unset`]), so the apps configured
/// for a stand-in load: call before reading `botyard.toml`.
pub fn provide_credentials() {
    for name in CREDENTIALS {
        credential(name);
    }
}

/// The value `${env:name}` reads: the environment's, else one made up for
/// this process (the same on every call).
fn credential(name: &str) -> crate::contract::secret::Secret {
    let token: String = std::iter::repeat_with(fastrand::alphanumeric)
        .take(32)
        .collect();
    crate::contract::secret::provide_if_unset(name, format!("simulated-{token}"))
}

/// The stand-ins dev knows: name, address, kind.
const KNOWN: [(&str, &str, Kind); 6] = [
    (
        "supervisord (data center east)",
        "127.0.0.1:9001",
        Kind::Supervisor(&["web:web-1", "web:web-2", "web:web-3", "worker-1", "cron"]),
    ),
    (
        "supervisord (data center west)",
        "127.0.0.1:9002",
        Kind::Supervisor(&["web:web-1", "web:web-2", "worker-1"]),
    ),
    ("Prometheus", "127.0.0.1:9090", Kind::Prometheus),
    ("GitHub", "127.0.0.1:9300", Kind::GitHub),
    ("Zendesk", "127.0.0.1:9400", Kind::Zendesk),
    ("Twilio", "127.0.0.1:9500", Kind::Twilio),
];

/// The stand-ins running for one `botyard dev`; dropping it stops them.
#[derive(Default)]
pub struct DevStandIns {
    pub simulated: Vec<Simulated>,
    _handles: Vec<Running>,
}

/// Each app's configuration as text, to look for the stand-ins' addresses in.
fn app_texts(config: &Config) -> Vec<String> {
    config.app_tables.values().map(|t| t.to_string()).collect()
}

/// Whether any app's configuration names `addr` (`127.0.0.1:9001`).
fn referenced(app_texts: &[String], addr: &str) -> bool {
    app_texts.iter().any(|text| text.contains(addr))
}

/// What keeps a stand-in running: dropped, it stops.
type Running = Box<dyn std::any::Any + Send>;

impl Kind {
    /// Starts this stand-in on `at`: its URL, what it is, and its handle.
    async fn start(&self, at: SocketAddr) -> std::io::Result<(String, String, Running)> {
        Ok(match self {
            Kind::Supervisor(programs) => {
                let s = SupervisorStandIn::start(at, programs).await?;
                let about = format!(
                    "supervisord's XML-RPC API with {} made-up processes; start and stop change only its memory",
                    programs.len()
                );
                (s.url(), about, Box::new(s))
            }
            Kind::GitHub => {
                let mut config = GitHubConfig::new(credential(GITHUB_TOKEN).expose());
                config.listen = at;
                let g = GitHubStandIn::start(config).await?;
                let about = format!(
                    "GitHub's REST API for an org's repositories, members, webhooks and migrations, in memory; it accepts the token in ${{env:{GITHUB_TOKEN}}}"
                );
                (g.base_url().to_string(), about, Box::new(g))
            }
            Kind::Zendesk => {
                let token = credential(ZENDESK_API_TOKEN);
                let z = ZendeskStandIn::seeded_demo(at, DEMO_EMAIL, token.expose()).await?;
                let about = format!(
                    "Zendesk's Support API (search, tickets, groups) over a made-up queue; it accepts {DEMO_EMAIL}/token and ${{env:{ZENDESK_API_TOKEN}}}"
                );
                (format!("http://{at}/"), about, Box::new(z))
            }
            Kind::Twilio => {
                let t = TwilioStandIn::start(
                    at,
                    DEMO_ACCOUNT_SID,
                    credential(TWILIO_ACCOUNT_SID).expose(),
                    credential(TWILIO_AUTH_TOKEN).expose(),
                )
                .await?;
                let about = format!(
                    "Twilio's Messages API for account {DEMO_ACCOUNT_SID}: it accepts ${{env:{TWILIO_ACCOUNT_SID}}} / ${{env:{TWILIO_AUTH_TOKEN}}}, keeps each SMS in memory and delivers none"
                );
                (t.url(), about, Box::new(t))
            }
            Kind::Prometheus => {
                let p = PrometheusStandIn::start(at).await?;
                let about = "Prometheus's query API answering every query with made-up shop series (it does not evaluate PromQL)";
                (p.url(), about.to_string(), Box::new(p))
            }
        })
    }
}

impl DevStandIns {
    /// Starts the stand-ins `config` points at; see the module doc.
    pub async fn start(config: &Config) -> DevStandIns {
        let texts = app_texts(config);
        let mut running = DevStandIns::default();
        for (name, addr, kind) in KNOWN {
            if !referenced(&texts, addr) {
                continue;
            }
            let at: SocketAddr = addr.parse().expect("a valid address");
            match kind.start(at).await {
                Ok((url, about, handle)) => {
                    tracing::info!(%url, "botyard dev: simulating {name}");
                    running._handles.push(handle);
                    running.simulated.push(Simulated {
                        name: name.to_string(),
                        url,
                        about,
                    });
                }
                Err(e) => in_use(name, addr, &e),
            }
        }
        running
    }
}

fn in_use(name: &str, addr: &str, error: &std::io::Error) {
    tracing::warn!(
        "botyard dev: not simulating {name}: cannot listen on {addr} ({error}); the apps configured for it talk to whatever listens there"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stand_in_runs_only_where_an_app_points() {
        let config = |text: &str| {
            Config::parse(
                text,
                std::path::Path::new("/tmp"),
                std::path::Path::new("/tmp/apps"),
            )
            .unwrap()
        };
        let shipped = config(
            "[apps.servers.settings]\ndatacenters = [{ name = \"east\", url = \"http://127.0.0.1:9001/RPC2\" }]\n",
        );
        assert!(referenced(&app_texts(&shipped), "127.0.0.1:9001"));
        assert!(!referenced(&app_texts(&shipped), "127.0.0.1:9002"));
        let real = config(
            "[apps.servers.settings]\ndatacenters = [{ name = \"east\", url = \"http://10.1.2.3:9001/RPC2\" }]\n",
        );
        assert!(
            !referenced(&app_texts(&real), "127.0.0.1:9001"),
            "a real backend replaces the stand-in"
        );
    }
}
