//! Servicing logs, event logs and `fltmc` output: readers and the failure classifier
//! (`shared/docs/format-logs.md`).
//!
//! * [`sniff`] tells from a file's first bytes which kind of log it is (never by extension).
//! * [`read_path`] / [`read_bytes`] decode (BOM, UTF-16, UTF-8, ANSI code pages: [`text`]) and
//!   parse into typed records: [`cbs`], [`setupapi`], [`windowsupdate`], [`eventlog`], [`fltmc`].
//!   Every physical line is accounted for in the file's [`ReadStats`]: parsed as an entry,
//!   attached to the entry above as a continuation, a blank separator, or listed as unparsed
//!   with its line number. Reading never fails on content (only on I/O, an unknown kind, or an
//!   `.evtx` whose header is unreadable).
//! * [`signatures`] classifies log lines into failure signatures with a table of patterns
//!   (`src/logs/data/*.csv`): what failed, on which object, when, with which code, whether a
//!   filter driver can be involved at all, and the known fix.
//!
//! Times: every record says whether a time is local wall-clock as written (`time_local`,
//! `chrono::NaiveDateTime`) or UTC (`time_utc`). CBS and legacy WindowsUpdate logs carry enough
//! to derive UTC; setupapi and converted WindowsUpdate logs do not; event logs are UTC.

pub mod cbs;
pub mod codes;
pub mod eventlog;
pub mod fltmc;
pub mod pattern;
pub mod setupapi;
pub mod signatures;
pub mod text;
pub mod windowsupdate;

use anyhow::{bail, Context, Result};
use chrono::{NaiveDate, NaiveDateTime};
use std::io::Read;
use std::path::Path;

pub use signatures::{classify, classify_all, Finding};
pub use text::DecodeOptions;

/// Which kind of log a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogKind {
    /// `CBS.log`, `CbsPersist_*.log` (also `DISM.log`, which shares the layout).
    Cbs,
    /// `setupapi.dev.log`, `setupapi.app.log`, `setupapi.offline.log` and rotated copies.
    SetupApi,
    /// `WindowsUpdate.log`, either layout.
    WindowsUpdate,
    /// A Windows event log (`.evtx`).
    EventLog,
    /// `fltmc filters` / `fltmc instances` output or a header-less filter list.
    Fltmc,
    /// Not a log this module reads.
    Unknown,
}

impl LogKind {
    /// Short lower-case name (`cbs`, `setupapi`, `windowsupdate`, `evtx`, `fltmc`, `unknown`),
    /// as used in the `source` column of the signature tables.
    pub fn name(self) -> &'static str {
        match self {
            LogKind::Cbs => "cbs",
            LogKind::SetupApi => "setupapi",
            LogKind::WindowsUpdate => "windowsupdate",
            LogKind::EventLog => "evtx",
            LogKind::Fltmc => "fltmc",
            LogKind::Unknown => "unknown",
        }
    }
}

/// Per-file accounting: every physical line (every record, for `.evtx`) is in exactly one of
/// `entries`, `continuations`, `separators` or `unparsed`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Physical lines (records yielded, for `.evtx`).
    pub lines: usize,
    /// Lines parsed as a record or structural line (header, section marker, table header).
    pub entries: usize,
    /// Lines attached to the record above them (CBS multi-line messages, including their blank
    /// lines; CBS lines before the first entry are counted here too, see [`cbs::CbsLog::preamble`]).
    pub continuations: usize,
    /// Blank lines that belong to no record (setupapi, WindowsUpdate, fltmc separators).
    pub separators: usize,
    /// Blank lines, wherever counted (a statistic, not a category).
    pub blank: usize,
    /// Line numbers (record ordinals, for `.evtx`) that could not be parsed.
    pub unparsed: Vec<usize>,
    /// Line-end statistics (text logs).
    pub line_ends: text::LineEnds,
    /// Encoding name (`UTF-8`, `UTF-16LE`, `windows-1251`, `GBK`; `binary` for `.evtx`).
    pub encoding: String,
    /// The file started with a byte-order mark.
    pub bom: bool,
    /// Replacement characters inserted by decoding.
    pub replaced: usize,
}

impl ReadStats {
    /// True when every line is accounted for exactly once.
    pub fn accounted(&self) -> bool {
        self.entries + self.continuations + self.separators + self.unparsed.len() == self.lines
    }
}

/// Options for reading.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadOptions {
    /// Decoding of text logs that are neither BOM-marked nor UTF-8.
    pub decode: DecodeOptions,
}

/// The parsed content of one log file.
#[derive(Clone, Debug)]
pub enum Parsed {
    /// CBS log.
    Cbs(cbs::CbsLog),
    /// setupapi log.
    SetupApi(setupapi::SetupApiLog),
    /// WindowsUpdate.log.
    WindowsUpdate(windowsupdate::WuLog),
    /// Event log.
    EventLog(eventlog::EventLog),
    /// fltmc output.
    Fltmc(fltmc::FltmcOutput),
}

/// One read log file.
#[derive(Clone, Debug)]
pub struct LogFile {
    /// Where it came from (path or name given to [`read_bytes`]).
    pub source: String,
    /// Its kind.
    pub kind: LogKind,
    /// Its content.
    pub parsed: Parsed,
}

impl LogFile {
    /// The file's line accounting.
    pub fn stats(&self) -> &ReadStats {
        match &self.parsed {
            Parsed::Cbs(l) => &l.stats,
            Parsed::SetupApi(l) => &l.stats,
            Parsed::WindowsUpdate(l) => &l.stats,
            Parsed::EventLog(l) => &l.stats,
            Parsed::Fltmc(l) => &l.stats,
        }
    }
}

/// Build a date-time, `None` when the fields make no valid date.
pub(crate) fn naive(
    y: i32,
    mo: u32,
    d: u32,
    h: u32,
    mi: u32,
    s: u32,
    nanos: u32,
) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(y, mo, d)?.and_hms_nano_opt(h, mi, s, nanos)
}

/// How many bytes [`sniff_path`] reads.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// Tell which kind of log `head` (the first bytes of a file, any length) is.
pub fn sniff(head: &[u8]) -> LogKind {
    if head.starts_with(b"ElfFile\0") {
        return LogKind::EventLog;
    }
    if head.is_empty() {
        return LogKind::Unknown;
    }
    // Decode the head; drop a possibly cut last line.
    let d = text::decode(head, &DecodeOptions::default());
    let body = match d.text.rfind('\n') {
        Some(i) if head.len() >= SNIFF_BYTES => &d.text[..i],
        _ => d.text.as_str(),
    };
    let (lines, _) = text::split_lines(body);
    sniff_lines(&lines)
}

/// Tell which kind of log a text is from its first lines.
pub fn sniff_lines(lines: &[&str]) -> LogKind {
    let head: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !text::is_blank(l))
        .take(50)
        .collect();
    if head.is_empty() {
        return LogKind::Unknown;
    }
    let setupapi_marks = [
        "[Device Install Log]",
        "[SetupAPI Log]",
        "[BeginLog]",
        "[Boot Session:",
        ">>>  [",
        ">>>  Section start",
    ];
    if head
        .iter()
        .take(20)
        .any(|l| setupapi_marks.iter().any(|m| l.starts_with(m)))
    {
        return LogKind::SetupApi;
    }
    if head.iter().any(|l| cbs::split_entry(l).is_some()) {
        return LogKind::Cbs;
    }
    if head.iter().any(|l| {
        windowsupdate::converted(l).is_some()
            || windowsupdate::legacy(l).is_some()
            || l.contains(windowsupdate::ETW_STUB)
    }) {
        return LogKind::WindowsUpdate;
    }
    if fltmc::looks_like(lines) {
        return LogKind::Fltmc;
    }
    // A cut setupapi log: mostly `     tag: text` body lines.
    let body = head
        .iter()
        .filter(|l| l.starts_with("     ") || l.starts_with('!') || l.starts_with("<<<  "))
        .filter(|l| {
            let t = l.trim_start_matches(['!', ' ', '<']);
            let n = t.bytes().take_while(u8::is_ascii_lowercase).count();
            (2..=4).contains(&n) && t.as_bytes().get(n) == Some(&b':')
        })
        .count();
    if body * 2 > head.len() {
        return LogKind::SetupApi;
    }
    LogKind::Unknown
}

/// Sniff a file by its first [`SNIFF_BYTES`] bytes.
pub fn sniff_path(path: &Path) -> Result<LogKind> {
    let f =
        std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    f.take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    Ok(sniff(&head))
}

/// Read and parse a log file (its kind sniffed from its content).
pub fn read_path(path: &Path, opts: &ReadOptions) -> Result<LogFile> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    read_bytes(&path.display().to_string(), &bytes, opts)
}

/// Parse a log held in memory; `source` names it in findings and messages.
pub fn read_bytes(source: &str, bytes: &[u8], opts: &ReadOptions) -> Result<LogFile> {
    let kind = sniff(&bytes[..bytes.len().min(SNIFF_BYTES)]);
    read_as(source, bytes, kind, opts)
}

/// Parse a log as a given kind (no sniffing).
pub fn read_as(source: &str, bytes: &[u8], kind: LogKind, opts: &ReadOptions) -> Result<LogFile> {
    if kind == LogKind::EventLog {
        let stats = ReadStats {
            encoding: "binary".into(),
            ..ReadStats::default()
        };
        let log = eventlog::parse(bytes, stats).map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
        return Ok(LogFile {
            source: source.to_string(),
            kind,
            parsed: Parsed::EventLog(log),
        });
    }
    if kind == LogKind::Unknown {
        bail!(
            "{source}: not a recognised log (expected CBS.log, setupapi.*.log, WindowsUpdate.log, .evtx or fltmc output)"
        );
    }
    let d = text::decode(bytes, &opts.decode);
    let (lines, ends) = text::split_lines(&d.text);
    let stats = ReadStats {
        line_ends: ends,
        encoding: d.encoding.to_string(),
        bom: d.bom,
        replaced: d.replaced,
        ..ReadStats::default()
    };
    let parsed = match kind {
        LogKind::Cbs => Parsed::Cbs(cbs::parse(&lines, ends, stats)),
        LogKind::SetupApi => Parsed::SetupApi(setupapi::parse(&lines, ends, stats)),
        LogKind::WindowsUpdate => Parsed::WindowsUpdate(windowsupdate::parse(&lines, ends, stats)),
        LogKind::Fltmc => Parsed::Fltmc(fltmc::parse(&lines, ends, stats)),
        LogKind::EventLog | LogKind::Unknown => bail!("{source}: not a text log"),
    };
    Ok(LogFile {
        source: source.to_string(),
        kind,
        parsed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b"ElfFile\0rest"), LogKind::EventLog);
        assert_eq!(
            sniff(b"\xEF\xBB\xBF2015-02-23 21:47:27, Info                  CBS    TI: x\r\n"),
            LogKind::Cbs
        );
        assert_eq!(
            sniff(b"[Device Install Log]\n     OS Version = 10.0\n"),
            LogKind::SetupApi
        );
        assert_eq!(
            sniff(b"2023/05/22 08:08:32.6295131 8096  8116  Shared          InitializeSus\r\n"),
            LogKind::WindowsUpdate
        );
        assert_eq!(
            sniff(b"     bindflt    0    0\r\n     WdFilter   6   0\r\n"),
            LogKind::Fltmc
        );
        assert_eq!(sniff(b"\x00\x01\x02garbage"), LogKind::Unknown);
        assert_eq!(sniff(b""), LogKind::Unknown);
        assert!(read_bytes("x", b"hello", &ReadOptions::default()).is_err());
    }
}
