//! Process (class 1) and Profiling (class 4) events: Operation, Path and Detail as Procmon prints
//! them (`procmon-text.md` §2.5, §2.6, §3.4; layouts `format-pml.md` §9.3, §9.5, tables 11.2,
//! 11.5). Category is always empty for these classes (§2.7).

use super::Decoded;
use crate::pml::bytes::Rd;
use crate::pml::reader::{Pml, RawEvent};
use crate::pml::text::{seconds7, thousands};
use std::borrow::Cow;
use std::fmt::Write as _;

/// Process class operation names by number (table 11.2).
const PROCESS_OPS: [&str; 10] = [
    "Process Defined",
    "Process Create",
    "Process Exit",
    "Thread Create",
    "Thread Exit",
    "Load Image",
    "Thread Profile",
    "Process Start",
    "Process Statistics",
    "System Statistics",
];

/// Profiling class operation names by number (table 11.5).
const PROFILING_OPS: [&str; 3] = [
    "Thread Profiling",
    "Process Profiling",
    "Debug Output Profiling",
];

/// Decode a Process (class 1, `format-pml.md` §9.3) or Profiling (class 4, §9.5) event:
/// operation names from tables 11.2 / 11.5 (`<Unknown>` beyond them), Path and Detail per
/// `procmon-text.md` §2.6 and §3.4, empty Category.
pub fn decode(pml: &Pml, ev: &RawEvent) -> Decoded {
    if ev.class == 4 {
        return decode_profiling(ev);
    }
    let Some(&name) = PROCESS_OPS.get(usize::from(ev.operation)) else {
        return Decoded {
            operation: Cow::Borrowed("<Unknown>"),
            ..Decoded::default()
        };
    };
    let mut d = Decoded {
        operation: Cow::Borrowed(name),
        ..Decoded::default()
    };
    let mut r = Rd::new(ev.detail);
    match ev.operation {
        0 | 1 => process_create(&mut r, &mut d),
        2 | 8 => d.detail = process_exit(&mut r),
        3 => d.detail = format!("Thread ID: {}", r.u32()),
        4 => d.detail = thread_exit(&mut r, ev.tid),
        5 => load_image(&mut r, pml.header.is_64bit, &mut d),
        7 => d.detail = process_start(&mut r),
        _ => {}
    }
    d
}

/// Process Create / Process Defined (§9.3): u32 unknown, u32 new pid, 0x24 bytes unknown,
/// u8 size A, u8 size B, u16 image path string info, u16 command line string info, u16 unknown,
/// A + B bytes (SIDs), image path, command line. Path = image path; Detail
/// `PID: n, Command line: C` with the command line verbatim (trailing space kept).
fn process_create(r: &mut Rd, d: &mut Decoded) {
    r.skip(4);
    let pid = r.u32();
    r.skip(0x24);
    let a = usize::from(r.u8());
    let b = usize::from(r.u8());
    let image_info = r.u16();
    let cmd_info = r.u16();
    r.skip(2 + a + b);
    d.path = r.detail_string(image_info);
    let cmd = r.detail_string(cmd_info);
    d.detail = format!("PID: {pid}, Command line: {cmd}");
}

/// Process Exit / Process Statistics (§9.3): u32 exit status, u64 kernel time, u64 user time,
/// u64 working set, u64 peak working set, u64 private bytes, u64 peak private bytes. Printed
/// in Procmon's order: signed status, user time before kernel time, private bytes before
/// working set.
fn process_exit(r: &mut Rd) -> String {
    let status = r.u32() as i32;
    let kernel = r.u64();
    let user = r.u64();
    let ws = r.u64();
    let peak_ws = r.u64();
    let private = r.u64();
    let peak_private = r.u64();
    format!(
        "Exit Status: {status}, User Time: {} seconds, Kernel Time: {} seconds, Private Bytes: {}, Peak Private Bytes: {}, Working Set: {}, Peak Working Set: {}",
        seconds7(user),
        seconds7(kernel),
        thousands(private),
        thousands(peak_private),
        thousands(ws),
        thousands(peak_ws),
    )
}

/// Thread Exit (§9.3): u32 unknown, u64 kernel time, u64 user time. The thread id printed is
/// the event's own TID; the times carry no `seconds` unit.
fn thread_exit(r: &mut Rd, tid: u32) -> String {
    r.skip(4);
    let kernel = r.u64();
    let user = r.u64();
    format!(
        "Thread ID: {tid}, User Time: {}, Kernel Time: {}",
        seconds7(user),
        seconds7(kernel)
    )
}

/// Load Image (§9.3): ptr image base, u32 image size, u16 path string info, u16 unknown, path.
/// Path = the image path; Detail `Image Base: 0x…, Image Size: 0x…` (lower-case hex).
fn load_image(r: &mut Rd, is_64bit: bool, d: &mut Decoded) {
    let base = r.ptr(is_64bit);
    let size = r.u32();
    let info = r.u16();
    r.skip(2);
    d.path = r.detail_string(info);
    d.detail = format!("Image Base: {base:#x}, Image Size: {size:#x}");
}

/// Process Start (§9.3): u32 parent pid, u16 command line string info, u16 current directory
/// string info, u32 environment length in UTF-16 units, command line, current directory,
/// environment block. Each NUL-separated environment variable is preceded by CR `;` TAB.
fn process_start(r: &mut Rd) -> String {
    let ppid = r.u32();
    let cmd_info = r.u16();
    let cwd_info = r.u16();
    let env_units = r.u32() as usize;
    let cmd = r.detail_string(cmd_info);
    let cwd = r.detail_string(cwd_info);
    let env = r.bytes(env_units.min(r.remaining() / 2) * 2);
    let mut out = String::with_capacity(64 + cmd.len() + cwd.len() + env.len() / 2);
    let _ = write!(
        out,
        "Parent PID: {ppid}, Command line: {cmd}, Current directory: {cwd}, Environment: "
    );
    let units = env
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]));
    let mut at_start = true;
    for c in char::decode_utf16(units) {
        let c = c.unwrap_or('\u{FFFD}');
        if c == '\0' {
            if at_start {
                break; // empty variable: end of the block
            }
            at_start = true;
            continue;
        }
        if at_start {
            out.push_str("\r;\t");
            at_start = false;
        }
        out.push(c);
    }
    out
}

/// Profiling events (class 4, `format-pml.md` §9.5; no corpus file has any, so the text is
/// unverified): Thread Profiling = u32 user time, u32 kernel time, u32 context switches, Path
/// `Thread <tid>`; Process Profiling = u64 user time, u64 kernel time, u64 working set, u64
/// private bytes.
fn decode_profiling(ev: &RawEvent) -> Decoded {
    let Some(&name) = PROFILING_OPS.get(usize::from(ev.operation)) else {
        return Decoded {
            operation: Cow::Borrowed("<Unknown>"),
            ..Decoded::default()
        };
    };
    let mut d = Decoded {
        operation: Cow::Borrowed(name),
        ..Decoded::default()
    };
    let mut r = Rd::new(ev.detail);
    match ev.operation {
        0 => {
            let user = u64::from(r.u32());
            let kernel = u64::from(r.u32());
            let switches = r.u32();
            d.path = format!("Thread {}", ev.tid);
            d.detail = format!(
                "User Time: {}, Kernel Time: {}, Context Switches: {}",
                seconds7(user),
                seconds7(kernel),
                thousands(u64::from(switches))
            );
        }
        1 => {
            let user = r.u64();
            let kernel = r.u64();
            let ws = r.u64();
            let private = r.u64();
            d.detail = format!(
                "User Time: {} seconds, Kernel Time: {} seconds, Private Bytes: {}, Working Set: {}",
                seconds7(user),
                seconds7(kernel),
                thousands(private),
                thousands(ws)
            );
        }
        _ => {}
    }
    d
}
