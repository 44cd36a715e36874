//! Generated `/spy` apps for the umbrella tests and the routing bench: the
//! `tests/guests/spy-gen` template built once, copied with its marker's
//! two digits patched, so copy `07` is app `spy-gen-07` answering `/spy
//! gen07 list|show|start|stop|restart|status`.

use std::path::PathBuf;

use super::{TestHost, guest_component};

const MARKER: &[u8] = b"SPYGEN-INDEX=00;";

/// `count` generated components `spy-gen-00 …`, written into a directory
/// of their own: the template with its marker's digits patched.
pub fn generated(count: usize) -> (tempfile::TempDir, Vec<(String, PathBuf)>) {
    let template = std::fs::read(guest_component("spy-gen")).unwrap();
    let at: Vec<usize> = template
        .windows(MARKER.len())
        .enumerate()
        .filter(|(_, w)| *w == MARKER)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 1, "the template carries its marker exactly once");
    let dir = tempfile::tempdir().unwrap();
    let apps = (0..count)
        .map(|i| {
            let mut bytes = template.clone();
            bytes[at[0] + 13..at[0] + 15].copy_from_slice(format!("{i:02}").as_bytes());
            let id = format!("spy-gen-{i:02}");
            let path = dir.path().join(format!("{id}.wasm"));
            std::fs::write(&path, bytes).unwrap();
            (id, path)
        })
        .collect();
    (dir, apps)
}

/// A host with `count` generated apps and `config`.
pub fn host(count: usize, config: &str) -> (tempfile::TempDir, TestHost) {
    let (dir, apps) = generated(count);
    let host = apps
        .iter()
        .fold(TestHost::new(config, &[]), |host, (id, path)| {
            host.with_component(id, path)
        });
    (dir, host)
}
