//! The `log_lines` table and the classified log failures, on one UTC timeline.
//!
//! One row per parsed log line (every line the classifier sees: CBS entries and their
//! continuation lines, setupapi body lines and exit statuses, WindowsUpdate lines, event
//! records), with the failure `signature` and `object` of the classifier ([`crate::logs`]).
//!
//! Times: CBS lines carry their own UTC (the CSI `@` stamps give the machine's offset), event
//! records are UTC. setupapi and converted WindowsUpdate logs have no zone: their local times
//! are turned into UTC with the offset of the same machine, taken from (first that applies) the
//! `--utc-offset` option, the CBS CSI `@` stamps, `Universal Time is:` lines, or an ETL trace's
//! time zone (its logfile header's bias).

use crate::logs::cbs::{format_offset, OffsetSource};
use crate::logs::signatures::{classify_all, inputs};
use crate::logs::{LogFile, LogKind, Parsed};
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use polars::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The machine's UTC offset used for local log times.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UtcOffset {
    /// Local minus UTC, minutes (`480` = UTC+08:00).
    pub minutes: i32,
    /// `+08:00`.
    pub text: String,
    /// Where it came from, in words (`--utc-offset`, `CBS CSI @ stamps (12 lines of CBS.log)`).
    pub source: String,
}

impl UtcOffset {
    /// An offset of `minutes` from `source`.
    pub fn new(minutes: i32, source: impl Into<String>) -> UtcOffset {
        UtcOffset {
            minutes,
            text: format_offset(minutes),
            source: source.into(),
        }
    }
}

/// Parse `+08:00`, `-05:30`, `+8`, `0`, `Z` into minutes (local minus UTC).
pub fn parse_offset(s: &str) -> Option<i32> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("z") || s.eq_ignore_ascii_case("utc") {
        return Some(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => (1, s),
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h.parse::<i32>().ok()?, m.parse::<i32>().ok()?),
        None if rest.len() == 4 => (rest[..2].parse().ok()?, rest[2..].parse().ok()?),
        None => (rest.parse().ok()?, 0),
    };
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    Some(sign * (h * 60 + m))
}

/// How to place local log times on the UTC timeline.
#[derive(Clone, Debug, Default)]
pub struct LogOptions {
    /// `--utc-offset`: overrides every inferred offset.
    pub utc_offset: Option<i32>,
    /// The time zone of a trace of the same machine (an ETL's logfile header), minutes local
    /// minus UTC; used when the logs themselves give no offset.
    pub trace_offset: Option<i32>,
}

/// One classified log failure (`verdict.json` `log_failures[]`).
#[derive(Clone, Debug, Serialize)]
pub struct LogFailure {
    /// Failure signature (`driver_queue_denied`, `store_corruption` ...).
    pub signature: String,
    /// Coarse class (`access_denied`, `store_corruption` ...).
    pub kind: String,
    /// The failing object as the log names it.
    pub object: Option<String>,
    /// What the object is (`service`, `inf`, `file`, `package` ...).
    pub object_kind: Option<String>,
    /// The object normalised for joins with trace paths ([`normalize_object`]).
    pub object_key: Option<String>,
    /// Error code, `0x80070005`.
    pub code: Option<String>,
    /// Its symbolic name.
    pub code_name: Option<String>,
    /// Local time as written, `2024-09-10 10:44:43.951`.
    pub time_local: Option<String>,
    /// UTC time, ISO 8601.
    pub time_utc: Option<String>,
    /// UTC time, ns since 1970.
    #[serde(skip)]
    pub time_ns: Option<i64>,
    /// Log file (name as given).
    pub file: String,
    /// Kind of log (`cbs`, `setupapi` ...).
    pub source_kind: String,
    /// 1-based line (record id for `.evtx`).
    pub line: usize,
    /// The line.
    pub text: String,
    /// Whether a filter driver can be involved at all.
    pub filter_possible: bool,
    /// What the signature means.
    pub meaning: String,
    /// The known fix, or for denials the capture that decides it.
    pub fix: String,
    /// How it relates to other findings.
    pub note: Option<String>,
}

/// One log file read (for provenance).
#[derive(Clone, Debug, Serialize)]
pub struct LogFileInfo {
    /// Name as given.
    pub path: String,
    /// Kind (`cbs`, `setupapi` ...).
    pub kind: String,
    /// Physical lines (records, for `.evtx`).
    pub lines: usize,
    /// Encoding.
    pub encoding: String,
    /// First and last UTC time of its lines.
    pub first_utc: Option<String>,
    /// Last UTC time of its lines.
    pub last_utc: Option<String>,
}

/// What the logs of one incident contribute.
#[derive(Clone, Debug)]
pub struct LogTables {
    /// The `log_lines` table (schema in `tables/mod.rs`).
    pub log_lines: DataFrame,
    /// Classified failures, in time order (untimed last).
    pub failures: Vec<LogFailure>,
    /// The log files read.
    pub files: Vec<LogFileInfo>,
    /// The offset used for local times, when one is known.
    pub offset: Option<UtcOffset>,
    /// `fltmc` listings among the inputs (filter name, altitude text, instances).
    pub fltmc: Vec<(String, Option<String>, Option<u32>)>,
    /// Intake notes: skipped files and archive members, with reasons.
    pub notes: Vec<String>,
}

impl Default for LogTables {
    fn default() -> Self {
        LogTables {
            log_lines: empty_log_lines(),
            failures: Vec::new(),
            files: Vec::new(),
            offset: None,
            fltmc: Vec::new(),
            notes: Vec::new(),
        }
    }
}

impl LogTables {
    /// True when no log was read.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// The empty `log_lines` frame with its schema.
pub fn empty_log_lines() -> DataFrame {
    Cols::default().frame().expect("empty log_lines")
}

/// Infer the machine's offset from the logs themselves: the most frequent CSI `@` offset of
/// all CBS files, else `Universal Time is:` lines.
pub fn infer_offset(logs: &[LogFile]) -> Option<UtcOffset> {
    for (want, what) in [
        (OffsetSource::CsiStamp, "CBS CSI @ stamps"),
        (
            OffsetSource::UniversalTime,
            "CBS `Universal Time is:` lines",
        ),
    ] {
        let mut counts: BTreeMap<i32, usize> = BTreeMap::new();
        let mut files = Vec::new();
        for l in logs {
            if let Parsed::Cbs(c) = &l.parsed {
                let mut any = false;
                for o in c.offsets.iter().filter(|o| o.source == want) {
                    *counts.entry(o.minutes).or_default() += 1;
                    any = true;
                }
                if any {
                    files.push(file_name(&l.source));
                }
            }
        }
        if let Some((&m, &n)) = counts.iter().max_by_key(|(m, n)| (**n, -(**m).abs())) {
            return Some(UtcOffset::new(
                m,
                format!("{what} ({n} line(s) of {})", files.join(", ")),
            ));
        }
    }
    None
}

/// Local minus UTC of the machine that recorded an ETL trace, from its logfile header's time
/// zone (`UTC = local + bias`; the standard-time bias, as the header gives no season). Pass it as
/// [`LogOptions::trace_offset`].
pub fn etl_offset(h: &crate::etl::LogfileHeader) -> i32 {
    -(h.time_zone.bias_minutes + h.time_zone.standard_bias)
}

/// Last path component of a name as given.
pub fn file_name(s: &str) -> String {
    s.rsplit(['/', '\\']).next().unwrap_or(s).to_string()
}

/// Normalise an object name for joins across sources (DESIGN.md, "Naming the same object"):
/// lower case; `\REGISTRY\MACHINE\` = `HKLM\`, `\REGISTRY\USER\` = `HKU\`,
/// `HKEY_LOCAL_MACHINE\` = `HKLM\`; `ControlSet00N` = `CurrentControlSet`; `\\?\` and `\??\`
/// dropped; a setupapi service name (`kind` `service`) becomes its service key.
pub fn normalize_object(kind: Option<&str>, name: &str) -> String {
    let mut s = name.trim().replace('/', "\\");
    if kind == Some("service") && !s.contains('\\') {
        s = format!(r"HKLM\System\CurrentControlSet\Services\{s}");
    }
    let mut l = s.to_ascii_lowercase();
    for p in [r"\\?\", r"\??\"] {
        if let Some(r) = l.strip_prefix(p) {
            l = r.to_string();
        }
    }
    for (from, to) in [
        (r"\registry\machine\", r"hklm\"),
        (r"\registry\user\", r"hku\"),
        (r"hkey_local_machine\", r"hklm\"),
        (r"hkey_users\", r"hku\"),
    ] {
        if let Some(r) = l.strip_prefix(from) {
            l = format!("{to}{r}");
        }
    }
    if let Some(r) = l.strip_prefix(r"hklm\system\controlset") {
        let digits = r.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            l = format!(r"hklm\system\currentcontrolset{}", &r[digits..]);
        }
    }
    l.trim_end_matches('\\').to_string()
}

#[derive(Default)]
struct Cols {
    time: Vec<Option<i64>>,
    source: Vec<String>,
    line: Vec<u64>,
    component: Vec<Option<String>>,
    level: Vec<Option<String>>,
    text: Vec<String>,
    hresult: Vec<Option<u32>>,
    signature: Vec<Option<String>>,
    object: Vec<Option<String>>,
}

impl Cols {
    fn frame(self) -> PolarsResult<DataFrame> {
        let n = self.source.len();
        let time = Series::new("time_utc".into(), self.time).cast(&DataType::Datetime(
            TimeUnit::Nanoseconds,
            Some(polars::prelude::TimeZone::UTC),
        ))?;
        DataFrame::new(
            n,
            vec![
                time.into(),
                Series::new("source".into(), self.source).into(),
                Series::new("line".into(), self.line).into(),
                Series::new("component".into(), self.component).into(),
                Series::new("level".into(), self.level).into(),
                Series::new("text".into(), self.text).into(),
                Series::new("hresult".into(), self.hresult).into(),
                Series::new("signature".into(), self.signature).into(),
                Series::new("object".into(), self.object).into(),
            ],
        )
    }
}

fn ns(t: DateTime<Utc>) -> Option<i64> {
    t.timestamp_nanos_opt()
}

fn to_utc(local: NaiveDateTime, minutes: i32) -> DateTime<Utc> {
    (local - TimeDelta::minutes(i64::from(minutes))).and_utc()
}

fn iso(t_ns: i64) -> String {
    DateTime::from_timestamp_nanos(t_ns)
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// Components per line: CBS component, setupapi tag, WindowsUpdate component, event provider.
fn components(log: &LogFile) -> HashMap<usize, String> {
    let mut m = HashMap::new();
    match &log.parsed {
        Parsed::Cbs(c) => {
            for e in &c.entries {
                m.insert(e.line, e.component.clone());
                for (no, _) in &e.continuation {
                    m.insert(*no, e.component.clone());
                }
            }
        }
        Parsed::SetupApi(s) => {
            for b in &s.body {
                m.insert(b.line, b.tag.clone());
            }
        }
        Parsed::WindowsUpdate(w) => {
            for l in &w.lines {
                m.insert(l.line, l.component.clone());
            }
        }
        Parsed::EventLog(e) => {
            for r in &e.records {
                m.insert(
                    usize::try_from(r.record_id).unwrap_or(usize::MAX),
                    r.provider.clone(),
                );
            }
        }
        Parsed::Fltmc(_) => {}
    }
    m
}

/// Build the log tables of one machine's logs.
pub fn build(logs: &[LogFile], opts: &LogOptions) -> anyhow::Result<LogTables> {
    let offset = match opts.utc_offset {
        Some(m) => Some(UtcOffset::new(m, "--utc-offset")),
        None => infer_offset(logs).or_else(|| {
            opts.trace_offset
                .map(|m| UtcOffset::new(m, "the trace's time zone (ETL logfile header)"))
        }),
    };
    let minutes = offset.as_ref().map(|o| o.minutes);
    let place = |local: Option<NaiveDateTime>, utc: Option<DateTime<Utc>>| -> Option<i64> {
        match (opts.utc_offset, local, utc) {
            (Some(m), Some(l), _) => ns(to_utc(l, m)),
            (_, _, Some(u)) => ns(u),
            (_, Some(l), None) => minutes.and_then(|m| ns(to_utc(l, m))),
            _ => None,
        }
    };

    let findings = classify_all(logs);
    let mut by_line: HashMap<(&str, usize), &crate::logs::Finding> = HashMap::new();
    for f in &findings {
        by_line.entry((f.file.as_str(), f.line)).or_insert(f);
    }

    let mut c = Cols::default();
    let mut files = Vec::new();
    let mut fltmc = Vec::new();
    for log in logs {
        if let Parsed::Fltmc(f) = &log.parsed {
            if let crate::logs::fltmc::FltmcTable::Filters(rows) = &f.table {
                for r in rows {
                    fltmc.push((r.name.clone(), r.altitude.clone(), r.instances));
                }
            }
        }
        let comps = components(log);
        let name = file_name(&log.source);
        let (mut first, mut last): (Option<i64>, Option<i64>) = (None, None);
        for inp in inputs(log) {
            let t = place(inp.time_local, inp.time_utc);
            if let Some(t) = t {
                first = Some(first.map_or(t, |f| f.min(t)));
                last = Some(last.map_or(t, |l| l.max(t)));
            }
            let f = by_line.get(&(log.source.as_str(), inp.line));
            c.time.push(t);
            c.source.push(name.clone());
            c.line.push(inp.line as u64);
            c.component.push(comps.get(&inp.line).cloned());
            c.level.push(inp.severity.map(str::to_string));
            c.hresult.push(f.and_then(|f| f.code).or_else(|| {
                crate::logs::codes::hresult_fields(&inp.text)
                    .first()
                    .map(|h| h.code)
            }));
            c.text.push(inp.text.into_owned());
            c.signature.push(f.map(|f| f.signature.clone()));
            c.object
                .push(f.and_then(|f| f.object.as_ref().map(|o| o.name.clone())));
        }
        files.push(LogFileInfo {
            path: log.source.clone(),
            kind: log.kind.name().to_string(),
            lines: log.stats().lines,
            encoding: log.stats().encoding.clone(),
            first_utc: first.map(iso),
            last_utc: last.map(iso),
        });
    }

    let mut failures: Vec<LogFailure> = findings
        .iter()
        .map(|f| {
            let t = place(f.time_local, f.time_utc);
            LogFailure {
                signature: f.signature.clone(),
                kind: f.kind.clone(),
                object: f.object.as_ref().map(|o| o.name.clone()),
                object_kind: f.object.as_ref().map(|o| o.kind.clone()),
                object_key: f
                    .object
                    .as_ref()
                    .map(|o| normalize_object(Some(&o.kind), &o.name)),
                code: f.code.map(|c| format!("0x{c:08x}")),
                code_name: f.code_name.clone(),
                time_local: f
                    .time_local
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string()),
                time_utc: t.map(iso),
                time_ns: t,
                file: f.file.clone(),
                source_kind: f.source_kind.name().to_string(),
                line: f.line,
                text: f.text.clone(),
                filter_possible: f.filter_possible,
                meaning: f.meaning.clone(),
                fix: f.fix.clone(),
                note: f.note.clone(),
            }
        })
        .collect();
    failures.sort_by_key(|f| (f.time_ns.is_none(), f.time_ns, f.file.clone(), f.line));

    Ok(LogTables {
        log_lines: c.frame()?,
        failures,
        files,
        offset,
        fltmc,
        notes: Vec::new(),
    })
}

/// Whether a log kind contributes lines (fltmc output is a listing, not a log).
pub fn has_lines(kind: LogKind) -> bool {
    kind != LogKind::Fltmc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_parse() {
        assert_eq!(parse_offset("+08:00"), Some(480));
        assert_eq!(parse_offset("-05:30"), Some(-330));
        assert_eq!(parse_offset("+0800"), Some(480));
        assert_eq!(parse_offset("8"), Some(480));
        assert_eq!(parse_offset("Z"), Some(0));
        assert_eq!(parse_offset("+25:00"), None);
        assert_eq!(parse_offset("x"), None);
    }

    #[test]
    fn objects_normalise() {
        let a = normalize_object(Some("service"), "AmdK8");
        let b = normalize_object(
            None,
            r"\REGISTRY\MACHINE\SYSTEM\ControlSet001\Services\AmdK8",
        );
        assert_eq!(a, b);
        assert_eq!(
            normalize_object(Some("file"), r"\\?\C:\WINDOWS\x.cab"),
            r"c:\windows\x.cab"
        );
    }
}
