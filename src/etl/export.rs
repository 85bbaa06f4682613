//! `etl::export`: decoded events in global time order, as JSON lines or CSV.
//!
//! Every row has the common header fields; kernel events that have a typed decoder add their
//! fields (`fields`, a JSON object — also in the CSV, as one column), Registry events their
//! full key name resolved through the KCB map (§4.6). Other events are included with their
//! raw payload in hex when [`ExportOptions::all_events`] is set.

use super::event::Event;
use super::kernel::{self, KcbMap, KernelEvent};
use super::{Etl, Problem};
use anyhow::Result;
use serde::{Serialize, Serializer};
use std::fmt;
use std::io::Write;

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// One JSON object per line.
    Jsonl,
    /// CSV with a header row.
    Csv,
}

/// What to export.
#[derive(Clone, Copy, Debug)]
pub struct ExportOptions {
    /// Output format.
    pub format: ExportFormat,
    /// Include non-kernel events (manifest, classic, WPP) with their payload in hex; by
    /// default only kernel (SYSTEM/COMPACT/PERFINFO) events are written.
    pub all_events: bool,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            format: ExportFormat::Jsonl,
            all_events: false,
        }
    }
}

/// What an export wrote and skipped.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ExportSummary {
    /// Rows written.
    pub rows: u64,
    /// Events read.
    pub events: u64,
    /// Kernel payloads that could not be decoded (written without fields).
    pub decode_errors: u64,
    /// Reader problems and the first 100 decode errors, with locations.
    pub problems: Vec<Problem>,
}

/// FILETIME as ISO 8601 UTC with 7 fractional digits, formatted without allocation.
#[derive(Clone, Copy, Debug)]
pub struct IsoTime(pub u64);

impl fmt::Display for IsoTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ft = self.0;
        let frac = ft % 10_000_000;
        let secs = ft / 10_000_000;
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        // Days since 1601-01-01 → civil date (proleptic Gregorian).
        let z = days - 134_774 + 719_468; // shift to 1970 epoch, then to 0000-03-01
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:07}Z",
            rem / 3600,
            rem / 60 % 60,
            rem % 60
        )
    }
}

impl Serialize for IsoTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

struct HexBytes<'a>(&'a [u8]);

impl fmt::Display for HexBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl Serialize for HexBytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[derive(Serialize)]
struct Row<'a> {
    time: IsoTime,
    raw_time: u64,
    cpu: u16,
    pid: Option<u32>,
    tid: Option<u32>,
    header: &'static str,
    provider: super::Guid,
    event: &'a str,
    opcode: u16,
    version: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<KernelEvent<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_name: Option<&'a kernel::KeyName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    decode_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload_hex: Option<HexBytes<'a>>,
}

/// Names of kernel events, cached by (group, opcode).
struct Names(Vec<Option<String>>);

impl Names {
    fn get(&mut self, g: u8, op: u8) -> &str {
        let i = (g as usize) << 8 | op as usize;
        self.0[i].get_or_insert_with(|| kernel::event_name(g, op))
    }
}

/// Build the KCB map of a file (pre-pass over Registry events; empty when there are none).
pub fn kcb_map(etl: &Etl) -> KcbMap {
    let ctx = etl.decode_ctx();
    let mut map = etl.par_fold_buffers(
        KcbMap::default,
        |m, _, evs| {
            if let Ok(evs) = evs {
                for ev in evs {
                    if ev.group() == Some(kernel::group::REGISTRY)
                        && (22..=25).contains(&ev.opcode())
                    {
                        if let Ok(Some(KernelEvent::Registry(r))) = kernel::decode(&ev, &ctx) {
                            m.add(ev.timestamp(), &r);
                        }
                    }
                }
            }
        },
        |mut a, b| {
            a.merge_raw(b);
            a
        },
    );
    map.finish();
    map
}

/// CSV column names.
pub const CSV_COLUMNS: [&str; 13] = [
    "time_utc",
    "raw_time",
    "cpu",
    "pid",
    "tid",
    "header",
    "provider",
    "event",
    "opcode",
    "version",
    "fields",
    "key_name",
    "payload_hex",
];

/// Write the events of `etl` to `out` in global time order.
pub fn export<W: Write>(etl: &Etl, opts: &ExportOptions, out: W) -> Result<ExportSummary> {
    let kcbs = kcb_map(etl);
    let clock = etl.clock();
    let ctx = etl.decode_ctx();
    let mut names = Names(vec![None; 1 << 16]);
    let mut summary = ExportSummary::default();
    let mut jsonl = None;
    let mut csv = None;
    if opts.format == ExportFormat::Csv {
        let mut w = csv::WriterBuilder::new()
            .has_headers(false)
            .buffer_capacity(1 << 16)
            .from_writer(out);
        w.write_record(CSV_COLUMNS)?;
        csv = Some(w);
    } else {
        jsonl = Some(std::io::BufWriter::with_capacity(1 << 16, out));
    }
    let mut scratch = Vec::with_capacity(256);
    let mut m = etl.merged();
    while let Some(ev) = m.next() {
        summary.events += 1;
        let kernel_ev = ev.kind().is_kernel();
        if !kernel_ev && !opts.all_events {
            continue;
        }
        let (fields, decode_error) = if kernel_ev {
            match kernel::decode(&ev, &ctx) {
                Ok(f) => (f, None),
                Err(e) => {
                    summary.decode_errors += 1;
                    if summary.decode_errors <= 100 {
                        summary.problems.push(etl.location(&ev, &e.to_string()));
                    }
                    (None, Some(e.to_string()))
                }
            }
        } else {
            (None, None)
        };
        let key_name = match &fields {
            Some(KernelEvent::Registry(r)) => Some(kcbs.key_name(ev.timestamp(), r)),
            _ => None,
        };
        let event_name = match ev.group() {
            Some(g) => names.get(g, ev.opcode()).to_string(),
            None => String::new(),
        };
        let row = Row {
            time: IsoTime(clock.filetime(ev.timestamp())),
            raw_time: ev.timestamp(),
            cpu: ev.cpu,
            pid: pid_of(&ev, &fields),
            tid: tid_of(&ev, &fields),
            header: ev.kind().name(),
            provider: ev.provider(),
            event: &event_name,
            opcode: ev.key_id(),
            version: ev.version(),
            fields,
            key_name: key_name.as_ref(),
            decode_error,
            payload_hex: (fields.is_none() && opts.all_events && !ev.payload().is_empty())
                .then(|| HexBytes(ev.payload())),
        };
        if let Some(out) = jsonl.as_mut() {
            serde_json::to_writer(&mut *out, &row)?;
            out.write_all(b"\n")?;
        } else if let Some(w) = csv.as_mut() {
            write_csv_row(w, &row, &mut scratch)?;
        }
        summary.rows += 1;
    }
    if let Some(mut w) = csv {
        w.flush()?;
    }
    if let Some(mut out) = jsonl {
        out.flush()?;
    }
    let mut problems = etl.open_problems().to_vec();
    problems.extend(m.take_problems());
    problems.append(&mut summary.problems);
    summary.problems = problems;
    Ok(summary)
}

/// Process id of an event: from the header, else from the payload of PERFINFO-headed events
/// that carry one.
fn pid_of(ev: &Event<'_>, fields: &Option<KernelEvent<'_>>) -> Option<u32> {
    ev.pid().or(match fields {
        Some(KernelEvent::Process(p)) => Some(p.pid),
        Some(KernelEvent::Thread(t)) => Some(t.pid),
        Some(KernelEvent::Image(i)) => Some(i.pid),
        Some(KernelEvent::Stack(s)) => Some(s.pid),
        Some(KernelEvent::StackKey(s)) => Some(s.pid),
        _ => None,
    })
}

/// Thread id: from the header, else from the payload where it carries one.
fn tid_of(ev: &Event<'_>, fields: &Option<KernelEvent<'_>>) -> Option<u32> {
    ev.tid().or(match fields {
        Some(KernelEvent::Thread(t)) => Some(t.tid),
        Some(KernelEvent::Stack(s)) => Some(s.tid),
        Some(KernelEvent::StackKey(s)) => Some(s.tid),
        _ => None,
    })
}

fn write_csv_row<W: Write>(
    w: &mut csv::Writer<W>,
    row: &Row<'_>,
    scratch: &mut Vec<u8>,
) -> Result<()> {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(64);
    let mut field = |w: &mut csv::Writer<W>, v: fmt::Arguments<'_>| -> Result<()> {
        s.clear();
        let _ = s.write_fmt(v);
        w.write_field(&s)?;
        Ok(())
    };
    field(w, format_args!("{}", row.time))?;
    field(w, format_args!("{}", row.raw_time))?;
    field(w, format_args!("{}", row.cpu))?;
    field(w, format_args!("{}", OptNum(row.pid)))?;
    field(w, format_args!("{}", OptNum(row.tid)))?;
    w.write_field(row.header)?;
    field(w, format_args!("{}", row.provider))?;
    w.write_field(row.event)?;
    field(w, format_args!("{}", row.opcode))?;
    field(w, format_args!("{}", row.version))?;
    scratch.clear();
    if let Some(f) = &row.fields {
        serde_json::to_writer(&mut *scratch, f)?;
    } else if let Some(e) = &row.decode_error {
        serde_json::to_writer(&mut *scratch, &serde_json::json!({ "decode_error": e }))?;
    }
    w.write_field(&*scratch)?;
    match row.key_name {
        Some(k) => field(w, format_args!("{k}"))?,
        None => w.write_field("")?,
    }
    match &row.payload_hex {
        Some(h) => field(w, format_args!("{h}"))?,
        None => w.write_field("")?,
    }
    w.write_record(None::<&[u8]>)?;
    Ok(())
}

struct OptNum(Option<u32>);

impl fmt::Display for OptNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(v) => write!(f, "{v}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_time_matches_chrono() {
        let mut ft = 0u64;
        while ft < 3_000_000_000_000_000_000 {
            assert_eq!(
                IsoTime(ft).to_string(),
                super::super::logfile::filetime_iso(ft),
                "{ft}"
            );
            ft = ft * 3 + 86_400 * 10_000_000 + 12_345;
        }
        assert_eq!(
            IsoTime(132_404_548_206_236_167).to_string(),
            "2020-07-29T00:07:00.6236167Z"
        );
        assert_eq!(IsoTime(0).to_string(), "1601-01-01T00:00:00.0000000Z");
    }
}
