//! `/spy`, the umbrella command many apps share: twenty generated apps
//! (`tests/guests/spy-gen`, one build patched twenty ways) contribute 120
//! subcommands, load together into one host, and every line reaches the
//! app and verb it names; help lists areas and verbs within Slack's limits,
//! only those the asker may run; a typo gets "did you mean".

use crate::support::reply_text;
use crate::support::spygen::host;

const APPS: usize = 20;
const VERBS: [&str; 6] = ["list", "show", "start", "stop", "restart", "status"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_apps_and_120_subcommands_route_help_and_guard_together() {
    let config = "\
[[permissions.rules]]
app = \"spy-gen-03\"
command = \"/spy gen03 stop\"
users = [\"U0BOSS\"]
";
    let (_generated, host) = host(APPS, config);
    let apps = host.start().await;
    let snapshot = apps.snapshot();
    assert_eq!(
        snapshot.routes.subcommands("/spy").len(),
        APPS * VERBS.len(),
        "every app's subcommands loaded: {:?}",
        snapshot
            .apps
            .iter()
            .filter_map(|(id, e)| e
                .last_error
                .as_ref()
                .map(|err| format!("{id}: {}", err.message)))
            .collect::<Vec<_>>()
    );

    // Every line reaches its own app and verb, with the rest as typed.
    for i in 0..APPS {
        for verb in VERBS {
            if i == 3 && verb == "stop" {
                continue;
            }
            let line = format!("/spy GEN{i:02} {verb}  web-{i} East");
            let got = reply_text(&apps, &line, "U1").await.unwrap();
            assert_eq!(
                got,
                format!("spy-gen-{i:02} gen{i:02} {verb} [web-{i} East]"),
                "{line}"
            );
        }
    }

    // A guarded verb: the boss runs it, anyone else is told who may.
    let denied = reply_text(&apps, "/spy gen03 stop web-1", "U1")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        denied.contains("`/spy gen03 stop` needs <@U0BOSS>"),
        "{denied}"
    );
    let boss = reply_text(&apps, "/spy gen03 stop web-1", "U0BOSS")
        .await
        .unwrap();
    assert_eq!(boss, "spy-gen-03 gen03 stop [web-1]");

    // `/spy`: the areas, paginated; every area on exactly one page.
    let first = reply_text(&apps, "/spy", "U1").await.unwrap();
    assert!(first.contains("`/spy help 2` for the next"), "{first}");
    let mut listed = 0;
    for page in ["/spy", "/spy help 2"] {
        let text = reply_text(&apps, page, "U1").await.unwrap();
        assert!(
            text.chars().count() <= 3_000,
            "{page}: {} chars",
            text.chars().count()
        );
        // U1 may not stop in gen03: it counts five there.
        listed += (0..APPS)
            .filter(|i| {
                let n = if *i == 3 { 5 } else { 6 };
                text.contains(&format!(
                    "`/spy gen{i:02}` — Generated area {i:02}: six verbs ({n} subcommands)"
                ))
            })
            .count();
    }
    assert_eq!(listed, APPS);

    // An area's verbs with usage, only those the asker may run.
    let area = reply_text(&apps, "/spy help gen03", "U1").await.unwrap();
    assert!(
        area.contains("`/spy gen03 restart [target]` — restart things of area 03"),
        "{area}"
    );
    assert!(!area.contains("gen03 stop"), "U1 may not stop: {area}");
    let bare = reply_text(&apps, "/spy gen03", "U1").await.unwrap();
    assert_eq!(bare, area, "an area alone is its help");
    let boss = reply_text(&apps, "/spy help gen03", "U0BOSS")
        .await
        .unwrap();
    assert!(boss.contains("`/spy gen03 stop [target]`"), "{boss}");

    // Typos.
    let typo = reply_text(&apps, "/spy gen07 stpo web-1", "U1")
        .await
        .unwrap_err()
        .to_string();
    assert!(typo.contains("did you mean `/spy gen07 stop`?"), "{typo}");
    let area_typo = reply_text(&apps, "/spy gne07 list", "U1")
        .await
        .unwrap_err()
        .to_string();
    assert!(area_typo.contains("`/spy gen07 list`"), "{area_typo}");
}
