//! `cargo fuzz run webhook_config`: see `botyard::fuzzing::webhook_config` and fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| botyard::fuzzing::webhook_config(data));
