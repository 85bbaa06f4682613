//! Shared by the minifilter evidence kinds ([`super::flt_failure_event`],
//! [`super::flt_chain_stop`]): the `callbacks` rows, the denial a callback belongs to, and the
//! alignment of one denied operation seen by several inputs (a PML and an ETL of one incident).
//!
//! Alignment (DESIGN.md, "Naming the same object across sources"): two denials are the same
//! operation when they come from different inputs, name the same object (normalised, volume
//! relative, case-insensitive), were made by a process of the same name, end with the same
//! status, and start within [`ALIGN_TOLERANCE_NS`] of each other on the common UTC timeline.
//! The nearest one per input is taken.

use super::{cols, Denial};
use crate::tables::Tables;
use polars::prelude::*;

/// Largest start-time difference between the same operation as two inputs record it (PML times
/// are the system clock, ETL times the session's QPC clock converted through the logfile
/// header; on one machine they agree to milliseconds).
pub const ALIGN_TOLERANCE_NS: i64 = 2_000_000_000;

/// One `callbacks` row.
#[derive(Clone, Debug)]
pub struct Callback {
    /// Start, ns since the Unix epoch (UTC).
    pub time_ns: i64,
    /// Input file name.
    pub source: String,
    /// IRP address.
    pub irp: u64,
    /// FLT_CALLBACK_DATA address.
    pub callback_data: u64,
    /// FILE_OBJECT address.
    pub file_object: u64,
    /// `IRP_MJ_*` name.
    pub major_function: String,
    /// `pre` or `post`.
    pub phase: String,
    /// Driver whose image holds the routine; empty when unresolved.
    pub driver: String,
    /// Callback routine address.
    pub routine: u64,
    /// Status (failure events; else the status a payload variant carried).
    pub status: Option<u32>,
    /// Duration in ns, when the completion was seen.
    pub duration_ns: Option<i64>,
    /// Layout variant(s) matched.
    pub layout: String,
    /// The `events` row of the request.
    pub event_id: Option<u64>,
    /// A FltIoFailure event reported it.
    pub failure: bool,
    /// Path of the request.
    pub path: String,
}

impl Callback {
    /// The driver, or `unresolved 0x…` for a routine no image holds.
    pub fn who(&self) -> String {
        if self.driver.is_empty() {
            format!("unresolved routine 0x{:X}", self.routine)
        } else {
            self.driver.clone()
        }
    }
}

/// Every `callbacks` row, in time order.
pub fn callbacks(tables: &Tables) -> PolarsResult<Vec<Callback>> {
    let df = &tables.callbacks;
    if df.height() == 0 {
        return Ok(Vec::new());
    }
    let df = df
        .clone()
        .lazy()
        .sort(
            ["time_utc"],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .collect()?;
    let time = cols::i64s(&df, "time_utc")?;
    let source = cols::strs(&df, "source")?;
    let irp = cols::u64s(&df, "irp")?;
    let cbd = cols::u64s(&df, "callback_data")?;
    let fo = cols::u64s(&df, "file_object")?;
    let mj = cols::strs(&df, "major_function")?;
    let phase = cols::strs(&df, "phase")?;
    let driver = cols::strs(&df, "driver")?;
    let routine = cols::u64s(&df, "routine")?;
    let status: Vec<Option<u32>> = df.column("status")?.u32()?.iter().collect();
    let duration: Vec<Option<i64>> = df.column("duration_ns")?.i64()?.iter().collect();
    let layout = cols::strs(&df, "layout")?;
    let event_id = cols::u64s_opt(&df, "event_id")?;
    let failure = cols::bools(&df, "failure")?;
    let path = cols::strs(&df, "path")?;
    Ok((0..df.height())
        .map(|i| Callback {
            time_ns: time[i],
            source: source[i].clone(),
            irp: irp[i],
            callback_data: cbd[i],
            file_object: fo[i],
            major_function: mj[i].clone(),
            phase: phase[i].clone(),
            driver: driver[i].clone(),
            routine: routine[i],
            status: status[i],
            duration_ns: duration[i],
            layout: layout[i].clone(),
            event_id: event_id[i],
            failure: failure[i],
            path: path[i].clone(),
        })
        .collect())
}

/// The denials that record the same operation as `d` in other inputs (nearest per input).
pub fn aligned<'a>(d: &Denial, all: &'a [Denial]) -> Vec<&'a Denial> {
    let mut best: std::collections::BTreeMap<&str, &Denial> = Default::default();
    for o in all {
        if o.source == d.source
            || o.status != d.status
            || o.object_key != d.object_key
            || !o.process.eq_ignore_ascii_case(&d.process)
            || (o.time_ns - d.time_ns).abs() > ALIGN_TOLERANCE_NS
        {
            continue;
        }
        let e = best.entry(o.source.as_str()).or_insert(o);
        if (o.time_ns - d.time_ns).abs() < (e.time_ns - d.time_ns).abs() {
            *e = o;
        }
    }
    best.into_values().collect()
}

/// `, the same operation as <source> event #<id> (start 1.2 ms later)` for each aligned denial.
pub fn aligned_text(d: &Denial, others: &[&Denial]) -> String {
    others
        .iter()
        .map(|o| {
            let dt = o.time_ns - d.time_ns;
            format!(
                "; the same operation is {} event #{} (its start {:.3} ms {} on the common UTC timeline)",
                o.source,
                o.event_id,
                dt.abs() as f64 / 1e6,
                if dt >= 0 { "later" } else { "earlier" }
            )
        })
        .collect()
}

/// `time` of a denial, ns, as `HH:MM:SS.fffffff` UTC.
pub fn clock_text(ns: i64) -> String {
    let iso = super::denials::iso_ns(ns);
    iso.get(11..27).unwrap_or(&iso).to_string()
}

/// The note every minifilter-based item carries, with the layout variant(s) matched.
pub fn layout_note(layouts: &[&str]) -> String {
    let mut v: Vec<&str> = layouts
        .iter()
        .flat_map(|l| l.split('+'))
        .filter(|l| !l.is_empty())
        .collect();
    v.sort_unstable();
    v.dedup();
    format!(
        "{}; variant(s) matched: {}",
        crate::tables::etl::LAYOUT_NOTE,
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    )
}
