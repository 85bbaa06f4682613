//! `setupapi.dev.log`, `setupapi.app.log`, `setupapi.offline.log` and their rotated copies
//! (`setupapi.dev.20220507_052432.log`): the device-installation text logs
//! (`format-logs.md` section 2).
//!
//! Layout: a header (`[Device Install Log]` and `Key = Value` lines), `[BeginLog]`, one
//! `[Boot Session: YYYY/MM/DD HH:MM:SS.mmm]` line per boot, then sections:
//! `>>>  [title]`, `>>>  Section start <time>`, body lines, `<<<  Section end <time>`,
//! `<<<  [Exit status: X]`. Body lines are a 5-character marker (`!!!  ` error, `!    ` warning,
//! spaces), a tag (`sto:`, `inf:` ...) and text indented 5 spaces per nesting level; operations
//! open with `{Name[: argument]} HH:MM:SS.mmm` and close with `{Name: exit(0x...)}` (also
//! `{Name - exit(0x...)}`, `{Name exit(0x...)}`, `exit (0x...)`, `exit(00000000)`).
//! All times are local wall-clock times as written; the log has no zone information.

use super::codes::{codes_in, normalize};
use super::text::{is_blank, LineEnds};
use super::{naive, ReadStats};
use chrono::{NaiveDateTime, NaiveTime};

/// Severity marker of a body line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
    /// Five spaces: normal.
    Normal,
    /// `!`: warning.
    Warning,
    /// `!!!`: error.
    Error,
}

/// One body line of a section.
#[derive(Clone, Debug)]
pub struct BodyLine {
    /// 1-based line number.
    pub line: usize,
    /// Severity marker.
    pub marker: Marker,
    /// Tag without the colon (`sto`, `inf`, `cmd`, `os` ...).
    pub tag: String,
    /// Nesting depth (indentation after the tag, 5 spaces per level).
    pub depth: usize,
    /// Text after the indentation (including a trailing time stamp, if any).
    pub text: String,
    /// Index into [`SetupApiLog::sections`] of the enclosing section.
    pub section: Option<usize>,
    /// Index into [`SetupApiLog::blocks`] of the innermost enclosing `{...}` block (the block
    /// itself for its own open and close lines).
    pub block: Option<usize>,
    /// Continuation lines (line number, text) that followed this line without a marker or tag.
    pub continuation: Vec<(usize, String)>,
}

/// A `{Name[: argument]} ... {Name: exit(0x...)}` operation block.
#[derive(Clone, Debug)]
pub struct Block {
    /// Operation name (`Add Service`, `Reflect Driver`, `FILE_QUEUE_COMMIT`).
    pub name: String,
    /// Argument after `: ` or ` - ` (`AmdK8`, an INF path), if any.
    pub arg: Option<String>,
    /// Line of the opening `{...}`.
    pub open_line: usize,
    /// Local time of day on the opening line, if written.
    pub open_time: Option<NaiveTime>,
    /// Line of the closing `{...exit(...)}`; `None` if it never closed.
    pub close_line: Option<usize>,
    /// Local time of day on the closing line, if written.
    pub close_time: Option<NaiveTime>,
    /// Exit value, normalised (Win32 codes become HRESULTs: 5 -> 0x80070005; 0 stays 0).
    pub exit: Option<u32>,
    /// Exit value exactly as written in hex (`0x00000005`, `00000000`).
    pub exit_raw: Option<String>,
    /// Enclosing block.
    pub parent: Option<usize>,
    /// Enclosing section.
    pub section: Option<usize>,
    /// Nesting depth of the open line.
    pub depth: usize,
}

/// Outcome written on `<<<  [Exit status: X]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExitStatus {
    /// Text between `Exit status: ` and `]` (`SUCCESS`, `SUCCESS (REBOOT_REQUIRED)`, `FAILURE(0xe0000247)`).
    pub text: String,
    /// Starts with `SUCCESS`.
    pub success: bool,
    /// The hex code of `FAILURE(0x...)`, normalised.
    pub code: Option<u32>,
}

/// One `>>>  [title]` section.
#[derive(Clone, Debug)]
pub struct Section {
    /// Line of `>>>  [title]`.
    pub line: usize,
    /// The title.
    pub title: String,
    /// Title before ` - ` (`Device Install (UpdateDriverForPlugAndPlayDevices)`, `Install Driver Updates`).
    pub kind: String,
    /// Title after ` - ` (device id, INF path, hive name), if any.
    pub object: Option<String>,
    /// Local start time (`Section start`).
    pub start: Option<NaiveDateTime>,
    /// Local end time (`Section end`).
    pub end: Option<NaiveDateTime>,
    /// Exit status line.
    pub exit: Option<ExitStatus>,
    /// Line of the exit status.
    pub exit_line: Option<usize>,
    /// Index into [`SetupApiLog::boots`] of the boot session this section belongs to.
    pub boot: Option<usize>,
}

/// `[Boot Session: ...]`.
#[derive(Clone, Debug)]
pub struct BootSession {
    /// Line number.
    pub line: usize,
    /// Local boot time.
    pub time: Option<NaiveDateTime>,
}

/// A parsed setupapi log.
#[derive(Clone, Debug, Default)]
pub struct SetupApiLog {
    /// Header `Key = Value` pairs (`OS Version`, `ProductType`, `Architecture` ...).
    pub header: Vec<(String, String)>,
    /// Boot sessions.
    pub boots: Vec<BootSession>,
    /// Sections in file order.
    pub sections: Vec<Section>,
    /// Every body line.
    pub body: Vec<BodyLine>,
    /// Every operation block.
    pub blocks: Vec<Block>,
    /// Blocks closed implicitly (section ended, or a close that matched an outer block).
    pub unclosed_blocks: usize,
    /// Line accounting.
    pub stats: ReadStats,
}

/// Parse `YYYY/MM/DD HH:MM:SS.mmm` (also with `-` in the date).
pub fn parse_time(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    let n = |r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<u32>().ok());
    let sep_ok =
        matches!(s.as_bytes().get(4), Some(b'/' | b'-')) && s.as_bytes().get(10) == Some(&b' ');
    if !sep_ok {
        return None;
    }
    let ms = if s.as_bytes().get(19) == Some(&b'.') {
        n(20..23).unwrap_or(0)
    } else {
        0
    };
    naive(
        n(0..4)? as i32,
        n(5..7)?,
        n(8..10)?,
        n(11..13)?,
        n(14..16)?,
        n(17..19)?,
        ms * 1_000_000,
    )
}

/// A trailing ` HH:MM:SS.mmm` on a block line.
fn trailing_time(text: &str) -> (&str, Option<NaiveTime>) {
    let t = text.trim_end();
    if t.len() >= 13 && t.is_char_boundary(t.len() - 12) {
        let (head, tail) = t.split_at(t.len() - 12);
        let b = tail.as_bytes();
        let shape = b[2] == b':' && b[5] == b':' && b[8] == b'.';
        let digits = [0, 1, 3, 4, 6, 7, 9, 10, 11]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
        if shape && digits && head.ends_with(' ') {
            let p = |r: std::ops::Range<usize>| tail[r].parse::<u32>().unwrap_or(99);
            return (
                head.trim_end(),
                NaiveTime::from_hms_milli_opt(p(0..2), p(3..5), p(6..8), p(9..12)),
            );
        }
    }
    (t, None)
}

/// A block line: `{Name: arg}` (open) or `{Name: exit(0x...)}` (close).
enum BlockLine {
    Open {
        name: String,
        arg: Option<String>,
    },
    Close {
        name: String,
        raw: Option<String>,
        code: Option<u32>,
    },
}

/// Parse a `{...}` block line. Closing spellings seen in real logs: `{Name: exit(0x...)}`,
/// `{Name - exit(0x...)}`, `{Name exit(0x...)}`, `{Name - exit (0x...)}`, `{Name - exit(00000000)}`,
/// `{Name - exit(0x00000000}` (no closing parenthesis), `{Name exit}` (no code) and
/// `{Name - Complete}`; the name may carry the start of the argument
/// (`{Plug and Play Service: Device Install exit(00000000)}`).
fn block_line(text: &str) -> Option<BlockLine> {
    let inner = text.strip_prefix('{')?.strip_suffix('}')?;
    if let Some(c) = close_of(inner) {
        return Some(c);
    }
    let (name, arg) = match (inner.find(": "), inner.find(" - ")) {
        (Some(a), Some(b)) if b < a => (&inner[..b], Some(&inner[b + 3..])),
        (Some(a), _) => (&inner[..a], Some(&inner[a + 2..])),
        (None, Some(b)) => (&inner[..b], Some(&inner[b + 3..])),
        (None, None) => (inner, None),
    };
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    Some(BlockLine::Open {
        name: name.to_string(),
        arg: arg.map(|a| a.trim().to_string()).filter(|a| !a.is_empty()),
    })
}

fn close_of(inner: &str) -> Option<BlockLine> {
    let body = inner.trim_end();
    let tidy = |n: &str| {
        n.trim_end()
            .trim_end_matches([':', '-'])
            .trim_end()
            .to_string()
    };
    if let Some(n) = body.strip_suffix(" - Complete") {
        return Some(BlockLine::Close {
            name: tidy(n),
            raw: None,
            code: None,
        });
    }
    let k = body.rfind("exit")?;
    let before = &body[..k];
    if !(before.is_empty() || before.ends_with([' ', ':', '-'])) {
        return None;
    }
    let after = body[k + 4..].trim_start();
    if after.is_empty() {
        return Some(BlockLine::Close {
            name: tidy(before),
            raw: None,
            code: None,
        });
    }
    let hex = after.strip_prefix('(')?.trim_end_matches(')').trim();
    let digits = hex.trim_start_matches("0x").trim_start_matches("0X");
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    Some(BlockLine::Close {
        name: tidy(before),
        raw: Some(hex.to_string()),
        code: u32::from_str_radix(digits, 16).ok().map(normalize),
    })
}

/// Does a close line's name `close` end the block `b`? Same name, or the block's
/// `name: argument` text starts with it at a word end.
fn closes(b: &Block, close: &str) -> bool {
    if b.name.eq_ignore_ascii_case(close) {
        return true;
    }
    let full = match &b.arg {
        Some(a) => format!("{}: {}", b.name, a),
        None => b.name.clone(),
    };
    full.len() > close.len()
        && full.is_char_boundary(close.len())
        && full[..close.len()].eq_ignore_ascii_case(close)
        && matches!(full.as_bytes()[close.len()], b' ' | b':' | b'-')
}

/// Split a body line into (marker, tag, depth, text).
fn body_line(line: &str) -> Option<(Marker, &str, usize, &str)> {
    let (marker, rest) = if let Some(r) = line.strip_prefix("!!!") {
        (Marker::Error, r)
    } else if let Some(r) = line.strip_prefix('!') {
        (Marker::Warning, r)
    } else {
        (Marker::Normal, line)
    };
    let lead = rest.len() - rest.trim_start_matches(' ').len();
    if lead == 0 && marker == Marker::Normal {
        return None;
    }
    let rest = &rest[lead..];
    let tag_len = rest.bytes().take_while(u8::is_ascii_lowercase).count();
    if !(2..=4).contains(&tag_len) || rest.as_bytes().get(tag_len) != Some(&b':') {
        return None;
    }
    let tag = &rest[..tag_len];
    let after = &rest[tag_len + 1..];
    if !(after.is_empty() || after.starts_with(' ')) {
        return None;
    }
    let spaces = after.len() - after.trim_start_matches(' ').len();
    let depth = spaces.saturating_sub(1) / 5;
    Some((marker, tag, depth, &after[spaces..]))
}

/// Read a setupapi log from its physical lines.
pub fn parse(lines: &[&str], ends: LineEnds, mut stats: ReadStats) -> SetupApiLog {
    let mut log = SetupApiLog::default();
    stats.lines = ends.lines;
    let mut in_header = true;
    let mut cur: Option<usize> = None; // current section
    let mut stack: Vec<usize> = Vec::new(); // open blocks
    for (i, &line) in lines.iter().enumerate() {
        let no = i + 1;
        if is_blank(line) {
            stats.blank += 1;
            stats.separators += 1;
            continue;
        }
        let t = line.trim_end();
        // file structure
        let log_title =
            t.starts_with('[') && t.ends_with(" Log]") && !t.starts_with("[Boot Session");
        if log_title || t == "[BeginLog]" {
            in_header = t != "[BeginLog]";
            stats.entries += 1;
            continue;
        }
        if let Some(r) = t.strip_prefix("[Boot Session:") {
            in_header = false;
            log.boots.push(BootSession {
                line: no,
                time: parse_time(r.trim_end_matches(']')),
            });
            stats.entries += 1;
            continue;
        }
        if let Some(r) = t.strip_prefix(">>>  ") {
            in_header = false;
            if let Some(title) = r.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
                log.unclosed_blocks += stack.len();
                stack.clear();
                let (kind, object) = match title.split_once(" - ") {
                    Some((k, o)) => (k.to_string(), Some(o.to_string())),
                    None => (title.to_string(), None),
                };
                log.sections.push(Section {
                    line: no,
                    title: title.to_string(),
                    kind,
                    object,
                    start: None,
                    end: None,
                    exit: None,
                    exit_line: None,
                    boot: log.boots.len().checked_sub(1),
                });
                cur = Some(log.sections.len() - 1);
                stats.entries += 1;
                continue;
            }
            if let Some(ts) = section_time(r, "Section start") {
                if let Some(s) = cur.and_then(|c| log.sections.get_mut(c)) {
                    if s.start.is_none() {
                        s.start = ts;
                    }
                }
                stats.entries += 1;
                continue;
            }
        }
        if let Some(r) = t.strip_prefix("<<<  ") {
            if let Some(ts) = section_time(r, "Section end") {
                if let Some(s) = cur.and_then(|c| log.sections.get_mut(c)) {
                    s.end = ts;
                }
                stats.entries += 1;
                continue;
            }
            if let Some(x) = r
                .strip_prefix("[Exit status:")
                .and_then(|x| x.strip_suffix(']'))
            {
                let x = x.trim();
                let code = x
                    .strip_prefix("FAILURE")
                    .map(|f| f.trim().trim_start_matches('(').trim_end_matches(')'))
                    .and_then(|h| {
                        u32::from_str_radix(h.trim_start_matches("0x").trim_start_matches("0X"), 16)
                            .ok()
                    })
                    .map(normalize);
                if let Some(s) = cur.and_then(|c| log.sections.get_mut(c)) {
                    s.exit = Some(ExitStatus {
                        text: x.to_string(),
                        success: x.starts_with("SUCCESS"),
                        code,
                    });
                    s.exit_line = Some(no);
                }
                log.unclosed_blocks += stack.len();
                stack.clear();
                cur = None;
                stats.entries += 1;
                continue;
            }
        }
        let body = body_line(line);
        if in_header && body.is_none() {
            if let Some((k, v)) = t.split_once('=') {
                if line.starts_with(' ') {
                    log.header
                        .push((k.trim().to_string(), v.trim().to_string()));
                    stats.entries += 1;
                    continue;
                }
            }
        }
        if let Some((marker, tag, depth, text)) = body {
            in_header = false;
            let (core, time) = trailing_time(text);
            let mut block_ix = stack.last().copied();
            match block_line(core) {
                Some(BlockLine::Open { name, arg }) => {
                    log.blocks.push(Block {
                        name,
                        arg,
                        open_line: no,
                        open_time: time,
                        close_line: None,
                        close_time: None,
                        exit: None,
                        exit_raw: None,
                        parent: stack.last().copied(),
                        section: cur,
                        depth,
                    });
                    let ix = log.blocks.len() - 1;
                    stack.push(ix);
                    block_ix = Some(ix);
                }
                Some(BlockLine::Close { name, raw, code }) => {
                    if let Some(pos) = stack.iter().rposition(|&b| closes(&log.blocks[b], &name)) {
                        log.unclosed_blocks += stack.len() - pos - 1;
                        let ix = stack[pos];
                        stack.truncate(pos);
                        let b = &mut log.blocks[ix];
                        b.close_line = Some(no);
                        b.close_time = time;
                        b.exit = code;
                        b.exit_raw = raw;
                        block_ix = Some(ix);
                    }
                }
                None => {}
            }
            log.body.push(BodyLine {
                line: no,
                marker,
                tag: tag.to_string(),
                depth,
                text: text.to_string(),
                section: cur,
                block: block_ix,
                continuation: Vec::new(),
            });
            stats.entries += 1;
            continue;
        }
        // Not structure, not a body line: a continuation of the body line above, else unparsed.
        match log.body.last_mut() {
            Some(b) if cur.is_some() && b.section == cur => {
                b.continuation.push((no, line.to_string()));
                stats.continuations += 1;
            }
            _ => stats.unparsed.push(no),
        }
    }
    log.unclosed_blocks += stack.len();
    log.stats = stats;
    log
}

/// `Section start 2024/04/09 23:20:50.348` (current layout) or
/// `2005/02/13 22:06:28.109: Section start` (older layout).
fn section_time(r: &str, word: &str) -> Option<Option<NaiveDateTime>> {
    if let Some(ts) = r.strip_prefix(word) {
        return Some(parse_time(ts));
    }
    let (ts, w) = r.split_once(": ")?;
    (w.trim() == word).then(|| parse_time(ts))
}

impl SetupApiLog {
    /// Context of a body line for the classifier: enclosing blocks innermost first, written as in
    /// the log (`{Add Service: AmdK8}`), then the section title (`[Install Driver Updates]`).
    pub fn context(&self, body: &BodyLine) -> Vec<String> {
        let mut out = Vec::new();
        let mut b = body.block;
        // A close line's own block is closed by it; an open line's own block is open: both count.
        // At most 16 levels (real logs nest about 8 deep).
        while let Some(ix) = b {
            if out.len() >= 16 {
                break;
            }
            let Some(blk) = self.blocks.get(ix) else {
                break;
            };
            out.push(match &blk.arg {
                Some(a) => format!("{{{}: {}}}", blk.name, a),
                None => format!("{{{}}}", blk.name),
            });
            b = blk.parent;
        }
        if let Some(s) = body.section.and_then(|s| self.sections.get(s)) {
            out.push(format!("[{}]", s.title));
        }
        out
    }

    /// Local date and time of a body line: the time of day written on it (or on its block),
    /// on the date of its section start; else the section start.
    pub fn body_time(&self, body: &BodyLine) -> Option<NaiveDateTime> {
        let sec = body.section.and_then(|s| self.sections.get(s))?;
        let start = sec.start?;
        let (_, own) = trailing_time(&body.text);
        let tod = own.or_else(|| {
            let mut b = body.block;
            while let Some(ix) = b {
                let blk = self.blocks.get(ix)?;
                if let Some(t) = blk.open_time {
                    return Some(t);
                }
                b = blk.parent;
            }
            None
        });
        Some(match tod {
            Some(t) => {
                let d = start.date().and_time(t);
                if d < start - chrono::TimeDelta::minutes(1) {
                    d + chrono::TimeDelta::days(1) // section ran past midnight
                } else {
                    d
                }
            }
            None => start,
        })
    }

    /// Error codes on a body line (`Error = 0x00000005`, `exit(0x...)`), normalised.
    pub fn body_codes(body: &BodyLine) -> Vec<u32> {
        codes_in(&body.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::text::split_lines;

    const CASE_A: &str = "\
>>>  [Install Driver Updates]
>>>  Section start 2024/09/10 10:44:37.000
     sto:      {Reflect Driver: AMD K8 Processor} 10:44:37.100
     sto:           Section Name = AmdK8_Inst.NT
     sto:           Hardware Id  = ACPI\\AuthenticAMD_-_x86_Family_15_Model_4
     sto:           {Add Service: AmdK8}
     sto:                Updating existing service 'AmdK8'.
!!!  sto:                Failed to set Start Type. Error = 0x00000005
     sto:           {Add Service: exit(0x00000005)}
     sto:      {Reflect Driver: exit(0x00000005)}
!!!  sto: Failed to reflect driver package. Time = 6926 ms, Error = 0x00000005
!!!  sto: Failed to reflect all driver updates. Error = 0x00000005
<<<  Section end 2024/09/10 10:44:44.000
<<<  [Exit status: FAILURE(0x00000005)]
";

    #[test]
    fn case_a_blocks() {
        let (lines, ends) = split_lines(CASE_A);
        let log = parse(&lines, ends, ReadStats::default());
        assert_eq!(log.stats.unparsed, Vec::<usize>::new());
        assert_eq!(log.sections.len(), 1);
        let s = &log.sections[0];
        assert_eq!(s.exit.as_ref().unwrap().code, Some(0x80070005));
        assert!(!s.exit.as_ref().unwrap().success);
        let add = log.blocks.iter().find(|b| b.name == "Add Service").unwrap();
        assert_eq!(add.arg.as_deref(), Some("AmdK8"));
        assert_eq!(add.exit, Some(0x80070005));
        let bad = log
            .body
            .iter()
            .find(|b| b.text.contains("Start Type"))
            .unwrap();
        assert_eq!(bad.marker, Marker::Error);
        assert_eq!(
            log.context(bad),
            vec![
                "{Add Service: AmdK8}",
                "{Reflect Driver: AMD K8 Processor}",
                "[Install Driver Updates]"
            ]
        );
        assert_eq!(
            log.body_time(bad).unwrap().to_string(),
            "2024-09-10 10:44:37.100"
        );
    }

    #[test]
    fn close_spellings() {
        for (t, name) in [
            (
                "{FILE_QUEUE_COMMIT - exit(0x00000000)}",
                "FILE_QUEUE_COMMIT",
            ),
            (
                "{_VERIFY_FILE_SIGNATURE exit(0x00000000)}",
                "_VERIFY_FILE_SIGNATURE",
            ),
            (
                "{Driver Setup Delete Driver Package - exit (0x00000000)}",
                "Driver Setup Delete Driver Package",
            ),
            (
                "{DrvSetupUninstallDriver - exit(00000000)}",
                "DrvSetupUninstallDriver",
            ),
            ("{Select Drivers - exit(0x00000000}", "Select Drivers"),
            (
                "{Plug and Play Service: Device Install exit(00000000)}",
                "Plug and Play Service: Device Install",
            ),
        ] {
            match block_line(t) {
                Some(BlockLine::Close { name: n, code, .. }) => {
                    assert_eq!(n, name);
                    assert_eq!(code, Some(0));
                }
                _ => panic!("{t}"),
            }
        }
        match block_line("{Configure Device Setup Class: {d61ca365-5af4-4486-998b-9db4734c6ca3}}") {
            Some(BlockLine::Open { name, arg }) => {
                assert_eq!(name, "Configure Device Setup Class");
                assert_eq!(
                    arg.as_deref(),
                    Some("{d61ca365-5af4-4486-998b-9db4734c6ca3}")
                );
            }
            _ => panic!(),
        }
        assert_eq!(
            trailing_time("{DIF_ALLOW_INSTALL} 09:06:07.596").0,
            "{DIF_ALLOW_INSTALL}"
        );
        for t in [
            "{Restarting Devices exit}",
            "{Writing Device Properties - Complete}",
        ] {
            assert!(
                matches!(block_line(t), Some(BlockLine::Close { code: None, .. })),
                "{t}"
            );
        }
        assert!(matches!(
            block_line("{Run: exit.exe}"),
            Some(BlockLine::Open { .. })
        ));
    }
}
