//! JavaScript guests: built from source with componentize-js, run with WASI that grants nothing ambient.
