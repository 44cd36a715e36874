//! `cargo fuzz run plain_words`: see `botyard::fuzzing::plain_words` and fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| botyard::fuzzing::plain_words(data));
