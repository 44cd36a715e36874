//! `cargo fuzz run interaction`: see `botyard::fuzzing::interaction` and fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| botyard::fuzzing::interaction(data));
