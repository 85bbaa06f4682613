//! `fltmc` output (`format-logs.md` section 5): `fltmc filters`, `fltmc instances`, the
//! "listing failed" error text, and a header-less filter list of name and two numbers per row
//! (an unknown collector's format, `appostarsi_FilterList_5_23.log`).
//!
//! Tables are split by the dashed ruler's column spans (header words may be localised), and by
//! runs of two or more spaces when there is no ruler. Altitudes stay decimal strings
//! (`385250.5`): compare them as strings or decimals, never as floats.

use super::text::{is_blank, LineEnds};
use super::ReadStats;

/// One row of `fltmc filters`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterRow {
    /// 1-based line number.
    pub line: usize,
    /// Filter name.
    pub name: String,
    /// Number of instances (`None` for legacy filters, which print none).
    pub instances: Option<u32>,
    /// Altitude as written.
    pub altitude: Option<String>,
    /// Frame number; `None` for `<Legacy>`.
    pub frame: Option<u32>,
    /// The frame column says `<Legacy>`: a legacy (non-minifilter) filter driver.
    pub legacy: bool,
}

/// One row of `fltmc instances`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceRow {
    /// 1-based line number.
    pub line: usize,
    /// Filter name.
    pub filter: String,
    /// Volume name (`C:`, `\Device\Mup`).
    pub volume: String,
    /// Altitude as written.
    pub altitude: Option<String>,
    /// Instance name.
    pub instance: String,
    /// Frame number.
    pub frame: Option<u32>,
    /// Remaining columns (supported features, volume status ...), as written.
    pub extra: Vec<String>,
}

/// One row of the header-less list: a name and two numbers (probably instances and frame).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListRow {
    /// 1-based line number.
    pub line: usize,
    /// Filter name.
    pub name: String,
    /// First number (instances, most likely).
    pub first: u64,
    /// Second number (frame, most likely).
    pub second: u64,
}

/// What the output holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FltmcTable {
    /// `fltmc filters` (or plain `fltmc`).
    Filters(Vec<FilterRow>),
    /// `fltmc instances`.
    Instances(Vec<InstanceRow>),
    /// Header-less name / number / number list.
    List(Vec<ListRow>),
    /// `Filter listing failed with error: 0x80070005` (not elevated): no table.
    Failed {
        /// The code printed.
        code: Option<u32>,
        /// The message lines.
        message: Vec<String>,
    },
}

/// Parsed `fltmc` output.
#[derive(Clone, Debug)]
pub struct FltmcOutput {
    /// The table.
    pub table: FltmcTable,
    /// Line accounting (header and ruler lines count as entries).
    pub stats: ReadStats,
}

/// Column spans (byte ranges) of a dashed ruler line such as `-----  ------  --`.
fn ruler_spans(line: &str) -> Option<Vec<(usize, usize)>> {
    let t = line.trim_end();
    if t.is_empty() || !t.trim_start().starts_with('-') || !t.chars().all(|c| c == '-' || c == ' ')
    {
        return None;
    }
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in t.char_indices() {
        match (c, start) {
            ('-', None) => start = Some(i),
            (' ', Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, t.len()));
    }
    (spans.len() >= 3).then_some(spans)
}

/// Split a row by ruler spans: each cell runs from its span's start to the next span's start,
/// widened to whole words (right-aligned numbers may start left of their span).
fn cells_by_spans(line: &str, spans: &[(usize, usize)]) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut bounds: Vec<usize> = spans.iter().map(|s| s.0).collect();
    bounds[0] = 0;
    // Move each boundary left/right to a blank so that no word is cut.
    for b in bounds.iter_mut().skip(1) {
        while *b > 0 && *b < chars.len() && chars[*b] != ' ' && chars[*b - 1] != ' ' {
            *b -= 1;
        }
    }
    (0..bounds.len())
        .map(|i| {
            let a = bounds[i].min(chars.len());
            let z = bounds
                .get(i + 1)
                .copied()
                .unwrap_or(chars.len())
                .min(chars.len())
                .max(a);
            chars[a..z].iter().collect::<String>().trim().to_string()
        })
        .collect()
}

/// Split on runs of two or more spaces (or TABs).
fn cells_by_gaps(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut spaces = 0;
    for c in line.trim().chars() {
        if c == ' ' || c == '\t' {
            spaces += if c == '\t' { 2 } else { 1 };
            continue;
        }
        if spaces >= 2 && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        } else if spaces == 1 {
            cur.push(' ');
        }
        spaces = 0;
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A header-less list row: `name  number  number`.
fn list_row(line: &str) -> Option<(String, u64, u64)> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() != 3 {
        return None;
    }
    Some((f[0].to_string(), f[1].parse().ok()?, f[2].parse().ok()?))
}

/// True when the lines look like any `fltmc` output this module reads.
pub fn looks_like(lines: &[&str]) -> bool {
    let nonblank: Vec<&&str> = lines.iter().filter(|l| !is_blank(l)).take(40).collect();
    if nonblank.is_empty() {
        return false;
    }
    if nonblank.iter().take(6).any(|l| ruler_spans(l).is_some()) {
        return true;
    }
    if nonblank
        .iter()
        .any(|l| l.contains("Filter listing failed") || l.contains("Instance listing failed"))
    {
        return true;
    }
    nonblank.iter().all(|l| list_row(l).is_some())
}

fn num(s: &str) -> Option<u32> {
    s.trim().parse().ok()
}

/// Read `fltmc` output from its physical lines.
pub fn parse(lines: &[&str], ends: LineEnds, mut stats: ReadStats) -> FltmcOutput {
    stats.lines = ends.lines;
    let ruler = lines.iter().position(|l| ruler_spans(l).is_some());
    let mut filters = Vec::new();
    let mut instances = Vec::new();
    let mut list = Vec::new();
    let mut failed: Option<(Option<u32>, Vec<String>)> = None;
    let spans = ruler.and_then(|r| ruler_spans(lines[r]));
    let header_cols = ruler
        .and_then(|r| r.checked_sub(1))
        .map(|h| cells_by_gaps(lines[h]).len())
        .unwrap_or(0);
    let is_instances = spans.as_ref().is_some_and(|s| s.len() >= 5) || header_cols >= 5;
    for (i, &line) in lines.iter().enumerate() {
        let no = i + 1;
        if is_blank(line) {
            stats.blank += 1;
            stats.separators += 1;
            continue;
        }
        if line.contains("listing failed with error") {
            let code = line
                .rsplit(':')
                .next()
                .and_then(|c| super::codes::parse_code(c.trim()));
            failed = Some((code, vec![line.trim().to_string()]));
            stats.entries += 1;
            continue;
        }
        if let Some((_, msg)) = failed.as_mut() {
            msg.push(line.trim().to_string());
            stats.continuations += 1;
            continue;
        }
        match (ruler, &spans) {
            (Some(r), Some(_)) if i + 1 == r || i == r => stats.entries += 1, // header, ruler
            (Some(r), Some(sp)) if i > r => {
                let c = cells_by_spans(line, sp);
                let c = if c.iter().filter(|x| !x.is_empty()).count() < 2 {
                    cells_by_gaps(line)
                } else {
                    c
                };
                if is_instances {
                    instances.push(InstanceRow {
                        line: no,
                        filter: c.first().cloned().unwrap_or_default(),
                        volume: c.get(1).cloned().unwrap_or_default(),
                        altitude: c.get(2).cloned().filter(|s| !s.is_empty()),
                        instance: c.get(3).cloned().unwrap_or_default(),
                        frame: c.get(4).and_then(|s| num(s)),
                        extra: c.iter().skip(5).cloned().collect(),
                    });
                } else {
                    let frame_cell = c.get(3).map(String::as_str).unwrap_or("");
                    let legacy =
                        frame_cell.eq_ignore_ascii_case("<Legacy>") || line.contains("<Legacy>");
                    filters.push(FilterRow {
                        line: no,
                        name: c.first().cloned().unwrap_or_default(),
                        instances: c.get(1).and_then(|s| num(s)),
                        altitude: c.get(2).cloned().filter(|s| !s.is_empty()),
                        frame: if legacy { None } else { num(frame_cell) },
                        legacy,
                    });
                }
                stats.entries += 1;
            }
            _ => match list_row(line) {
                Some((name, a, b)) => {
                    list.push(ListRow {
                        line: no,
                        name,
                        first: a,
                        second: b,
                    });
                    stats.entries += 1;
                }
                None => stats.unparsed.push(no),
            },
        }
    }
    let table = if let Some((code, message)) = failed {
        FltmcTable::Failed { code, message }
    } else if spans.is_some() && is_instances {
        FltmcTable::Instances(instances)
    } else if spans.is_some() {
        FltmcTable::Filters(filters)
    } else {
        FltmcTable::List(list)
    };
    FltmcOutput { table, stats }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::text::split_lines;

    #[test]
    fn filters_table() {
        let t = "\r\nFilter Name                     Num Instances    Altitude    Frame\r\n\
------------------------------  -------------  ------------  -----\r\n\
bindflt                                 1       409800         0\r\n\
WdFilter                                3       328010         0\r\n\
AVLegacy                                        389998.99   <Legacy>\r\n\
FileInfo                                6       40500          0\r\n";
        let (l, e) = split_lines(t);
        let o = parse(&l, e, ReadStats::default());
        assert!(o.stats.unparsed.is_empty());
        let FltmcTable::Filters(rows) = o.table else {
            panic!()
        };
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[1].name, "WdFilter");
        assert_eq!(rows[1].instances, Some(3));
        assert_eq!(rows[1].altitude.as_deref(), Some("328010"));
        assert_eq!(rows[2].altitude.as_deref(), Some("389998.99"));
        assert!(rows[2].legacy);
        assert_eq!(rows[2].instances, None);
        assert!(looks_like(&l));
    }

    #[test]
    fn instances_and_errors() {
        let t = "Filter                Volume Name                              Altitude        Instance Name       Frame   SprtFtrs  VlStatus\n\
--------------------  -------------------------------------  ------------  ----------------------  -----   --------  --------\n\
bindflt               C:                                       409800      bindflt Instance          0     0000000f\n";
        let (l, e) = split_lines(t);
        let o = parse(&l, e, ReadStats::default());
        let FltmcTable::Instances(rows) = o.table else {
            panic!()
        };
        assert_eq!(rows[0].filter, "bindflt");
        assert_eq!(rows[0].volume, "C:");
        assert_eq!(rows[0].altitude.as_deref(), Some("409800"));
        assert_eq!(rows[0].instance, "bindflt Instance");
        assert_eq!(rows[0].frame, Some(0));
        let (l, e) =
            split_lines("Filter listing failed with error: 0x80070005\r\nAccess is denied.\r\n");
        let o = parse(&l, e, ReadStats::default());
        assert_eq!(
            o.table,
            FltmcTable::Failed {
                code: Some(0x80070005),
                message: vec![
                    "Filter listing failed with error: 0x80070005".into(),
                    "Access is denied.".into()
                ]
            }
        );
        assert!(looks_like(&l));
    }
}
