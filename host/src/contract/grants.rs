//! Grants: which capabilities an app may import, by name. A capability's
//! name is its WIT interface's (`store` for `botyard:app/store@0.1.0`); the
//! list of names that exist is the capabilities' registration list, one
//! layer up, which validates every grant before one of these is built.

use std::collections::BTreeSet;

/// The capabilities an app may import.
pub type Grants = BTreeSet<&'static str>;

/// The interface name of a `botyard:app` import (`botyard:app/store@0.1.0` →
/// `store`); `None` for anything outside the package.
pub fn interface_of(import: &str) -> Option<&str> {
    let rest = import.strip_prefix("botyard:app/")?;
    Some(rest.split('@').next().unwrap_or(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_interface_of_an_import() {
        assert_eq!(interface_of("botyard:app/store@0.1.0"), Some("store"));
        assert_eq!(interface_of("botyard:app/slack"), Some("slack"));
        assert_eq!(interface_of("wasi:cli/stdout@0.2.0"), None);
    }
}
