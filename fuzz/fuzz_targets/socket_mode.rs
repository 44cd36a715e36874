//! `cargo fuzz run socket_mode`: see `botyard::fuzzing::socket_mode` and fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| botyard::fuzzing::socket_mode(data));
