//! `cargo fuzz run event`: see `botyard::fuzzing::event` and fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| botyard::fuzzing::event(data));
