//! `fltblame export`: a capture's events as Procmon's CSV or as JSON lines.
//!
//! Events are rendered in parallel chunks (rayon) and written in order, so output is
//! deterministic and byte-identical whatever the core count.

use crate::pml::row::{push_csv_field, push_csv_record, render, COLUMNS};
use crate::pml::text::{filetime_to_unix_ns, iso_utc};
use crate::pml::{detail, Pml};
use rayon::prelude::*;
use std::io::Write;

/// A rewrite applied to every text field before it is written (`--redact`:
/// [`crate::redact::Redactor::rewrite_in_place`]).
pub type Rewrite<'a> = &'a (dyn Fn(&mut String) + Sync);

/// Events rendered per parallel work item.
const CHUNK: usize = 2048;

/// Which CSV columns to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsvColumns {
    /// Procmon's seven default columns (Time of Day ... Detail).
    Default,
    /// All 27 columns of Procmon's full export, in its usual order.
    All,
}

/// Write Procmon-style CSV (UTF-8 BOM, every field quoted, CRLF; `procmon-text.md` §1) of every
/// event to `out`. `progress` is called with the number of events done after each chunk.
/// Errors: only I/O errors of `out`.
pub fn write_csv(
    pml: &Pml,
    cols: CsvColumns,
    out: &mut dyn Write,
    progress: &(dyn Fn(u64) + Sync),
) -> std::io::Result<()> {
    write_csv_with(pml, cols, out, progress, None)
}

/// [`write_csv`] with `rewrite` applied to every field of every row (the header stays).
pub fn write_csv_with(
    pml: &Pml,
    cols: CsvColumns,
    out: &mut dyn Write,
    progress: &(dyn Fn(u64) + Sync),
    rewrite: Option<Rewrite>,
) -> std::io::Result<()> {
    let order: Vec<usize> = match cols {
        CsvColumns::Default => (0..7).collect(),
        CsvColumns::All => (0..27).collect(),
    };
    let mut head = String::from("\u{FEFF}");
    for (i, &c) in order.iter().enumerate() {
        if i > 0 {
            head.push(',');
        }
        push_csv_field(&mut head, COLUMNS[c]);
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    let first = pml.first_time();
    each_chunk(pml, out, progress, |i, buf| {
        if let Some(ev) = pml.event(i) {
            let mut row = render(pml, &ev, first);
            if let Some(f) = rewrite {
                row.iter_mut().for_each(f);
            }
            push_csv_record(buf, &row, &order);
        }
    })
}

/// Write one JSON object per event (JSON lines) with the decoded columns and the stack frames
/// resolved to modules. Times: `time_utc` ISO 8601 UTC (100 ns precision) and `time_ns`
/// (ns since the Unix epoch, UTC); `duration_ns` in ns.
pub fn write_jsonl(
    pml: &Pml,
    out: &mut dyn Write,
    progress: &(dyn Fn(u64) + Sync),
) -> std::io::Result<()> {
    write_jsonl_with(pml, out, progress, None)
}

/// [`write_jsonl`] with `rewrite` applied to every text value (names, paths, detail, modules).
pub fn write_jsonl_with(
    pml: &Pml,
    out: &mut dyn Write,
    progress: &(dyn Fn(u64) + Sync),
    rewrite: Option<Rewrite>,
) -> std::io::Result<()> {
    let is64 = pml.header.is_64bit;
    each_chunk(pml, out, progress, |i, buf| {
        let Some(ev) = pml.event(i) else { return };
        let d = detail::decode(pml, &ev);
        let p = pml.process(ev.process_index);
        let stack: Vec<serde_json::Value> = ev
            .stack(is64)
            .map(|a| {
                let m = pml.resolve_frame(p, a);
                serde_json::json!({
                    "address": format!("0x{a:x}"),
                    "module": m.map(|m| fixed(m.name(), rewrite)),
                    "offset": m.map(|m| format!("0x{:x}", a - m.base)),
                    "kernel": pml.is_kernel_address(a),
                })
            })
            .collect();
        let v = serde_json::json!({
            "event_id": i,
            "time_utc": iso_utc(ev.time),
            "time_ns": filetime_to_unix_ns(ev.time),
            "process_name": p.map(|p| fixed(&p.name, rewrite)),
            "pid": p.map(|p| p.pid),
            "tid": ev.tid,
            "user": p.map(|p| fixed(&p.user, rewrite)),
            "integrity": p.map(|p| p.integrity.as_str()),
            "class": detail::class_name(ev.class),
            "operation": d.operation,
            "path": fixed(&d.path, rewrite),
            "result": crate::pml::text::status_text(ev.result),
            "status": format!("0x{:08X}", ev.result),
            "duration_ns": ev.duration.saturating_mul(100),
            "detail": fixed(&d.detail, rewrite),
            "category": d.category,
            "stack": stack,
        });
        buf.push_str(&v.to_string());
        buf.push('\n');
    })
}

/// `s`, rewritten when a rewrite is given.
fn fixed<'a>(s: &'a str, rewrite: Option<Rewrite>) -> std::borrow::Cow<'a, str> {
    match rewrite {
        None => std::borrow::Cow::Borrowed(s),
        Some(f) => {
            let mut o = s.to_string();
            f(&mut o);
            std::borrow::Cow::Owned(o)
        }
    }
}

fn each_chunk(
    pml: &Pml,
    out: &mut dyn Write,
    progress: &(dyn Fn(u64) + Sync),
    f: impl Fn(usize, &mut String) + Sync,
) -> std::io::Result<()> {
    let n = pml.event_count();
    // Render a window of chunks in parallel, then write them in order; memory stays bounded.
    let window = rayon::current_num_threads().max(1) * 4;
    let mut done = 0u64;
    let mut k = 0;
    while k * CHUNK < n {
        let last = (k + window).min(n.div_ceil(CHUNK));
        let texts: Vec<String> = (k..last)
            .into_par_iter()
            .map(|c| {
                let mut buf = String::with_capacity(CHUNK * 256);
                for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
                    f(i, &mut buf);
                }
                buf
            })
            .collect();
        for t in texts {
            out.write_all(t.as_bytes())?;
        }
        done = (last * CHUNK).min(n) as u64;
        progress(done);
        k = last;
    }
    let _ = done;
    Ok(())
}

/// Write `df` as Parquet (zstd-compressed, min/max statistics) to `out`; returns the bytes
/// written. Datetime columns keep their UTC time zone (Parquet `TIMESTAMP(NANOS, UTC)`), unsigned
/// integers stay unsigned, so DuckDB, Spark or DataFusion read the tables with their types.
#[cfg(feature = "tables")]
pub fn write_parquet(
    df: &mut polars::prelude::DataFrame,
    out: &mut dyn Write,
) -> polars::prelude::PolarsResult<u64> {
    use polars::prelude::{ParquetCompression, ParquetWriter};
    ParquetWriter::new(out)
        .with_compression(ParquetCompression::Zstd(None))
        .finish(df)
}
