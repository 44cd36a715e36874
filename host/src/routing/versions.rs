//! The last good version of each app, kept in the data directory so a broken
//! file dropped into the apps directory never takes an app down — not in the
//! running host, and not after a restart either.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// `<data-dir>/versions/<app>/`, holding `<hash>.wasm` and `good` (the hash).
pub struct LastGood {
    root: PathBuf,
}

impl LastGood {
    pub fn new(data_dir: &Path) -> Self {
        LastGood {
            root: data_dir.join("versions"),
        }
    }

    /// Remembers `bytes` as `app`'s last good version, dropping older ones.
    pub fn save(&self, app: &str, hash: &str, bytes: &[u8]) -> io::Result<()> {
        let dir = self.root.join(app);
        fs::create_dir_all(&dir)?;
        let file = dir.join(format!("{hash}.wasm"));
        if !file.exists() {
            write_atomic(&file, bytes)?;
        }
        write_atomic(&dir.join("good"), hash.as_bytes())?;
        for entry in fs::read_dir(&dir)?.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "wasm") && path != file {
                fs::remove_file(path).ok();
            }
        }
        Ok(())
    }

    /// The last good version's bytes, if one was saved.
    pub fn load(&self, app: &str) -> Option<Vec<u8>> {
        let dir = self.root.join(app);
        let hash = fs::read_to_string(dir.join("good")).ok()?;
        fs::read(dir.join(format!("{}.wasm", hash.trim()))).ok()
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, bytes)?;
    fs::rename(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_latest_good_version() {
        let dir = tempfile::tempdir().unwrap();
        let store = LastGood::new(dir.path());
        assert!(store.load("hello").is_none());
        store.save("hello", "aaa", b"one").unwrap();
        store.save("hello", "bbb", b"two").unwrap();
        assert_eq!(store.load("hello").unwrap(), b"two");
        assert!(!dir.path().join("versions/hello/aaa.wasm").exists());
    }
}
