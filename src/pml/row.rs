//! The 27 columns of Process Monitor's CSV export for one event (`procmon-text.md` §1-§2).

use super::detail::{self, class_name};
use super::reader::{Pml, RawEvent};
use super::text;

/// Column names, in the order of Procmon's full export as four of the five corpus CSVs have it
/// (`procmon-text.md` §1.1; the order is the exporting window's, so compare by name).
pub const COLUMNS: [&str; 27] = [
    "Time of Day",
    "Process Name",
    "PID",
    "Operation",
    "Path",
    "Result",
    "Detail",
    "Date & Time",
    "Relative Time",
    "Duration",
    "Completion Time",
    "Event Class",
    "Sequence",
    "Image Path",
    "Company",
    "Description",
    "Version",
    "User",
    "Authentication ID",
    "Session",
    "Command Line",
    "TID",
    "Virtualized",
    "Integrity",
    "Category",
    "Parent PID",
    "Architecture",
];

/// Procmon's seven default columns (`procmon-text.md` §1.2).
pub const DEFAULT_COLUMNS: usize = 7;

/// Render every column of `ev` as Procmon prints it. `first_time` is the FILETIME of the
/// capture's first event (Relative Time counts from it). Times are printed in UTC.
pub fn render(pml: &Pml, ev: &RawEvent, first_time: u64) -> [String; 27] {
    let d = detail::decode(pml, ev);
    let p = pml.process(ev.process_index);
    let pending = ev.result == 0x103;
    let s = |f: fn(&super::Process) -> &String| p.map(|p| f(p).clone()).unwrap_or_default();
    let result = if pending {
        String::new()
    } else {
        text::status_text(ev.result).into_owned()
    };
    let (duration, completion) = if pending {
        (String::new(), String::new())
    } else {
        (
            text::seconds7(ev.duration),
            text::time_of_day(ev.time.saturating_add(ev.duration)),
        )
    };
    [
        text::time_of_day(ev.time),
        s(|p| &p.name),
        p.map(|p| p.pid.to_string()).unwrap_or_default(),
        d.operation.into_owned(),
        d.path,
        result,
        d.detail,
        text::date_time(ev.time),
        text::relative_time(ev.time.saturating_sub(first_time)),
        duration,
        completion,
        class_name(ev.class).to_string(),
        "n/a".to_string(),
        s(|p| &p.image_path),
        s(|p| &p.company),
        s(|p| &p.description),
        s(|p| &p.version),
        s(|p| &p.user),
        p.map(|p| format!("{:08x}:{:08x}", p.auth_id >> 32, p.auth_id & 0xFFFF_FFFF))
            .unwrap_or_default(),
        p.map(|p| p.session.to_string()).unwrap_or_default(),
        s(|p| &p.command_line),
        ev.tid.to_string(),
        p.map(|p| if p.virtualized { "True" } else { "False" }.to_string())
            .unwrap_or_default(),
        s(|p| &p.integrity),
        d.category.to_string(),
        p.map(|p| p.ppid.to_string()).unwrap_or_default(),
        p.map(|p| if p.is_64bit { "64-bit" } else { "32-bit" }.to_string())
            .unwrap_or_default(),
    ]
}

/// Quote one CSV field the way Procmon does: always in `"`, inner `"` doubled.
pub fn push_csv_field(out: &mut String, field: &str) {
    out.push('"');
    for c in field.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
}

/// Append one CSV record (fields in `order`, indexes into [`COLUMNS`]) ending with CRLF.
pub fn push_csv_record(out: &mut String, cols: &[String; 27], order: &[usize]) {
    for (i, &c) in order.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_csv_field(out, &cols[c]);
    }
    out.push_str("\r\n");
}
