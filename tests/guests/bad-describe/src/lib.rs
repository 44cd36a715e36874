//! Test guest: `describe` panics, so this version must fail to load and the
//! version before it (if any) must keep serving.

use botyard_sdk::prelude::*;

struct BadDescribe;

impl App for BadDescribe {
    fn describe() -> AppInfo {
        panic!("bad-describe refuses to describe itself");
    }
}

export_app!(BadDescribe);
