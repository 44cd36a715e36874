//! `botyard new` and `botyard dev` rebuild-on-save.
