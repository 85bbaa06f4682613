//! Inputs: detect each file's kind by content and read it into the tables.

use crate::pml::Pml;
use crate::tables::{from_pml_with_base, Tables};
use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// What a file holds, judged by its first bytes (never by its extension alone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Process Monitor log (`PML_` signature).
    Pml,
    /// Raw Procmon boot log (`.pmb`; layout not public).
    ProcmonBootLog,
    /// Anything else.
    Unknown,
}

/// Sniff the kind of `path` from its first bytes (and, for the raw boot log, its extension:
/// `.pmb` is not described publicly, so it is recognised by name to give the conversion advice).
pub fn sniff(path: &Path) -> Result<Kind> {
    let mut f =
        std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut head = [0u8; 4];
    let n = f
        .read(&mut head)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    if n == 4 && &head == b"PML_" {
        return Ok(Kind::Pml);
    }
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pmb"))
    {
        return Ok(Kind::ProcmonBootLog);
    }
    Ok(Kind::Unknown)
}

/// Open every input and build one set of tables (event ids stay unique across inputs).
///
/// Errors (exit code 2 in the CLI): a file that cannot be read, a raw `.pmb`, a file of an
/// unknown kind, a damaged PML header; each message names the file and says what to do.
pub fn load(paths: &[PathBuf]) -> Result<Tables> {
    let mut all: Option<Tables> = None;
    let mut base = 0u64;
    for p in paths {
        if p.is_dir() {
            bail!("{}: is a folder; give the capture files inside it (folder intake comes with the log readers)", p.display());
        }
        let pml = match sniff(p)? {
            Kind::Pml | Kind::ProcmonBootLog => Pml::open(p)?,
            Kind::Unknown => bail!(
                "{}: not a recognised input (expected a Process Monitor .pml, which starts with \"PML_\")",
                p.display()
            ),
        };
        let t = from_pml_with_base(&pml, base)
            .with_context(|| format!("{}: building tables", p.display()))?;
        base += pml.event_count() as u64;
        all = Some(match all {
            None => t,
            Some(mut a) => {
                a.events.vstack_mut(&t.events)?;
                a.frames.vstack_mut(&t.frames)?;
                a.modules.vstack_mut(&t.modules)?;
                a.processes.vstack_mut(&t.processes)?;
                a.inputs.extend(t.inputs);
                a
            }
        });
    }
    all.context("no input given")
}
