//! Embeds the SDKs botyard installs beside an app — the Python SDK
//! (`guests/python/botyard/*.py`, for `botyard build`) and the Rust SDK's
//! sources (`guests/rust/botyard-sdk/src/*.rs`, for `botyard new`) — into
//! the binary, so neither needs the repository. Generated rather than
//! listed by hand: a new SDK module (a new capability's wrapper, say) is
//! picked up without touching the host.

use std::fmt::Write;
use std::path::Path;

/// Writes `<OUT_DIR>/<out>`: a `&[(file name, contents)]` of the files in
/// `dir` (relative to the host crate) ending in `extension`, sorted.
fn embed(dir: &str, extension: &str, out: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    // A directory: cargo reruns this when any file in it changes, appears
    // or goes.
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(extension))
        .collect();
    files.sort();
    let mut text = String::from("&[\n");
    for file in files {
        let path = dir.join(&file);
        writeln!(
            text,
            "    ({file:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    text.push_str("]\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join(out);
    std::fs::write(dest, text).unwrap();
}

fn main() {
    embed("../guests/python/botyard", ".py", "python_sdk.rs");
    embed("../guests/rust/botyard-sdk/src", ".rs", "rust_sdk_src.rs");
}
