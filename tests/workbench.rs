//! The workbench in a real headless Chromium.
