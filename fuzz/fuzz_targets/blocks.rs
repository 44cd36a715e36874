//! `cargo fuzz run blocks`: see `botyard::fuzzing::blocks` and fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| botyard::fuzzing::blocks(data));
