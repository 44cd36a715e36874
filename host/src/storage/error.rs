//! Storage errors. Each message says what went wrong and what to do about it,
//! because some of them reach app authors (too large, not a number) and others
//! reach operators (schema too new, I/O).

use std::path::PathBuf;

/// Everything that can go wrong in [`super::Storage`].
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(
        "database error: {0}; if it persists, check disk space and the permissions of the database file"
    )]
    Sqlite(#[from] rusqlite::Error),

    #[error(
        "the value at key {key:?} is not a decimal integer, so it cannot be incremented; set it to a number first or use another key"
    )]
    NotANumber { key: String },

    #[error(
        "incrementing key {key:?} would overflow a 64-bit integer; reset the key or use a smaller delta"
    )]
    Overflow { key: String },

    #[error("{what} is {actual} bytes, over the limit of {limit} bytes; store less or split it up")]
    TooLarge {
        what: &'static str,
        limit: usize,
        actual: usize,
    },

    #[error(
        "database schema version {found} is newer than this botyard ({supported}); upgrade botyard"
    )]
    SchemaTooNew { found: u32, supported: u32 },

    #[error(
        "cannot prepare the database location {path}: {source}; check that the directory exists or can be created and is writable"
    )]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
