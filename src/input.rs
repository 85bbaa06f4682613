//! Inputs: detect each file's kind by content and read it into the tables.
//!
//! PML captures and ETL traces of one incident go into one set of tables: event ids stay unique
//! (each input numbers its events after the previous ones), and every time is UTC (PML times are
//! UTC FILETIMEs, ETL times the session clock converted through the logfile header,
//! `format-etl.md` §2.4), so both lie on one timeline. The first ETL trace's time zone also gives
//! the servicing logs their UTC offset when nothing better does.

use crate::etl::Etl;
use crate::pml::Pml;
use crate::tables::build::{from_pml_opts, BuildOptions, FrameScope};
use crate::tables::Tables;
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
    /// ETW trace (`.etl`): no signature; the first buffer is the header buffer (BufferType 4 at
    /// 0x36) and its first event, at 0x48, carries the trace-header flag bits 0xC0 in byte 3
    /// ([`crate::etl::looks_like_etl`]; true of all 16 corpus traces).
    Etl,
    /// Anything else.
    Unknown,
}

/// Sniff the kind of `path` from its first bytes (and, for the raw boot log, its extension:
/// `.pmb` is not described publicly, so it is recognised by name to give the conversion advice).
pub fn sniff(path: &Path) -> Result<Kind> {
    let mut f =
        std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut head = [0u8; 0x4C];
    let mut n = 0;
    while n < head.len() {
        let k = f
            .read(&mut head[n..])
            .with_context(|| format!("{}: cannot read", path.display()))?;
        if k == 0 {
            break;
        }
        n += k;
    }
    if n >= 4 && &head[..4] == b"PML_" {
        return Ok(Kind::Pml);
    }
    if crate::etl::looks_like_etl(&head[..n]) {
        return Ok(Kind::Etl);
    }
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pmb"))
    {
        return Ok(Kind::ProcmonBootLog);
    }
    Ok(Kind::Unknown)
}

/// Which stack frames [`load_with`] puts into the `frames` table of PML inputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Frames {
    /// Every frame of every stacked event (`export --table frames`, SQL that reads `frames`).
    #[default]
    All,
    /// The frames the verdict reads (`analyze`): every frame of failed operations and of what
    /// their threads did while they ran, and the candidate drivers' frames everywhere
    /// ([`crate::tables::build::FrameScope::Focused`]).
    Focused,
    /// None (`query` / `check` SQL that never names `frames`).
    None,
}

/// How [`load_with`] reads its inputs.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// `--utc-offset` (minutes, local minus UTC) for log times without a zone.
    pub utc_offset: Option<i32>,
    /// Archive limits.
    pub intake: crate::intake::IntakeOptions,
    /// Which stack frames go into `frames` ([`Frames`]).
    pub frames: Frames,
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
    let mut trace_offset: Option<i32> = None;
    for input in intake.inputs {
        let p = Path::new(&input.name);
        let t = match (input.kind, input.data) {
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
            (InputKind::Etl, data) => {
                let etl = match data {
                    Data::Path(f) => Etl::open(&f)?,
                    Data::Bytes(b) => Etl::from_bytes(&input.name, b)?,
                };
                trace_offset.get_or_insert(crate::tables::logs::etl_offset(etl.header()));
                let candidates =
                    |modules: &polars::prelude::DataFrame| candidate_names(modules.clone());
                let nothing = |_: &polars::prelude::DataFrame| Ok(Default::default());
                let focus = match opts.frames {
                    Frames::All => None,
                    Frames::Focused => Some(crate::tables::etl::EtlFocus {
                        candidates: &candidates,
                        failure: crate::evidence::denials::is_denial_status,
                    }),
                    Frames::None => Some(crate::tables::etl::EtlFocus {
                        candidates: &nothing,
                        failure: |_| false,
                    }),
                };
                crate::tables::etl::from_etl_opts(&etl, base, focus.as_ref())
                    .with_context(|| format!("{}: building tables", input.name))?
            }
            (_, data) => {
                let pml = match data {
                    Data::Path(f) => Pml::open(&f)?,
                    Data::Bytes(b) => Pml::from_bytes(b, p)?,
                };
                let frames = match opts.frames {
                    Frames::All => FrameScope::All,
                    Frames::Focused => focused_scope(&pml)?,
                    Frames::None => FrameScope::None,
                };
                let build = BuildOptions {
                    id_base: base,
                    frames,
                };
                from_pml_opts(&pml, &build)
                    .with_context(|| format!("{}: building tables", input.name))?
            }
        };
        // The next input numbers its events after this one's.
        base = next_id(&t, base);
        all = Some(match all {
            None => t,
            Some(a) => combine(a, t)?,
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
        // ETL inputs: the time zone of the first trace.
        trace_offset,
    };
    t.logs = crate::tables::logs::build(&logs, &log_opts)?;
    t.logs.notes = notes;
    Ok(t)
}

/// The frames `analyze` needs from `pml`: the candidate drivers of its System process's module
/// list ([`crate::evidence::candidates::find`] over its `modules` table) everywhere, and whole
/// stacks of the denials ([`crate::evidence::denials::is_denial_status`]) and their windows.
fn focused_scope(pml: &Pml) -> Result<FrameScope> {
    Ok(FrameScope::Focused {
        modules: candidate_names(crate::tables::build::modules_df(pml, "")?)?,
        failure: crate::evidence::denials::is_denial_status,
    })
}

/// Lower-case file names of the candidate drivers of a `modules` table
/// ([`crate::evidence::candidates::find`]).
fn candidate_names(
    modules: polars::prelude::DataFrame,
) -> Result<std::collections::HashSet<String>> {
    let mut t = crate::evidence::synthetic::Builder::new().build();
    t.modules = modules;
    let drivers = crate::evidence::candidates::find(&t)?;
    Ok(drivers
        .candidates
        .iter()
        .map(|c| c.driver.to_ascii_lowercase())
        .collect())
}

/// The first event id free after `t`'s events (ids start at `base`).
fn next_id(t: &Tables, base: u64) -> u64 {
    let max = t
        .events
        .column("event_id")
        .ok()
        .and_then(|c| c.as_materialized_series().max::<u64>().ok().flatten());
    match max {
        Some(m) => (m + 1).max(base),
        None => base,
    }
}

/// One incident's tables from two inputs' (same schemas; rows appended).
pub fn combine(mut a: Tables, t: Tables) -> Result<Tables> {
    a.events.vstack_mut(&t.events)?;
    a.frames.vstack_mut(&t.frames)?;
    a.modules.vstack_mut(&t.modules)?;
    a.processes.vstack_mut(&t.processes)?;
    a.callbacks.vstack_mut(&t.callbacks)?;
    a.inputs.extend(t.inputs);
    a.traces.extend(t.traces);
    Ok(a)
}
