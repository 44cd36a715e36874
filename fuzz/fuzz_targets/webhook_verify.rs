//! `cargo fuzz run webhook_verify`: see `botyard::fuzzing::webhook_verify` and fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| botyard::fuzzing::webhook_verify(data));
