//! Python guests: built from source with componentize-py, run with WASI that grants nothing ambient.
