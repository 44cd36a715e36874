//! Embeds the Python SDK (`guests/python/botyard/*.py`) into the binary, so
//! `botyard build` can install it next to an app without the repository.
//! Generated rather than listed by hand: a new SDK module (a new
//! capability's wrapper, say) is picked up without touching the host.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guests/python/botyard");
    // A directory: cargo reruns this when any file in it changes, appears
    // or goes.
    println!("cargo:rerun-if-changed={}", sdk.display());
    let mut files: Vec<String> = std::fs::read_dir(&sdk)
        .unwrap_or_else(|e| panic!("reading {}: {e}", sdk.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".py"))
        .collect();
    files.sort();
    let mut out = String::from("&[\n");
    for file in files {
        let path = sdk.join(&file);
        writeln!(
            out,
            "    ({file:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    out.push_str("]\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("python_sdk.rs");
    std::fs::write(dest, out).unwrap();
}
