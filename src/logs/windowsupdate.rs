//! `WindowsUpdate.log` in both layouts (`format-logs.md` section 3).
//!
//! * Legacy (agent 7.x, written directly): six TAB-separated fields
//!   `YYYY-MM-DD`, `HH:MM:SS:mmm`, process id, thread id (hex), component, text. Local time; the
//!   `Logging initialized (build: ..., tz: +0530)` banner of each process gives its UTC offset.
//! * Converted (`Get-WindowsUpdateLog`, Windows 10 and later): fixed columns
//!   `YYYY/MM/DD HH:MM:SS.fffffff` (also `-` in the date), process id, thread id (both decimal),
//!   component padded to 16, text. Time zone of the converting machine (not recorded), so no UTC
//!   time is derived.

use super::text::{is_blank, LineEnds};
use super::{naive, ReadStats};
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use std::collections::HashMap;

/// Which layout a line (or file) has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WuLayout {
    /// `Get-WindowsUpdateLog` output.
    Converted,
    /// The pre-Windows 10 TAB-separated log.
    Legacy,
}

/// One WindowsUpdate.log record.
#[derive(Clone, Debug)]
pub struct WuLine {
    /// 1-based line number.
    pub line: usize,
    /// Layout of this line.
    pub layout: WuLayout,
    /// The timestamp exactly as written.
    pub stamp: String,
    /// Local wall-clock time as written (legacy: milliseconds; converted: 100 ns).
    pub time_local: Option<NaiveDateTime>,
    /// UTC time (legacy layout, from the process's `tz:` banner); `None` otherwise.
    pub time_utc: Option<DateTime<Utc>>,
    /// Process id.
    pub pid: u32,
    /// Thread id (legacy: written in hex; converted: decimal).
    pub tid: u32,
    /// Component (`Agent`, `AU`, `ComApi`, `DownloadManager` ...).
    pub component: String,
    /// Message text.
    pub text: String,
}

/// A parsed WindowsUpdate.log.
#[derive(Clone, Debug)]
pub struct WuLog {
    /// The layout most lines have.
    pub layout: WuLayout,
    /// Records in file order.
    pub lines: Vec<WuLine>,
    /// The file is Windows 10's placeholder ("Windows Update logs are now generated using ETW ...
    /// run the Get-WindowsUpdateLog PowerShell command"): it holds no records; its lines count as
    /// entries. Convert the ETW traces on the machine to get the real log.
    pub etw_stub: bool,
    /// Line accounting.
    pub stats: ReadStats,
}

/// First words of Windows 10's placeholder WindowsUpdate.log.
pub const ETW_STUB: &str = "Windows Update logs are now generated using ETW";

/// The fields of one line, as split by [`converted`] or [`legacy`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fields<'a> {
    /// Timestamp as written (legacy: date and time joined by a space).
    pub stamp: String,
    /// Local time.
    pub time: Option<NaiveDateTime>,
    /// Process id.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// Component.
    pub component: &'a str,
    /// Text.
    pub text: &'a str,
}

/// Parse a converted-layout line.
pub fn converted(line: &str) -> Option<Fields<'_>> {
    let b = line.as_bytes();
    let shape = b"dddd/dd/dd dd:dd:dd.ddddddd";
    if b.len() < shape.len() + 2 {
        return None;
    }
    for (i, s) in shape.iter().enumerate() {
        let ok = match s {
            b'd' => b[i].is_ascii_digit(),
            b'/' => b[i] == b'/' || b[i] == b'-',
            c => b[i] == *c,
        };
        if !ok {
            return None;
        }
    }
    if b[4] != b[7] {
        return None;
    }
    let stamp = &line[..27];
    let mut rest = &line[27..];
    let mut num = || -> Option<u32> {
        let r = rest.trim_start_matches(' ');
        if r.len() == rest.len() {
            return None;
        }
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        let v = r[..n].parse::<u64>().ok()?;
        rest = &r[n..];
        Some(v as u32)
    };
    let pid = num()?;
    let tid = num()?;
    let r = rest.trim_start_matches(' ');
    if r.len() == rest.len() {
        return None;
    }
    let comp_start = line.len() - r.len();
    let clen = r.find(char::is_whitespace)?;
    if clen == 0 {
        return None;
    }
    let comp = &r[..clen];
    // text starts after the 16-column component field (or one blank after a longer name)
    let after = &r[clen..];
    let pad_end = (comp_start + 16).max(comp_start + clen + 1);
    let text = if pad_end <= line.len()
        && line.is_char_boundary(pad_end)
        && line[comp_start + clen..pad_end].trim().is_empty()
    {
        &line[pad_end..]
    } else {
        after.trim_start()
    };
    let n = |r: std::ops::Range<usize>| stamp.get(r).and_then(|t| t.parse::<u32>().ok());
    let t = (|| {
        naive(
            n(0..4)? as i32,
            n(5..7)?,
            n(8..10)?,
            n(11..13)?,
            n(14..16)?,
            n(17..19)?,
            n(20..27)? * 100,
        )
    })();
    Some(Fields {
        stamp: stamp.to_string(),
        time: t,
        pid,
        tid,
        component: comp,
        text,
    })
}

/// Parse a legacy-layout line.
pub fn legacy(line: &str) -> Option<Fields<'_>> {
    let mut f = line.splitn(6, '\t');
    let date = f.next()?;
    let time = f.next()?;
    let pid = f.next()?;
    let tid = f.next()?;
    let comp = f.next()?;
    let text = f.next()?;
    let db = date.as_bytes();
    if db.len() != 10
        || db[4] != b'-'
        || db[7] != b'-'
        || ![0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|&i| db[i].is_ascii_digit())
    {
        return None;
    }
    let tb = time.as_bytes();
    if tb.len() != 12
        || tb[2] != b':'
        || tb[5] != b':'
        || tb[8] != b':'
        || ![0, 1, 3, 4, 6, 7, 9, 10, 11]
            .iter()
            .all(|&i| tb[i].is_ascii_digit())
    {
        return None;
    }
    let hex = |s: &str| -> Option<u32> {
        let s = s.trim_start_matches(' ');
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_hexdigit()))
            .then(|| u32::from_str_radix(s, 16).ok())
            .flatten()
    };
    let pid_s = pid.trim_start_matches(' ');
    let pid_v = if pid_s.bytes().all(|c| c.is_ascii_digit()) {
        pid_s.parse().ok()?
    } else {
        hex(pid)?
    };
    let tid_v = hex(tid)?;
    let n = |s: &str, r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<u32>().ok());
    let t = (|| {
        naive(
            n(date, 0..4)? as i32,
            n(date, 5..7)?,
            n(date, 8..10)?,
            n(time, 0..2)?,
            n(time, 3..5)?,
            n(time, 6..8)?,
            n(time, 9..12)? * 1_000_000,
        )
    })();
    Some(Fields {
        stamp: format!("{date} {time}"),
        time: t,
        pid: pid_v,
        tid: tid_v,
        component: comp.trim(),
        text,
    })
}

/// `tz: +0530` in a `Logging initialized` banner -> minutes east of UTC.
fn banner_offset(text: &str) -> Option<i32> {
    if !text.contains("Logging initialized") {
        return None;
    }
    let i = text.find("tz: ")?;
    let z = text.get(i + 4..i + 9)?;
    let sign = match z.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let h: i32 = z.get(1..3)?.parse().ok()?;
    let m: i32 = z.get(3..5)?.parse().ok()?;
    Some(sign * (h * 60 + m))
}

/// Read a WindowsUpdate.log from its physical lines.
pub fn parse(lines: &[&str], ends: LineEnds, mut stats: ReadStats) -> WuLog {
    stats.lines = ends.lines;
    let mut out = Vec::with_capacity(lines.len());
    let (mut nconv, mut nleg) = (0usize, 0usize);
    let mut tz_by_pid: HashMap<u32, i32> = HashMap::new();
    let mut tz_last: Option<i32> = None;
    let etw_stub = lines
        .iter()
        .find(|l| !is_blank(l))
        .is_some_and(|l| l.contains(ETW_STUB));
    for (i, &line) in lines.iter().enumerate() {
        let no = i + 1;
        if is_blank(line) {
            stats.blank += 1;
            stats.separators += 1;
            continue;
        }
        if let Some(f) = converted(line) {
            nconv += 1;
            stats.entries += 1;
            out.push(WuLine {
                line: no,
                layout: WuLayout::Converted,
                stamp: f.stamp,
                time_local: f.time,
                time_utc: None,
                pid: f.pid,
                tid: f.tid,
                component: f.component.to_string(),
                text: f.text.to_string(),
            });
            continue;
        }
        if let Some(f) = legacy(line) {
            nleg += 1;
            stats.entries += 1;
            if let Some(off) = banner_offset(f.text) {
                tz_by_pid.insert(f.pid, off);
                tz_last = Some(off);
            }
            let off = tz_by_pid.get(&f.pid).copied().or(tz_last);
            let (t, pid, tid, comp, text) = (f.time, f.pid, f.tid, f.component, f.text);
            out.push(WuLine {
                line: no,
                layout: WuLayout::Legacy,
                stamp: f.stamp,
                time_local: t,
                time_utc: off
                    .and_then(|o| t.map(|t| (t - TimeDelta::minutes(i64::from(o))).and_utc())),
                pid,
                tid,
                component: comp.to_string(),
                text: text.to_string(),
            });
            continue;
        }
        if etw_stub && out.is_empty() {
            stats.entries += 1;
        } else {
            stats.unparsed.push(no);
        }
    }
    // Legacy lines before the first banner: the first banner of the file.
    if let Some(first) = out.iter().find_map(|l| {
        (l.layout == WuLayout::Legacy)
            .then(|| banner_offset(&l.text))
            .flatten()
    }) {
        for l in out
            .iter_mut()
            .filter(|l| l.layout == WuLayout::Legacy && l.time_utc.is_none())
        {
            l.time_utc = l
                .time_local
                .map(|t| (t - TimeDelta::minutes(i64::from(first))).and_utc());
        }
    }
    WuLog {
        layout: if nleg > nconv {
            WuLayout::Legacy
        } else {
            WuLayout::Converted
        },
        lines: out,
        etw_stub,
        stats,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_layouts() {
        let c = converted("2023/05/22 08:08:32.6295131 8096  8116  Shared          InitializeSus")
            .unwrap();
        assert_eq!(
            (c.pid, c.tid, c.component, c.text),
            (8096, 8116, "Shared", "InitializeSus")
        );
        assert_eq!(c.time.unwrap().to_string(), "2023-05-22 08:08:32.629513100");
        let c = converted("2024-04-11 12:48:04.6269606 12520 10280 DownloadManager   x").unwrap();
        assert_eq!((c.component, c.text), ("DownloadManager", "  x"));
        assert!(converted("2023/05-22 08:08:32.6295131 1 2 X y").is_none());
        let l = legacy("2021-08-28\t11:05:07:920\t 576\ta70\tMisc\t===========  Logging initialized (build: 7.6.7600.256, tz: +0530)  ===========").unwrap();
        assert_eq!((l.pid, l.tid, l.component), (576, 0xa70, "Misc"));
        assert_eq!(banner_offset(l.text), Some(330));
        assert!(legacy("2021-08-28\t11:05:07:920\t 576\ta70\tMisc").is_none());
        let stub = "Windows Update logs are now generated using ETW (Event Tracing for Windows).\r\n\
                    Please run the Get-WindowsUpdateLog PowerShell command to convert ETW traces into a readable WindowsUpdate.log.\r\n\
                    \r\n\
                    For more information, please visit https://go.microsoft.com/fwlink/?LinkId=518345\r\n";
        let (l, e) = crate::logs::text::split_lines(stub);
        let w = parse(&l, e, ReadStats::default());
        assert!(
            w.etw_stub && w.lines.is_empty() && w.stats.unparsed.is_empty() && w.stats.accounted()
        );
        assert_eq!(
            crate::logs::sniff(stub.as_bytes()),
            crate::logs::LogKind::WindowsUpdate
        );
    }
}
