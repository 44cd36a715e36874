//! The `http` capability's `aws_sigv4` credential against a real S3 API:
//! moto (`support::moto`) checking every request's AWS Signature Version 4
//! with the IAM access key it issued. The `fetcher` guest PUTs an object
//! and GETs it back through the host, which signs each request with the key
//! from the allow rule; the app never has it. A rule holding a wrong secret
//! key is refused by moto with 403 `SignatureDoesNotMatch` — proof that the
//! signatures really are checked, so the round trip proves ours are right.
//! The secret keys appear in no answer, audit row or error.

use crate::support::moto::Moto;
use crate::support::{TestHost, reply_text};
use serde_json::Value;

/// The fetcher's answer to `/fetch <line>`, as JSON.
async fn fetch(apps: &botyard::routing::Apps, line: &str) -> Value {
    let text = reply_text(apps, &format!("/fetch {line}"), "U1")
        .await
        .unwrap_or_else(|e| panic!("/fetch {line}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// `${file:…}` for a new file holding `value`.
fn secret_file(dir: &std::path::Path, name: &str, value: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("{value}\n")).unwrap();
    format!("${{file:{}}}", path.display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_objects_round_trip_signed_by_the_host_and_a_wrong_key_is_refused() {
    let moto = Moto::start().await;
    let key = moto.s3_user(&["backups"]).await;
    // A wrong secret of the same shape as the right one.
    let wrong_secret: String = key.secret.chars().rev().collect();
    assert_ne!(wrong_secret, key.secret);

    let secrets = tempfile::tempdir().unwrap();
    let id = secret_file(secrets.path(), "id", &key.id);
    let secret = secret_file(secrets.path(), "secret", &key.secret);
    let wrong = secret_file(secrets.path(), "wrong", &wrong_secret);
    let url = moto.url();
    // The most specific rule wins: `backups/forged/` signs with the wrong key.
    let config = format!(
        "[apps.fetcher]\ngrants = [\"http\"]\ndeadline_ms = 20000\n\
         [[apps.fetcher.http.allow]]\nurl = \"{url}/backups/\"\n\
         aws_sigv4 = {{ region = \"us-east-1\", service = \"s3\", access_key_id = \"{id}\", secret_access_key = \"{secret}\" }}\n\
         [[apps.fetcher.http.allow]]\nurl = \"{url}/backups/forged/\"\n\
         aws_sigv4 = {{ region = \"us-east-1\", service = \"s3\", access_key_id = \"{id}\", secret_access_key = \"{wrong}\" }}\n"
    );
    let host = TestHost::new(&config, &[("fetcher", "fetcher")]);
    let apps = host.start().await;

    // A key that needs encoding in the URL: S3 signs the path as sent.
    let object = format!("{url}/backups/notes/lunch%20plan.txt");
    let body = "lunch at noon, café on 5th — bring the ünïcode";
    let put = fetch(&apps, &format!("PUT {object} {body}")).await;
    assert_eq!(
        put["status"],
        200,
        "PUT through the host: {put}\nmoto:\n{}",
        moto.log()
    );
    let got = fetch(&apps, &format!("GET {object}")).await;
    assert_eq!(got["status"], 200, "GET through the host: {got}");
    assert_eq!(got["body"], body, "the same bytes came back: {got}");
    // The app sent no credential; the host's never reached it.
    let sent = got["request_headers"].to_string();
    assert!(
        !sent.to_ascii_lowercase().contains("authorization"),
        "{sent}"
    );

    // Signed with the wrong secret: moto checks, and refuses.
    let forged = fetch(&apps, &format!("PUT {url}/backups/forged/x.txt nope")).await;
    assert_eq!(forged["status"], 403, "{forged}");
    assert!(
        forged["body"]
            .as_str()
            .unwrap_or_default()
            .contains("SignatureDoesNotMatch"),
        "{forged}"
    );
    let missing = fetch(&apps, &format!("GET {url}/backups/forged/x.txt")).await;
    assert_eq!(
        missing["status"], 403,
        "nothing was written with the wrong key: {missing}"
    );

    // With the server gone, the error says so, and holds no secret.
    drop(moto);
    let gone = fetch(&apps, &format!("GET {object}")).await;
    let error = gone["error"].as_str().unwrap_or_else(|| panic!("{gone}"));
    assert!(error.contains("127.0.0.1"), "{error}");

    let audit = apps
        .storage()
        .audit
        .recent(Some("fetcher"), 20)
        .await
        .unwrap();
    let http: Vec<String> = audit
        .iter()
        .filter(|r| r.kind == "http")
        .map(|r| format!("{} {:?}", r.detail, r.outcome))
        .collect();
    assert_eq!(http.len(), 5, "{http:#?}");
    assert!(
        http.iter()
            .any(|r| r.starts_with("PUT 127.0.0.1/backups/notes/lunch%20plan.txt → 200")),
        "{http:#?}"
    );
    assert!(
        http.iter()
            .any(|r| r.starts_with("PUT 127.0.0.1/backups/forged/x.txt → 403")),
        "{http:#?}"
    );
    let everything = format!("{http:?} {put} {got} {forged} {missing} {gone}");
    for secret in [&key.secret, &wrong_secret] {
        assert!(
            !everything.contains(secret.as_str()),
            "a secret key leaked: {everything}"
        );
    }
}
