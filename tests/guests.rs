//! Every guest the suite loads builds into a component whose imports are
//! exactly the capabilities it uses: wit-component drops unused imports, which
//! is what makes per-app grants meaningful.

#[path = "support/mod.rs"]
mod support;

use support::{TestHost, guest_component, reply_text, repo_root};
use wit_component::DecodedWasm;

fn imports(name: &str) -> Vec<String> {
    let bytes = std::fs::read(guest_component(name)).unwrap();
    let Ok(DecodedWasm::Component(resolve, world)) = wit_component::decode(&bytes) else {
        panic!("{name} is not a component")
    };
    let world = &resolve.worlds[world];
    let iface = |key: &wit_parser::WorldKey| match key {
        wit_parser::WorldKey::Interface(id) => resolve.id_of(*id).unwrap(),
        wit_parser::WorldKey::Name(name) => name.clone(),
    };
    assert!(
        world
            .exports
            .keys()
            .map(iface)
            .any(|e| e.starts_with("botyard:app/handler")),
        "{name} does not export the handler"
    );
    world
        .imports
        .keys()
        .map(iface)
        .filter(|i| !i.starts_with("botyard:app/types"))
        .collect()
}

#[test]
fn every_guest_builds_into_a_component_importing_only_what_it_uses() {
    let expect: &[(&str, &[&str])] = &[
        ("hello-rust", &["botyard:app/store@0.1.0"]),
        ("looper", &[]),
        ("memory-bomb", &[]),
        ("deep-recursion", &[]),
        ("panicker", &[]),
        ("bad-describe", &[]),
        ("ungranted", &["botyard:app/slack@0.1.0"]),
        ("peeker", &["botyard:app/store@0.1.0"]),
        ("sleeper", &["botyard:app/clock@0.1.0"]),
        ("modal", &["botyard:app/slack@0.1.0"]),
        ("mimic", &[]),
        (
            "mentions",
            &["botyard:app/slack@0.1.0", "botyard:app/store@0.1.0"],
        ),
    ];
    for (name, want) in expect {
        assert_eq!(imports(name), *want, "imports of {name}");
    }
}

/// The Rust SDK's own unit and doc tests (its crate is outside the host
/// workspace, which builds for the host, so they run here natively).
#[test]
fn the_rust_sdk_passes_its_own_tests() {
    let sdk = support::repo_root().join("guests/rust/botyard-sdk");
    let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("sdk-target");
    let out = std::process::Command::new(env!("CARGO"))
        .arg("test")
        .arg("--manifest-path")
        .arg(sdk.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target)
        .output()
        .expect("running cargo test for the SDK");
    assert!(
        out.status.success(),
        "the SDK's tests failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `tests/fixtures/hello-rust-0.1.0.wasm` is examples/hello-rust as built
/// against `botyard:app@0.1.0` before the contract grew optional triggers
/// and the SDKs changed shape. Components already deployed must keep
/// loading and answering, whatever the host learns later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_built_against_the_first_contract_still_loads_and_answers() {
    let fixture = repo_root().join("tests/fixtures/hello-rust-0.1.0.wasm");
    let host = TestHost::new("", &[]).with_component("hello", &fixture);
    let runtime = host.start().await;
    let snapshot = runtime.snapshot();
    let entry = snapshot.apps.get("hello").expect("the fixture is listed");
    assert!(entry.last_error.is_none(), "{:?}", entry.last_error);
    assert_eq!(
        reply_text(&runtime, "/hello old friend", "U1")
            .await
            .unwrap(),
        "Hello, old friend! You have said hello 1 time(s)."
    );
    assert_eq!(
        reply_text(&runtime, "/hello", "U1").await.unwrap(),
        "Hello, <@U1>! You have said hello 2 time(s)."
    );
}
