//! `verdict.json`: the [`Verdict`] serialized (schema `fltblame.verdict/1`).

use crate::verdict::Verdict;
use anyhow::Context;
use std::path::{Path, PathBuf};

/// Write `dir/verdict.json` (pretty-printed, UTF-8); returns its path. `dir` must exist.
pub fn write_json(v: &Verdict, dir: &Path) -> anyhow::Result<PathBuf> {
    let path = dir.join("verdict.json");
    let text = serde_json::to_string_pretty(v)?;
    std::fs::write(&path, text + "\n")
        .with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(path)
}
