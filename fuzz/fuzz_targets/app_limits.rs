//! `cargo fuzz run app_limits`: see `botyard::fuzzing::app_limits` and fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| botyard::fuzzing::app_limits(data));
