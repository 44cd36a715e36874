//! The three starters (Rust, JavaScript, Python) behave identically.
