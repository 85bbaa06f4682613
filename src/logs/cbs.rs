//! `CBS.log` and `CbsPersist_*.log` (the servicing stack's log; `format-logs.md` section 1).
//!
//! An entry is a line `YYYY-MM-DD HH:MM:SS, <severity> <spaces> <component> <spaces> <text>`
//! (local wall-clock time, whole seconds, no zone). Every other line belongs to the entry above
//! it (multi-line messages, repair summaries, blank lines). CSI messages start with an 8-digit
//! hexadecimal sequence number, optionally followed by `@YYYY/M/D:HH:MM:SS.mmm` (UTC) and a
//! `(F)` failure marker. The machine's UTC offset is recovered from those `@` stamps and from
//! `Universal Time is:` lines and attached to every entry.

use super::codes::{hresult_fields, HresultField};
use super::text::{is_blank, LineEnds};
use super::{naive, ReadStats};
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

/// One CBS entry (its first line and the continuation lines that follow it).
#[derive(Clone, Debug)]
pub struct CbsEntry {
    /// 1-based line number of the entry line.
    pub line: usize,
    /// Local wall-clock time as written (no zone); `None` when the digits are no valid date.
    pub time_local: Option<NaiveDateTime>,
    /// UTC offset (minutes east of UTC) in force for this entry, from the nearest offset sample
    /// (see [`CbsLog::offsets`]); `None` when the file has no sample.
    pub utc_offset_minutes: Option<i32>,
    /// UTC time: `time_local` minus the offset; `None` without an offset.
    pub time_utc: Option<DateTime<Utc>>,
    /// Severity word (`Info`, `Warning`, `Error`; unknown words kept as written).
    pub severity: String,
    /// Component (`CBS`, `CSI`, `DEPLOY`, `DISM`, ...).
    pub component: String,
    /// Message text of the entry line (for CSI including the sequence number).
    pub text: String,
    /// CSI prefix, when the message starts with an 8-digit hexadecimal sequence number.
    pub csi: Option<CsiPrefix>,
    /// The entry carries the `(F)` failure marker.
    pub failed: bool,
    /// `[HRESULT = 0x........ - NAME]` fields of the entry line.
    pub hresults: Vec<HresultField>,
    /// Continuation lines (line number, text) that belong to this entry.
    pub continuation: Vec<(usize, String)>,
}

/// The CSI part of a message: `0000031e@2023/5/23:16:17:27.204 (F) ...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsiPrefix {
    /// Sequence number (hexadecimal in the text).
    pub sequence: u32,
    /// The `@` stamp: UTC, with milliseconds.
    pub utc: Option<NaiveDateTime>,
}

/// Where a UTC offset was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetSource {
    /// A CSI entry's `@` UTC stamp against the entry's local time.
    CsiStamp,
    /// A `Universal Time is: ...` line against the entry's local time.
    UniversalTime,
}

/// One measurement of the machine's UTC offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetSample {
    /// Line of the entry it was read from.
    pub line: usize,
    /// Local minus UTC, rounded to 15 minutes.
    pub minutes: i32,
    /// Where it was read.
    pub source: OffsetSource,
}

/// A parsed CBS log.
#[derive(Clone, Debug)]
pub struct CbsLog {
    /// Entries in file order.
    pub entries: Vec<CbsEntry>,
    /// Lines before the first entry (a cut file): counted as continuation lines of no entry.
    pub preamble: Vec<(usize, String)>,
    /// UTC offset measurements, in line order.
    pub offsets: Vec<OffsetSample>,
    /// Line accounting.
    pub stats: ReadStats,
}

/// Parse the fixed entry layout. Returns (time digits, severity, component, text).
///
/// Mirrors the definition in `EXPECTED.md`: `YYYY-MM-DD HH:MM:SS, ` then a severity word, a run of
/// whitespace, a component word, a run of whitespace, and the text (possibly empty).
pub fn split_entry(line: &str) -> Option<(&str, &str, &str, &str)> {
    let b = line.as_bytes();
    if b.len() < 21 {
        return None;
    }
    let shape = b"dddd-dd-dd dd:dd:dd, ";
    for (i, s) in shape.iter().enumerate() {
        let ok = if *s == b'd' {
            b[i].is_ascii_digit()
        } else {
            b[i] == *s
        };
        if !ok {
            return None;
        }
    }
    let rest = &line[21..];
    let sev_len = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
    if sev_len == 0 {
        return None;
    }
    let (sev, rest) = rest.split_at(sev_len);
    let rest2 = rest.trim_start();
    if rest2.len() == rest.len() {
        return None;
    }
    let comp_len = rest2
        .find(|c: char| c.is_whitespace())
        .unwrap_or(rest2.len());
    if comp_len == 0 {
        return None;
    }
    let (comp, rest3) = rest2.split_at(comp_len);
    let text = rest3.trim_start();
    if text.len() == rest3.len() {
        return None; // no whitespace after the component
    }
    Some((&line[..19], sev, comp, text))
}

/// Parse `YYYY-MM-DD HH:MM:SS`.
fn local_time(s: &str) -> Option<NaiveDateTime> {
    let n = |r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<u32>().ok());
    naive(
        n(0..4)? as i32,
        n(5..7)?,
        n(8..10)?,
        n(11..13)?,
        n(14..16)?,
        n(17..19)?,
        0,
    )
}

/// Parse a CSI message prefix.
fn csi_prefix(text: &str) -> Option<(CsiPrefix, bool)> {
    let b = text.as_bytes();
    if b.len() < 8 || !b[..8].iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let sequence = u32::from_str_radix(&text[..8], 16).ok()?;
    let mut rest = &text[8..];
    let mut utc = None;
    if let Some(r) = rest.strip_prefix('@') {
        let end = r.find(' ').unwrap_or(r.len());
        utc = csi_utc(&r[..end]);
        rest = &r[end..];
    } else if !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    let failed = rest.trim_start().starts_with("(F) ") || rest.trim() == "(F)";
    Some((CsiPrefix { sequence, utc }, failed))
}

/// Parse `YYYY/M/D:HH:MM:SS.mmm`.
fn csi_utc(s: &str) -> Option<NaiveDateTime> {
    let (date, time) = s.split_once(':')?;
    let mut d = date.split('/');
    let y = d.next()?.parse::<i32>().ok()?;
    let mo = d.next()?.parse::<u32>().ok()?;
    let da = d.next()?.parse::<u32>().ok()?;
    let mut t = time.split(':');
    let h = t.next()?.parse::<u32>().ok()?;
    let mi = t.next()?.parse::<u32>().ok()?;
    let (sec, ms) = t.next()?.split_once('.')?;
    let ms: u32 = ms.get(..3)?.parse().ok()?;
    naive(y, mo, da, h, mi, sec.parse().ok()?, ms * 1_000_000)
}

/// `Universal Time is: 2015-02-24 02:47:28.286`.
fn universal_time(text: &str) -> Option<NaiveDateTime> {
    let r = text.strip_prefix("Universal Time is: ")?;
    let base = local_time(r.get(..19)?)?;
    let ms = r
        .get(20..23)
        .and_then(|m| m.parse::<i64>().ok())
        .unwrap_or(0);
    Some(base + TimeDelta::milliseconds(ms))
}

/// Local minus UTC rounded to 15 minutes, when within 2 s of a multiple (else `None`).
fn offset_minutes(local: NaiveDateTime, utc: NaiveDateTime) -> Option<i32> {
    let diff_ms = (local - utc).num_milliseconds();
    let q = (diff_ms as f64 / 900_000.0).round() as i64 * 900_000;
    if (diff_ms - q).abs() <= 2_000 && q.abs() <= 16 * 3_600_000 {
        Some((q / 60_000) as i32)
    } else {
        None
    }
}

/// Read a CBS log from its physical lines.
pub fn parse(lines: &[&str], ends: LineEnds, mut stats: ReadStats) -> CbsLog {
    let mut entries: Vec<CbsEntry> = Vec::new();
    let mut preamble = Vec::new();
    let mut offsets = Vec::new();
    stats.lines = ends.lines;
    for (i, &line) in lines.iter().enumerate() {
        let no = i + 1;
        if is_blank(line) {
            stats.blank += 1;
        }
        let Some((ts, sev, comp, text)) = split_entry(line) else {
            stats.continuations += 1;
            match entries.last_mut() {
                Some(e) => e.continuation.push((no, line.to_string())),
                None => preamble.push((no, line.to_string())),
            }
            continue;
        };
        stats.entries += 1;
        let time_local = local_time(ts);
        let (csi, mut failed) = match csi_prefix(text) {
            Some((p, f)) => (Some(p), f),
            None => (None, false),
        };
        if text.starts_with("(F) ") {
            failed = true;
        }
        if let (Some(loc), Some(utc)) = (time_local, csi.as_ref().and_then(|c| c.utc)) {
            if comp == "CSI" {
                if let Some(m) = offset_minutes(loc, utc) {
                    offsets.push(OffsetSample {
                        line: no,
                        minutes: m,
                        source: OffsetSource::CsiStamp,
                    });
                }
            }
        }
        if let (Some(loc), Some(utc)) = (time_local, universal_time(text)) {
            if let Some(m) = offset_minutes(loc, utc) {
                offsets.push(OffsetSample {
                    line: no,
                    minutes: m,
                    source: OffsetSource::UniversalTime,
                });
            }
        }
        entries.push(CbsEntry {
            line: no,
            time_local,
            utc_offset_minutes: None,
            time_utc: None,
            severity: sev.to_string(),
            component: comp.to_string(),
            text: text.to_string(),
            csi,
            failed,
            hresults: hresult_fields(text),
            continuation: Vec::new(),
        });
    }
    attach_offsets(&mut entries, &offsets);
    CbsLog {
        entries,
        preamble,
        offsets,
        stats,
    }
}

/// Give every entry the offset of the latest sample at or before it, else the first after it.
fn attach_offsets(entries: &mut [CbsEntry], offsets: &[OffsetSample]) {
    if offsets.is_empty() {
        return;
    }
    let mut k = 0usize;
    for e in entries.iter_mut() {
        while k + 1 < offsets.len() && offsets[k + 1].line <= e.line {
            k += 1;
        }
        let s = if offsets[k].line <= e.line {
            offsets[k]
        } else {
            offsets[0]
        };
        e.utc_offset_minutes = Some(s.minutes);
        e.time_utc = e
            .time_local
            .map(|t| (t - TimeDelta::minutes(i64::from(s.minutes))).and_utc());
    }
}

impl CbsLog {
    /// Counts of UTC offsets measured from CSI `@` stamps, as `(+HH:MM text, count)` sorted by text.
    pub fn csi_offset_counts(&self) -> Vec<(String, usize)> {
        let mut m = std::collections::BTreeMap::new();
        for o in self
            .offsets
            .iter()
            .filter(|o| o.source == OffsetSource::CsiStamp)
        {
            *m.entry(format_offset(o.minutes)).or_insert(0usize) += 1;
        }
        m.into_iter().collect()
    }
}

/// `+08:00` / `-07:00`.
pub fn format_offset(minutes: i32) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    let a = minutes.unsigned_abs();
    format!("{sign}{:02}:{:02}", a / 60, a % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::text::split_lines;

    #[test]
    fn entry_shapes() {
        let l = "2015-02-23 21:47:28, Info                  CSI    00000001@2015/2/24:02:47:28.458 WcpInitialize";
        let (ts, sev, comp, text) = split_entry(l).unwrap();
        assert_eq!((ts, sev, comp), ("2015-02-23 21:47:28", "Info", "CSI"));
        assert!(text.starts_with("00000001@"));
        assert!(split_entry("2020-02-04 17:17:12, Info                  CBS    ").is_some());
        assert!(split_entry("2020-02-04 17:17:12, Info                  CBS").is_none());
        assert!(split_entry("Total Operation Time: 123 seconds.").is_none());
        assert!(split_entry("2020-02-04 17:17:12,").is_none());
        let (p, f) = csi_prefix("0000031e@2023/5/23:16:17:27.204 (F) onecore").unwrap();
        assert!(f);
        assert_eq!(p.sequence, 0x31e);
        assert_eq!(p.utc.unwrap().to_string(), "2023-05-23 16:17:27.204");
        assert!(csi_prefix("000000e4 (F) Failed on regenerating").unwrap().1);
        assert!(csi_prefix("Hashes for").is_none());
    }

    #[test]
    fn offsets_attach() {
        let text = "2015-02-23 21:47:27, Info                  CBS    a\r\n\
                    2015-02-23 21:47:28, Info                  CSI    00000001@2015/2/24:02:47:28.458 WcpInitialize\r\n\
                    cont\r\n";
        let (lines, ends) = split_lines(text);
        let log = parse(&lines, ends, ReadStats::default());
        assert_eq!(log.entries.len(), 2);
        assert_eq!(log.stats.continuations, 1);
        assert_eq!(log.entries[0].utc_offset_minutes, Some(-300));
        assert_eq!(
            log.entries[0].time_utc.unwrap().to_rfc3339(),
            "2015-02-24T02:47:27+00:00"
        );
        assert_eq!(log.csi_offset_counts(), vec![("-05:00".to_string(), 1)]);
    }
}
