//! The workbench: a local Slack in the browser for `botyard dev` (being built, issue 5).
