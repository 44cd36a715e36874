//! `cargo fuzz run signature`: see `botyard::fuzzing::signature` and fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| botyard::fuzzing::signature(data));
