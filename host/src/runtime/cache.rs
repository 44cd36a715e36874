//! The compiled-component cache: Cranelift output kept on disk, keyed by the
//! component's content hash and the engine's compatibility hash, so a restart
//! maps a 12–18 MB JS or Python component back in milliseconds instead of
//! compiling it for seconds.
//!
//! Entries are written by this host only (renamed into place whole) and
//! wasmtime re-checks version and configuration on load; anything it rejects
//! is compiled again and replaced.

use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use wasmtime::Engine;
use wasmtime::component::Component;

/// Entries kept; the least recently used go first.
const MAX_ENTRIES: usize = 64;

/// Where a component's machine code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CodeSource {
    /// Compiled now (and written to the cache, if there is one).
    Compiled,
    /// Mapped from the cache.
    Cached,
}

/// A directory of compiled components.
#[derive(Debug, Clone)]
pub struct ComponentCache {
    dir: PathBuf,
}

impl ComponentCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ComponentCache { dir: dir.into() }
    }

    /// The compiled form of `bytes` (whose hex SHA-256 is `content_hash`)
    /// for `engine`: from the cache when present and accepted, else compiled
    /// and stored. Cache trouble is logged, never fatal.
    pub fn component(
        &self,
        engine: &Engine,
        bytes: &[u8],
        content_hash: &str,
    ) -> wasmtime::Result<(Component, CodeSource)> {
        let path = self.entry_path(engine, content_hash);
        if path.is_file() {
            let started = Instant::now();
            // SAFETY: entries are written only by `store` below, from
            // `Component::serialize` of this same content hash and engine
            // configuration, and renamed into place whole; wasmtime checks the
            // version and configuration again while deserializing.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => {
                    touch(&path);
                    tracing::debug!(
                        path = %path.display(),
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "component loaded from the compile cache"
                    );
                    return Ok((component, CodeSource::Cached));
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cached component rejected; compiling again")
                }
            }
        }
        let started = Instant::now();
        let component = Component::from_binary(engine, bytes)?;
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "component compiled"
        );
        if let Err(e) = self.store(&path, &component) {
            tracing::warn!(dir = %self.dir.display(), error = %e, "could not write the compile cache");
        }
        Ok((component, CodeSource::Compiled))
    }

    fn entry_path(&self, engine: &Engine, content_hash: &str) -> PathBuf {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        self.dir
            .join(format!("{content_hash}-{:016x}.cwasm", hasher.finish()))
    }

    fn store(&self, path: &Path, component: &Component) -> wasmtime::Result<()> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        fs::create_dir_all(&self.dir)?;
        let bytes = component.serialize()?;
        let tmp = self.dir.join(format!(
            ".{}.{}.tmp",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        fs::write(&tmp, bytes)?;
        if let Err(e) = fs::rename(&tmp, path) {
            let _ = fs::remove_file(&tmp);
            return Err(e.into());
        }
        self.prune();
        Ok(())
    }

    /// Removes the least recently used entries beyond [`MAX_ENTRIES`].
    fn prune(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let mut entries: Vec<(SystemTime, PathBuf)> = entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        if entries.len() <= MAX_ENTRIES {
            return;
        }
        entries.sort();
        for (_, path) in &entries[..entries.len() - MAX_ENTRIES] {
            let _ = fs::remove_file(path);
        }
    }
}

/// Marks an entry as just used, for [`ComponentCache::prune`].
fn touch(path: &Path) {
    if let Ok(file) = fs::File::options().append(true).open(path) {
        let _ = file.set_modified(SystemTime::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal valid component.
    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";

    #[test]
    fn a_second_load_comes_from_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ComponentCache::new(dir.path());
        let engine = Engine::default();
        let (_, first) = cache.component(&engine, EMPTY_COMPONENT, "abc").unwrap();
        assert_eq!(first, CodeSource::Compiled);
        let (_, second) = cache.component(&engine, EMPTY_COMPONENT, "abc").unwrap();
        assert_eq!(second, CodeSource::Cached);
        // Another engine configuration has entries of its own.
        let mut config = wasmtime::Config::new();
        config.cranelift_opt_level(wasmtime::OptLevel::None);
        let other = Engine::new(&config).unwrap();
        let (_, third) = cache.component(&other, EMPTY_COMPONENT, "abc").unwrap();
        assert_eq!(third, CodeSource::Compiled);
    }

    #[test]
    fn a_corrupt_entry_is_compiled_again_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ComponentCache::new(dir.path());
        let engine = Engine::default();
        cache.component(&engine, EMPTY_COMPONENT, "abc").unwrap();
        let path = cache.entry_path(&engine, "abc");
        fs::write(&path, b"garbage").unwrap();
        let (_, source) = cache.component(&engine, EMPTY_COMPONENT, "abc").unwrap();
        assert_eq!(source, CodeSource::Compiled);
        let (_, source) = cache.component(&engine, EMPTY_COMPONENT, "abc").unwrap();
        assert_eq!(source, CodeSource::Cached, "the bad entry was replaced");
    }

    #[test]
    fn the_cache_keeps_a_bounded_number_of_entries() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ComponentCache::new(dir.path());
        let engine = Engine::default();
        for i in 0..MAX_ENTRIES + 3 {
            cache
                .component(&engine, EMPTY_COMPONENT, &format!("h{i}"))
                .unwrap();
        }
        let kept = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(kept, MAX_ENTRIES);
    }
}
