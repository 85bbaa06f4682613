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

/// How [`load_with`] reads its inputs.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// `--utc-offset` (minutes, local minus UTC) for log times without a zone.
    pub utc_offset: Option<i32>,
    /// Archive limits.
    pub intake: crate::intake::IntakeOptions,
}

/// Open every input and build one set of tables (event ids stay unique across inputs).
///
/// Errors (exit code 2 in the CLI): a file that cannot be read, a raw `.pmb`, a file of an
/// unknown kind, a damaged PML header; each message names the file and says what to do.
pub fn load(paths: &[PathBuf]) -> Result<Tables> {
    load_with(paths, &LoadOptions::default())
}

/// [`load`] with options. Folders and archives are expanded by [`crate::intake`]; log files
/// go to the `log_lines` builder ([`crate::tables::logs`]).
pub fn load_with(paths: &[PathBuf], opts: &LoadOptions) -> Result<Tables> {
    use crate::intake::{Data, InputKind};
    let intake = crate::intake::expand(paths, &opts.intake)?;
    let mut notes = intake.notes();
    let mut all: Option<Tables> = None;
    let mut logs = Vec::new();
    let mut base = 0u64;
    for input in intake.inputs {
        let p = Path::new(&input.name);
        let pml = match (input.kind, input.data) {
            // A log that cannot be read (an `.evtx` with a damaged header) is noted, not fatal.
            (InputKind::Log(_), data) => {
                let read = match &data {
                    Data::Path(f) => crate::logs::read_path(f, &Default::default()),
                    Data::Bytes(b) => crate::logs::read_bytes(&input.name, b, &Default::default()),
                };
                match read {
                    Ok(l) => logs.push(l),
                    Err(e) => notes.push(format!("{}: skipped: {e:#}", input.name)),
                }
                continue;
            }
            (InputKind::Etl, _) => bail!(
                "{}: ETL traces are not yet analysed (read it with `fltblame info`)",
                input.name
            ),
            (_, Data::Path(f)) => Pml::open(&f)?,
            (_, Data::Bytes(b)) => Pml::from_bytes(b, p)?,
        };
        let t = from_pml_with_base(&pml, base)
            .with_context(|| format!("{}: building tables", input.name))?;
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
    if all.is_none() && logs.is_empty() {
        let mut msg = String::from("no input found");
        for n in &notes {
            msg.push_str("; ");
            msg.push_str(n);
        }
        bail!("{msg}");
    }
    let mut t = match all {
        Some(t) => t,
        None => {
            let mut t = crate::evidence::synthetic::Builder::new().build();
            t.inputs.clear();
            t
        }
    };
    let log_opts = crate::tables::logs::LogOptions {
        utc_offset: opts.utc_offset,
        // ETL inputs: `crate::tables::logs::etl_offset(etl.header())` of the first trace.
        trace_offset: None,
    };
    t.logs = crate::tables::logs::build(&logs, &log_opts)?;
    t.logs.notes = notes;
    Ok(t)
}
