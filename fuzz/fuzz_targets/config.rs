//! `cargo fuzz run config`: see `botyard::fuzzing::config` and fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| botyard::fuzzing::config(data));
