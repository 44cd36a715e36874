//! `cargo fuzz run slash_command`: see `botyard::fuzzing::slash_command` and fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| botyard::fuzzing::slash_command(data));
