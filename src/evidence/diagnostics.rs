//! Capture diagnostics: when a trace cannot contain the failure the logs report, say why and
//! what to capture instead (`cases.md`, step 3 of what the engineers needed).
//!
//! For every log failure a filter can be involved in (the access-denied kind) that has a time:
//! * `capture_missed_window`: the failure time lies outside every capture's span;
//! * `object_not_captured`: the capture spans the failure time but holds no operation on the
//!   failing object (files already expanded in a cache, a filter that hides the object from
//!   Procmon's altitude, a capture filter that dropped it);
//! * `not_a_boot_log`: the failure happened during reboot (driver operations queue, startup
//!   processing) but no capture starts at boot.
//!
//! Without any trace (`logs_only`) the logs still classify the failure, and the capture that
//! decides it is the one its signature names. Not an evidence kind: diagnostics weigh nothing.

use super::cols;
use super::log_corroboration::{same_object, TOLERANCE_NS};
use crate::tables::logs::{normalize_object, LogFailure};
use crate::tables::Tables;
use polars::prelude::*;
use serde::Serialize;

/// One capture diagnostic.
#[derive(Clone, Debug, Serialize)]
pub struct Diagnostic {
    /// `capture_missed_window`, `object_not_captured`, `not_a_boot_log`, `logs_only`.
    pub code: String,
    /// What is wrong, with the log line and the capture named.
    pub message: String,
    /// What to capture instead.
    pub advice: String,
    /// The log file and line the diagnostic is about, if any.
    pub file: Option<String>,
    /// Its line.
    pub line: Option<usize>,
}

/// Object kinds a trace can show operations on.
const TRACEABLE: &[&str] = &["file", "key", "value", "service", "inf", "driver"];

/// A capture counts as a boot log when it starts within this long of the System process's
/// start (Procmon boot logging, WPR `-addboot`).
pub const BOOT_WINDOW_NS: i64 = 5 * 60 * 1_000_000_000;

const BOOT_ADVICE: &str = "The failure happens during reboot, so only a boot-time capture can hold it: a Procmon boot log (Options > Enable Boot Logging, reboot, let the update fail, then `Procmon.exe /ConvertBootLog C:\\Windows\\procmon.pmb boot.pml`; copy the .pmb from WinPE if the machine does not come back), or a WPR boot trace with Registry I/O and Minifilter I/O (`wpr -addboot GeneralProfile -addboot Registry -addboot Minifilter -filemode`, reboot, `wpr -stopboot boot.etl`).";
const WINDOW_ADVICE: &str = "Capture while the step fails: start Procmon (or `wpr -start GeneralProfile -start Minifilter -start Registry -filemode`) before retrying the update, stop it after the failure is logged, and collect CBS.log / setupapi.dev.log from the same run so their times overlap the capture.";
const CACHE_ADVICE: &str = "The capture saw no operation on the failing object: if it is a file in a cache (an expanded cab under SoftwareDistribution, a staged driver package), the step did not repeat it. Stop wuauserv and bits, rename C:\\Windows\\SoftwareDistribution (for driver packages: remove the staged package), then repeat the update with the capture running; check that no Procmon filter excludes the path.";

/// Whether a log failure happens during reboot processing (driver operations queue, startup).
pub fn boot_time(f: &LogFailure) -> bool {
    let t = f.text.to_ascii_lowercase();
    f.signature == "servicing_hang"
        || t.contains("doqe")
        || t.contains("startup:")
        || t.contains("install index:")
        || t.contains("unstage index:")
        || (f.source_kind == "setupapi" && f.signature == "driver_queue_denied")
}

/// Capture spans `(source, first_ns, last_ns)` from `events`: per input (`source`), its first
/// and last event time, ns since 1970 UTC, earliest first.
pub fn capture_spans(t: &Tables) -> PolarsResult<Vec<(String, i64, i64)>> {
    if t.events.height() == 0 {
        return Ok(Vec::new());
    }
    let df = t
        .events
        .clone()
        .lazy()
        .group_by([col("source")])
        .agg([
            col("time_utc").min().alias("first"),
            col("time_utc").max().alias("last"),
        ])
        .sort(["first"], Default::default())
        .collect()?;
    let src = cols::strs(&df, "source")?;
    let a = cols::i64s(&df, "first")?;
    let b = cols::i64s(&df, "last")?;
    Ok((0..df.height())
        .map(|i| (src[i].clone(), a[i], b[i]))
        .collect())
}

/// Start of the System process (pid 4), ns, when captured.
fn system_start(t: &Tables) -> PolarsResult<Option<i64>> {
    if t.processes.height() == 0 {
        return Ok(None);
    }
    let df = t
        .processes
        .clone()
        .lazy()
        .filter(col("pid").eq(lit(4u32)))
        .select([col("start_utc")])
        .collect()?;
    let c = df.column("start_utc")?.cast(&DataType::Int64)?;
    Ok(c.i64()?.iter().flatten().min())
}

/// Distinct normalised paths in `events`.
fn event_paths(t: &Tables) -> PolarsResult<Vec<String>> {
    if t.events.height() == 0 {
        return Ok(Vec::new());
    }
    let df = t
        .events
        .clone()
        .lazy()
        .select([col("path")])
        .unique(None, UniqueKeepStrategy::First)
        .collect()?;
    Ok(cols::strs(&df, "path")?
        .iter()
        .map(|p| normalize_object(None, p))
        .collect())
}

fn iso(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns)
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

fn short(file: &str) -> String {
    crate::tables::logs::file_name(file)
}

/// `CBS.log line 33 reports driver_queue_denied on cpu.inf at 2024-09-10 02:44:44 UTC`.
fn what(f: &LogFailure, tn: i64) -> String {
    format!(
        "{} line {} reports {} on {} at {}",
        short(&f.file),
        f.line,
        f.signature,
        f.object.as_deref().unwrap_or("an unnamed object"),
        iso(tn)
    )
}

/// The failure to cite: the first that names its object, else the first.
fn cite<'a>(fs: &[&'a LogFailure]) -> Option<&'a LogFailure> {
    fs.iter()
        .find(|f| f.object.is_some())
        .or_else(|| fs.first())
        .copied()
}

fn others(n: usize) -> String {
    if n > 1 {
        format!(" (and {} more failure(s) of the logs)", n - 1)
    } else {
        String::new()
    }
}

/// Diagnose the captures against the log failures.
pub fn find(t: &Tables) -> anyhow::Result<Vec<Diagnostic>> {
    let mut out = Vec::new();
    let denials: Vec<&LogFailure> = t
        .logs
        .failures
        .iter()
        .filter(|f| f.filter_possible)
        .collect();
    if denials.is_empty() {
        return Ok(out);
    }
    let spans = capture_spans(t)?;
    if spans.is_empty() {
        let f = denials
            .iter()
            .find(|f| f.object.is_some())
            .copied()
            .unwrap_or(denials[0]);
        out.push(Diagnostic {
            code: "logs_only".into(),
            message: format!(
                "Only logs were given: {} line {} reports {} ({}) on {}, a failure a filter driver can cause, but without a trace nothing can say who denied it.",
                short(&f.file),
                f.line,
                f.signature,
                f.code.as_deref().unwrap_or("no code"),
                f.object.as_deref().unwrap_or("an unnamed object")
            ),
            advice: if f.fix.is_empty() {
                (if boot_time(f) { BOOT_ADVICE } else { WINDOW_ADVICE }).to_string()
            } else {
                f.fix.clone()
            },
            file: Some(f.file.clone()),
            line: Some(f.line),
        });
        return Ok(out);
    }
    let span_text = spans
        .iter()
        .map(|(s, a, b)| format!("{} {} to {}", short(s), iso(*a), iso(*b)))
        .collect::<Vec<_>>()
        .join("; ");
    let boot_capture = match system_start(t)? {
        Some(s) => spans.iter().any(|(_, a, _)| *a - s <= BOOT_WINDOW_NS),
        None => false,
    };
    let paths = event_paths(t)?;
    let mut seen = std::collections::BTreeSet::new();
    // Failures outside every capture and reboot-time failures: one diagnostic each, citing a
    // failure that names its object (the first such), with the count of the others.
    let mut missed: Vec<&LogFailure> = Vec::new();
    let mut at_boot: Vec<&LogFailure> = Vec::new();
    for f in denials {
        let Some(tn) = f.time_ns else { continue };
        let inside = spans
            .iter()
            .any(|(_, a, b)| tn >= a - TOLERANCE_NS && tn <= b + TOLERANCE_NS);
        if !inside {
            missed.push(f);
        } else if let Some(key) = f
            .object_key
            .as_deref()
            .filter(|_| TRACEABLE.contains(&f.object_kind.as_deref().unwrap_or("")))
        {
            let touched = paths
                .iter()
                .any(|p| same_object(f.object_kind.as_deref(), key, p));
            if !touched && seen.insert(f.object_key.clone()) {
                out.push(Diagnostic {
                    code: "object_not_captured".into(),
                    message: format!(
                        "{}, inside the capture's span, but the capture holds no operation on that object: the step may have used a cached copy, or the capture filtered it out.",
                        what(f, tn)
                    ),
                    advice: CACHE_ADVICE.into(),
                    file: Some(f.file.clone()),
                    line: Some(f.line),
                });
            }
        }
        if boot_time(f) && !boot_capture {
            at_boot.push(f);
        }
    }
    if let Some(f) = cite(&missed) {
        out.push(Diagnostic {
            code: "capture_missed_window".into(),
            message: format!(
                "{}{}, outside the capture ({span_text}): the capture missed the failure and cannot contain it.",
                what(f, f.time_ns.unwrap_or_default()),
                others(missed.len())
            ),
            advice: (if missed.iter().any(|f| boot_time(f)) {
                BOOT_ADVICE
            } else {
                WINDOW_ADVICE
            })
            .to_string(),
            file: Some(f.file.clone()),
            line: Some(f.line),
        });
    }
    if let Some(f) = cite(&at_boot) {
        out.push(Diagnostic {
            code: "not_a_boot_log".into(),
            message: format!(
                "{}{}, during reboot processing (driver operations queue / startup), but no capture starts at boot ({span_text}).",
                what(f, f.time_ns.unwrap_or_default()),
                others(at_boot.len())
            ),
            advice: BOOT_ADVICE.into(),
            file: Some(f.file.clone()),
            line: Some(f.line),
        });
    }
    Ok(out)
}
