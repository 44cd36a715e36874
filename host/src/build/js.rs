//! Being written: builds js apps (see issue 4).

use std::path::{Path, PathBuf};

use super::{BuildError, BuildOptions};

pub fn build(dir: &Path, _opts: &BuildOptions) -> Result<PathBuf, BuildError> {
    Err(BuildError::NotAnApp {
        dir: dir.to_path_buf(),
        reason: "building js apps is not implemented yet".into(),
    })
}
