//! PML writer: a [`PmlModel`] (header fields, processes with their modules, events, host/port
//! and icon tables) serialised the way Process Monitor lays a file out, plus builders of the
//! class-specific detail blocks the samples need ([`build`]).
//!
//! Layout followed: `shared/docs/format-pml.md` §15 (checklist) with §1 (section order), §2
//! (header), §3 (event offsets array), §4 (string table), §5 (process table and module entries),
//! §6 (host and port tables), §7 (icon table), §8 (event records), §10 (pointer size) and §12
//! (captures not closed cleanly, [`write_unclosed`]).
//!
//! Conventions: every time is a FILETIME (u64, 100 ns intervals since 1601-01-01 UTC); every
//! duration is in 100 ns units; pointer-sized fields are 4 bytes in a 32-bit capture and 8 in a
//! 64-bit one (§10), and values that do not fit are truncated to their low 32 bits, as are
//! lengths and offsets that the format stores in 32 (or, for the stack depth and the extra block,
//! 16) bits. The writer never fails and never panics; [`write_file`] only adds I/O errors.
//!
//! Round trip: [`PmlModel::from_pml`] rebuilds the model of an existing capture from its raw
//! bytes, keeping what the reader does not expose (string table order, unknown header/process/
//! module/event fields, unused bytes after event records, icons), so that writing it again gives
//! the original file byte for byte when the file follows the layout above.

use super::bytes::Rd;
use super::reader::{decode_event, Pml, EVENT_HEADER_SIZE, HEADER_SIZE};
use std::collections::HashMap;
use std::path::Path;

/// PML format version written at header +0x004 (`format-pml.md` §2).
pub const FORMAT_VERSION: u32 = 9;
/// Size of the embedded OSVERSIONINFOEXW written at header +0x270 (`format-pml.md` §2).
pub const OSVERSIONINFOEXW_SIZE: u32 = 284;

/// Windows version fields stored in the header's embedded OSVERSIONINFOEXW
/// (`format-pml.md` §2, +0x270..+0x38B).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OsVersion {
    /// Major version (+0x274): 6 = Windows Vista/7/8/8.1, 10 = Windows 10/11.
    pub major: u32,
    /// Minor version (+0x278): 1 = Windows 7.
    pub minor: u32,
    /// Build number (+0x27C), e.g. 7601.
    pub build: u32,
    /// Platform id (+0x280): 2 = VER_PLATFORM_WIN32_NT.
    pub platform_id: u32,
    /// Service pack text (+0x284, at most 127 UTF-16 units kept), e.g. `Service Pack 1`.
    pub service_pack: String,
    /// Service pack major number (+0x384).
    pub sp_major: u16,
    /// Service pack minor number (+0x386).
    pub sp_minor: u16,
    /// Suite mask (+0x388): 0x100 on the Windows 7 corpus files, 0x300 on Windows 10.
    pub suite_mask: u16,
    /// Product type (+0x38A): 1 = workstation.
    pub product_type: u8,
    /// Reserved byte (+0x38B); not always 0 in real files.
    pub reserved: u8,
}

impl OsVersion {
    /// Windows 7 Service Pack 1 (6.1.7601, workstation).
    pub fn windows7_sp1() -> Self {
        OsVersion {
            major: 6,
            minor: 1,
            build: 7601,
            platform_id: 2,
            service_pack: "Service Pack 1".to_string(),
            sp_major: 1,
            sp_minor: 0,
            suite_mask: 0x100,
            product_type: 1,
            reserved: 0,
        }
    }
}

/// A module (image) known in a process (`format-pml.md` §5.2). For the System process (PID 4)
/// these are the kernel-mode modules through which kernel stack frames resolve.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ModuleModel {
    /// Image base address (pointer-sized).
    pub base: u64,
    /// Image size in bytes; the module covers `[base, base + size)`.
    pub size: u32,
    /// Image path, e.g. `C:\Windows\system32\drivers\fltmgr.sys`.
    pub path: String,
    /// Version resource text.
    pub version: String,
    /// Company resource text.
    pub company: String,
    /// Description resource text.
    pub description: String,
    /// PE header timestamp, seconds since 1970-01-01 UTC.
    pub timestamp: u32,
    /// The unknown pointer at entry +0x00 (0 in fresh models).
    pub unknown_ptr: u64,
    /// The 0x18 unknown bytes at the end of the entry (zeros in fresh models).
    pub unknown_tail: [u8; 0x18],
}

/// A process record (`format-pml.md` §5.1).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ProcessModel {
    /// Process-table key; events name their process by it. Arbitrary u32, unique per capture.
    pub index: u32,
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Parent's process-table key.
    pub parent_index: u32,
    /// Logon session LUID (0x3E7 = SYSTEM, 0x3E4 = NETWORK SERVICE, 0x3E5 = LOCAL SERVICE).
    pub auth_id: u64,
    /// Terminal session id.
    pub session: u32,
    /// Process start time, FILETIME (100 ns since 1601, UTC).
    pub start_time: u64,
    /// Process end time, FILETIME (UTC); 0 while running at the end of the capture.
    pub end_time: u64,
    /// UAC virtualization: 1 on, 0 off, kept as the raw u32 (the Idle process has 0xFFFFFFFF).
    pub virtualized: u32,
    /// Native 64-bit process (false for 32-bit and WOW64 processes).
    pub is_64bit: bool,
    /// Integrity level text: `System`, `High`, `Medium`, `Low`, `Untrusted`.
    pub integrity: String,
    /// Account, `DOMAIN\user`.
    pub user: String,
    /// Process name, e.g. `TrustedInstaller.exe`.
    pub name: String,
    /// Image path.
    pub image_path: String,
    /// Command line (may hold NULs; written as is).
    pub command_line: String,
    /// Company resource text.
    pub company: String,
    /// Version resource text.
    pub version: String,
    /// Description resource text.
    pub description: String,
    /// Small icon index into [`PmlModel::icons`] (0 = the empty icon in Procmon's files).
    pub small_icon: u32,
    /// Large icon index into [`PmlModel::icons`].
    pub large_icon: u32,
    /// The unknown u32 at record +0x1C (0 for most processes).
    pub unknown_1c: u32,
    /// The unknown pointer at record +0x60.
    pub unknown_ptr: u64,
    /// Modules known in this process, in table order.
    pub modules: Vec<ModuleModel>,
}

/// One event record (`format-pml.md` §8).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct EventModel {
    /// Process-table key ([`ProcessModel::index`]).
    pub process_index: u32,
    /// Thread id.
    pub tid: u32,
    /// Event class (`format-pml.md` table 11.1): 1 Process, 2 Registry, 3 File System,
    /// 4 Profiling, 5 Network, 6 IPC.
    pub class: u32,
    /// Class-specific operation number (tables 11.2-11.6).
    pub operation: u16,
    /// The u32 at +0x10: a running capture sequence counter in real files.
    pub sequence: u32,
    /// Duration in 100 ns units.
    pub duration: u64,
    /// Event time, FILETIME (100 ns since 1601, UTC).
    pub time: u64,
    /// Result: an NTSTATUS (0 SUCCESS, 0xC0000022 ACCESS DENIED ...).
    pub result: u32,
    /// Stack: return addresses, innermost (frame 0) first; kernel frames resolve through the
    /// System process's modules, user frames through this event's process (§8).
    pub stack: Vec<u64>,
    /// Class-specific detail block (§9; see [`build`]).
    pub detail: Vec<u8>,
    /// Extra-detail block (operation results, §9), written right after the detail block with
    /// a u16 size prefix and its offset at +0x30.
    pub extra: Option<Vec<u8>>,
    /// The unknown u16 at +0x0E (0 in fresh models).
    pub unknown_0e: u16,
    /// The unknown u16 at +0x2A (0 in fresh models).
    pub unknown_2a: u16,
    /// The flags byte of this event's entry in the event offsets array (§3; always 0 seen).
    pub offset_flags: u8,
    /// Unused bytes after the record, before the next one (§8; empty in fresh models).
    pub padding: Vec<u8>,
}

/// A host-table entry (`format-pml.md` §6).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct HostModel {
    /// 16 address bytes; IPv4 uses the first 4, the rest zero.
    pub address: [u8; 16],
    /// Host name (written with a UTF-16 NUL counted in its length unless empty).
    pub name: String,
}

/// A port-table entry (`format-pml.md` §6).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PortModel {
    /// Port number.
    pub port: u16,
    /// TCP (true) or UDP (false).
    pub is_tcp: bool,
    /// Service name, e.g. `https` (written with a counted UTF-16 NUL unless empty).
    pub name: String,
}

/// An icon-table entry (`format-pml.md` §7).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct IconModel {
    /// Icon size in pixels (cx = cy); 0 for Procmon's empty icon 0.
    pub size_px: u32,
    /// The ICONIMAGE bytes.
    pub image: Vec<u8>,
}

/// Everything a PML file holds (`format-pml.md` §1-§8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PmlModel {
    /// Pointer size of the capture: true = 8 bytes (64-bit Windows), false = 4 (§10).
    pub is_64bit: bool,
    /// Computer name (header +0x00C, at most 16 UTF-16 units kept).
    pub computer_name: String,
    /// System root, e.g. `C:\Windows` (header +0x02C, at most 260 UTF-16 units kept).
    pub system_root: String,
    /// OS version block.
    pub os: OsVersion,
    /// Logical processor count (header +0x38C).
    pub cpu_count: u32,
    /// Physical memory in bytes (header +0x390).
    pub ram_bytes: u64,
    /// Highest user-mode address (header +0x268): 0x7FFEFFFF on 32-bit Windows,
    /// 0x7FFFFFFEFFFF on 64-bit.
    pub max_user_address: u64,
    /// The unknown u64 at header +0x238 (0 in every known file).
    pub header_unknown_238: u64,
    /// Processes in table order.
    pub processes: Vec<ProcessModel>,
    /// Events in display order (= file order).
    pub events: Vec<EventModel>,
    /// Host table.
    pub hosts: Vec<HostModel>,
    /// Port table.
    pub ports: Vec<PortModel>,
    /// Icon table. Processes name icons by index; Procmon's files start with an empty icon.
    pub icons: Vec<IconModel>,
    /// Strings to place first in the string table, in this order (§4). The writer always puts
    /// the empty string at index 0, then these (duplicates skipped), then every other string
    /// the process table needs, in the order the process records use them. Leave empty for a
    /// fresh capture; [`PmlModel::from_pml`] fills it to reproduce a file's exact table.
    pub string_order: Vec<String>,
}

impl PmlModel {
    /// An empty capture of the given bitness: Windows 7 SP1 header values, the highest user
    /// address of that bitness, one empty icon (index 0), no processes, events, hosts or ports.
    pub fn new(is_64bit: bool) -> Self {
        PmlModel {
            is_64bit,
            computer_name: String::new(),
            system_root: "C:\\Windows".to_string(),
            os: OsVersion::windows7_sp1(),
            cpu_count: 1,
            ram_bytes: 0,
            max_user_address: if is_64bit {
                0x7FFF_FFFE_FFFF
            } else {
                0x7FFE_FFFF
            },
            header_unknown_238: 0,
            processes: Vec::new(),
            events: Vec::new(),
            hosts: Vec::new(),
            ports: Vec::new(),
            icons: vec![IconModel::default()],
            string_order: Vec::new(),
        }
    }

    /// Rebuild the model of an opened capture from its raw bytes (`pml.bytes()`), keeping what
    /// exact re-writing needs: the string table in its order (including unreferenced strings
    /// and text after embedded NULs), process/module/event unknown fields, unused bytes between
    /// event records, icons, hosts and ports in table order.
    ///
    /// Errors (as text naming the file offset): the capture was not closed cleanly (no tables
    /// to rebuild from, §12), or an event record lies outside the file.
    pub fn from_pml(pml: &Pml) -> Result<PmlModel, String> {
        model_from_bytes(pml)
    }
}

// ---------------------------------------------------------------------------------------------
// Writing

/// Little-endian byte sink with pointer-size awareness.
struct Out {
    buf: Vec<u8>,
    p64: bool,
}

impl Out {
    fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn ptr(&mut self, v: u64) {
        if self.p64 {
            self.u64(v);
        } else {
            self.u32(v as u32);
        }
    }
    fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
    fn len(&self) -> usize {
        self.buf.len()
    }
    fn put_u32_at(&mut self, at: usize, v: u32) {
        if let Some(s) = self.buf.get_mut(at..at + 4) {
            s.copy_from_slice(&v.to_le_bytes());
        }
    }
}

/// UTF-16LE bytes of `s`, plus a UTF-16 NUL when `s` is non-empty: the string-table and
/// host/port-table encoding (`format-pml.md` §4, §6).
fn table_string(s: &str) -> Vec<u8> {
    let mut v: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
    if !s.is_empty() {
        v.extend_from_slice(&[0, 0]);
    }
    v
}

/// The string table under construction (`format-pml.md` §4): index 0 is the empty string.
struct Strings {
    list: Vec<String>,
    map: HashMap<String, u32>,
}

impl Strings {
    fn new(preset: &[String]) -> Self {
        let mut s = Strings {
            list: Vec::new(),
            map: HashMap::new(),
        };
        s.intern("");
        for p in preset {
            s.intern(p);
        }
        s
    }
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.map.get(s) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(s.to_string());
        self.map.insert(s.to_string(), i);
        i
    }
}

/// Write `s` as UTF-16LE into a fixed field of `units` code units, NUL-padded (and cut).
fn fixed_utf16(out: &mut Out, s: &str, units: usize) {
    let mut n = 0;
    for u in s.encode_utf16().take(units) {
        out.u16(u);
        n += 1;
    }
    for _ in n..units {
        out.u16(0);
    }
}

/// Serialise one event record (`format-pml.md` §8) at the end of `out`.
fn write_event(out: &mut Out, e: &EventModel) {
    let w = if out.p64 { 8 } else { 4 };
    let depth = e.stack.len().min(usize::from(u16::MAX));
    let detail_len = e.detail.len() as u32;
    let extra_off = match &e.extra {
        Some(_) => (EVENT_HEADER_SIZE + depth * w + e.detail.len()) as u32,
        None => 0,
    };
    out.u32(e.process_index);
    out.u32(e.tid);
    out.u32(e.class);
    out.u16(e.operation);
    out.u16(e.unknown_0e);
    out.u32(e.sequence);
    out.u64(e.duration);
    out.u64(e.time);
    out.u32(e.result);
    out.u16(depth as u16);
    out.u16(e.unknown_2a);
    out.u32(detail_len);
    out.u32(extra_off);
    for &a in &e.stack[..depth] {
        out.ptr(a);
    }
    out.bytes(&e.detail);
    if let Some(x) = &e.extra {
        let n = x.len().min(usize::from(u16::MAX));
        out.u16(n as u16);
        out.bytes(&x[..n]);
    }
    out.bytes(&e.padding);
}

/// Header (`format-pml.md` §2) with the section offsets given; `None` leaves the event count
/// and every section offset 0, as in a capture still being written (§12).
fn write_header(out: &mut Out, m: &PmlModel, offsets: Option<&Offsets>) {
    out.bytes(b"PML_");
    out.u32(FORMAT_VERSION);
    out.u32(u32::from(m.is_64bit));
    fixed_utf16(out, &m.computer_name, 16);
    fixed_utf16(out, &m.system_root, 260);
    let o = offsets.copied().unwrap_or_default();
    out.u32(o.event_count);
    out.u64(m.header_unknown_238);
    out.u64(o.events);
    out.u64(o.event_offsets);
    out.u64(o.processes);
    out.u64(o.strings);
    out.u64(o.icons);
    out.u64(m.max_user_address);
    out.u32(OSVERSIONINFOEXW_SIZE);
    out.u32(m.os.major);
    out.u32(m.os.minor);
    out.u32(m.os.build);
    out.u32(m.os.platform_id);
    fixed_utf16(out, &m.os.service_pack, 128);
    out.u16(m.os.sp_major);
    out.u16(m.os.sp_minor);
    out.u16(m.os.suite_mask);
    out.u8(m.os.product_type);
    out.u8(m.os.reserved);
    out.u32(m.cpu_count);
    out.u64(m.ram_bytes);
    out.u64(o.events);
    out.u64(o.hosts_ports);
}

#[derive(Clone, Copy, Default)]
struct Offsets {
    event_count: u32,
    events: u64,
    event_offsets: u64,
    processes: u64,
    strings: u64,
    icons: u64,
    hosts_ports: u64,
}

/// Serialise `model` as a complete, cleanly closed PML file (`format-pml.md` §15): header,
/// events from 0x3A8, event offsets array, process table, string table, icon table, host and
/// port tables, in that order.
pub fn write(model: &PmlModel) -> Vec<u8> {
    let mut out = Out {
        buf: Vec::with_capacity(HEADER_SIZE + model.events.len() * 256),
        p64: model.is_64bit,
    };
    out.bytes(&[0u8; HEADER_SIZE]);

    // §8 events, back to back
    let mut event_offsets = Vec::with_capacity(model.events.len());
    for e in &model.events {
        event_offsets.push(out.len() as u32);
        write_event(&mut out, e);
    }

    // §3 event offsets array
    let event_offsets_at = out.len();
    for (e, off) in model.events.iter().zip(&event_offsets) {
        out.u32(*off);
        out.u8(e.offset_flags);
    }

    // §5 process table
    let processes_at = out.len();
    let mut strings = Strings::new(&model.string_order);
    let n = model.processes.len();
    out.u32(n as u32);
    for p in &model.processes {
        out.u32(p.index);
    }
    let rel_at = out.len();
    out.bytes(&vec![0u8; 4 * n]);
    for (i, p) in model.processes.iter().enumerate() {
        let rel = (out.len() - processes_at) as u32;
        out.put_u32_at(rel_at + 4 * i, rel);
        write_process(&mut out, p, &mut strings);
    }

    // §4 string table
    let strings_at = out.len();
    let n = strings.list.len();
    out.u32(n as u32);
    let mut rel = 4 + 4 * n;
    let encoded: Vec<Vec<u8>> = strings.list.iter().map(|s| table_string(s)).collect();
    for e in &encoded {
        out.u32(rel as u32);
        rel += 4 + e.len();
    }
    for e in &encoded {
        out.u32(e.len() as u32);
        out.bytes(e);
    }

    // §7 icon table
    let icons_at = out.len();
    let n = model.icons.len();
    out.u32(n as u32);
    let mut rel = 4 + 4 * n;
    for icon in &model.icons {
        out.u32(rel as u32);
        rel += 8 + icon.image.len();
    }
    for icon in &model.icons {
        out.u32(icon.size_px);
        out.u32(icon.image.len() as u32);
        out.bytes(&icon.image);
    }

    // §6 host and port tables
    let hosts_at = out.len();
    out.u32(model.hosts.len() as u32);
    for h in &model.hosts {
        out.bytes(&h.address);
        let name = table_string(&h.name);
        out.u32(name.len() as u32);
        out.bytes(&name);
    }
    out.u32(model.ports.len() as u32);
    for p in &model.ports {
        out.u16(p.port);
        out.u16(u16::from(p.is_tcp));
        let name = table_string(&p.name);
        out.u32(name.len() as u32);
        out.bytes(&name);
    }

    // §2 header, now that every offset is known
    let offsets = Offsets {
        event_count: model.events.len() as u32,
        events: HEADER_SIZE as u64,
        event_offsets: event_offsets_at as u64,
        processes: processes_at as u64,
        strings: strings_at as u64,
        icons: icons_at as u64,
        hosts_ports: hosts_at as u64,
    };
    let mut head = Out {
        buf: Vec::with_capacity(HEADER_SIZE),
        p64: model.is_64bit,
    };
    write_header(&mut head, model, Some(&offsets));
    if let (Some(dst), Some(src)) = (out.buf.get_mut(..HEADER_SIZE), head.buf.get(..HEADER_SIZE)) {
        dst.copy_from_slice(src);
    }
    out.buf
}

/// Serialise `model` as Procmon leaves a backing file it never closed (`format-pml.md` §12):
/// the header with its identity fields (bitness, names, OS, CPU, RAM) but an event count of 0
/// and every section offset 0 (both copies of the events offset included), then the event
/// records back to back from 0x3A8, and no tables. Readers can only recover the events by
/// walking the records.
pub fn write_unclosed(model: &PmlModel) -> Vec<u8> {
    let mut out = Out {
        buf: Vec::new(),
        p64: model.is_64bit,
    };
    write_header(&mut out, model, None);
    for e in &model.events {
        write_event(&mut out, e);
    }
    out.buf
}

/// [`write`] `model` to `path` (created or truncated).
pub fn write_file(model: &PmlModel, path: &Path) -> std::io::Result<()> {
    std::fs::write(path, write(model))
}

fn write_process(out: &mut Out, p: &ProcessModel, strings: &mut Strings) {
    out.u32(p.index);
    out.u32(p.pid);
    out.u32(p.ppid);
    out.u32(p.parent_index);
    out.u64(p.auth_id);
    out.u32(p.session);
    out.u32(p.unknown_1c);
    out.u64(p.start_time);
    out.u64(p.end_time);
    out.u32(p.virtualized);
    out.u32(u32::from(p.is_64bit));
    for s in [
        &p.integrity,
        &p.user,
        &p.name,
        &p.image_path,
        &p.command_line,
        &p.company,
        &p.version,
        &p.description,
    ] {
        let i = strings.intern(s);
        out.u32(i);
    }
    out.u32(p.small_icon);
    out.u32(p.large_icon);
    out.ptr(p.unknown_ptr);
    out.u32(p.modules.len() as u32);
    for m in &p.modules {
        out.ptr(m.unknown_ptr);
        out.ptr(m.base);
        out.u32(m.size);
        for s in [&m.path, &m.version, &m.company, &m.description] {
            let i = strings.intern(s);
            out.u32(i);
        }
        out.u32(m.timestamp);
        out.bytes(&m.unknown_tail);
    }
}

// ---------------------------------------------------------------------------------------------
// Model from an existing file (round trip)

/// A table string as stored: drop exactly one terminating UTF-16 NUL (keep embedded ones).
fn stored_string(b: &[u8]) -> String {
    let b = b.strip_suffix(&[0, 0]).unwrap_or(b);
    super::bytes::utf16_lossy(b)
}

fn in_file(buf: &[u8], off: u64, what: &str) -> Result<usize, String> {
    usize::try_from(off)
        .ok()
        .filter(|&o| o != 0 && o < buf.len())
        .ok_or_else(|| format!("{what} offset 0x{off:X} is 0 or outside the file ({} bytes): the capture was not closed cleanly or is damaged (format-pml.md §12)", buf.len()))
}

fn model_from_bytes(pml: &Pml) -> Result<PmlModel, String> {
    let buf = pml.bytes();
    let h = &pml.header;
    let p64 = h.is_64bit;
    let w = if p64 { 8 } else { 4 };
    let mut r = Rd::at(buf, 0x238);
    let header_unknown_238 = r.u64();
    let mut r = Rd::at(buf, 0x384);
    let sp_major = r.u16();
    let sp_minor = r.u16();
    let suite_mask = r.u16();
    let product_type = r.u8();
    let reserved = r.u8();
    let os = OsVersion {
        major: h.os_major,
        minor: h.os_minor,
        build: h.os_build,
        platform_id: h.platform_id,
        service_pack: h.service_pack.clone(),
        sp_major,
        sp_minor,
        suite_mask,
        product_type,
        reserved,
    };

    // §4 strings, exactly as stored
    let st = in_file(buf, h.string_table_offset, "string table")?;
    let mut r = Rd::at(buf, st);
    let n = r.u32() as usize;
    let mut strings = Vec::with_capacity(n.min(buf.len() / 8));
    for i in 0..n.min(buf.len() / 8) {
        let rel = Rd::at(buf, st + 4 + 4 * i).u32() as usize;
        let mut s = Rd::at(buf, st.saturating_add(rel));
        let len = s.u32() as usize;
        strings.push(stored_string(s.bytes(len)));
    }
    let s = |i: u32| strings.get(i as usize).cloned().unwrap_or_default();

    // §5 processes with every field
    let pt = in_file(buf, h.process_table_offset, "process table")?;
    let mut r = Rd::at(buf, pt);
    let np = r.u32() as usize;
    let np = np.min(buf.len() / 8);
    let mut processes = Vec::with_capacity(np);
    for i in 0..np {
        let rel = Rd::at(buf, pt + 4 + 4 * np + 4 * i).u32() as usize;
        let mut r = Rd::at(buf, pt.saturating_add(rel));
        let mut p = ProcessModel {
            index: r.u32(),
            pid: r.u32(),
            ppid: r.u32(),
            parent_index: r.u32(),
            auth_id: r.u64(),
            session: r.u32(),
            unknown_1c: r.u32(),
            start_time: r.u64(),
            end_time: r.u64(),
            virtualized: r.u32(),
            is_64bit: r.u32() != 0,
            integrity: s(r.u32()),
            user: s(r.u32()),
            name: s(r.u32()),
            image_path: s(r.u32()),
            command_line: s(r.u32()),
            company: s(r.u32()),
            version: s(r.u32()),
            description: s(r.u32()),
            small_icon: r.u32(),
            large_icon: r.u32(),
            unknown_ptr: r.ptr(p64),
            modules: Vec::new(),
        };
        let nm = r.u32() as usize;
        for _ in 0..nm.min(r.remaining() / (24 + 8 * w)) {
            let unknown_ptr = r.ptr(p64);
            let base = r.ptr(p64);
            let size = r.u32();
            let path = s(r.u32());
            let version = s(r.u32());
            let company = s(r.u32());
            let description = s(r.u32());
            let timestamp = r.u32();
            let mut unknown_tail = [0u8; 0x18];
            unknown_tail.copy_from_slice(r.bytes(0x18).get(..0x18).unwrap_or(&[0u8; 0x18]));
            p.modules.push(ModuleModel {
                base,
                size,
                path,
                version,
                company,
                description,
                timestamp,
                unknown_ptr,
                unknown_tail,
            });
        }
        processes.push(p);
    }

    // §3 + §8 events, with the bytes the reader skips and the gaps between records
    let eo = in_file(buf, h.event_offsets_offset, "event offsets array")?;
    let ne = (h.event_count as usize).min(buf.len().saturating_sub(eo) / 5);
    let offsets: Vec<(usize, u8)> = (0..ne)
        .map(|i| {
            let mut r = Rd::at(buf, eo + 5 * i);
            (r.u32() as usize, r.u8())
        })
        .collect();
    let mut events = Vec::with_capacity(ne);
    for (i, &(off, flags)) in offsets.iter().enumerate() {
        let ev = decode_event(buf, off, i, p64)
            .filter(|e| !e.truncated)
            .ok_or_else(|| format!("event {i} at 0x{off:X} does not fit in the file"))?;
        let end = off + ev.record_len;
        let next = offsets.get(i + 1).map_or(eo, |n| n.0);
        let padding = if next > end {
            buf.get(end..next).unwrap_or(&[]).to_vec()
        } else {
            Vec::new()
        };
        let mut r = Rd::at(buf, off + 0x0E);
        let unknown_0e = r.u16();
        let unknown_2a = Rd::at(buf, off + 0x2A).u16();
        events.push(EventModel {
            process_index: ev.process_index,
            tid: ev.tid,
            class: ev.class,
            operation: ev.operation,
            sequence: ev.sequence,
            duration: ev.duration,
            time: ev.time,
            result: ev.result,
            stack: ev.stack(p64).collect(),
            detail: ev.detail.to_vec(),
            extra: ev.extra.map(<[u8]>::to_vec),
            unknown_0e,
            unknown_2a,
            offset_flags: flags,
            padding,
        });
    }

    // §7 icons
    let it = in_file(buf, h.icon_table_offset, "icon table")?;
    let mut r = Rd::at(buf, it);
    let ni = (r.u32() as usize).min(buf.len() / 8);
    let mut icons = Vec::with_capacity(ni);
    for i in 0..ni {
        let rel = Rd::at(buf, it + 4 + 4 * i).u32() as usize;
        let mut r = Rd::at(buf, it.saturating_add(rel));
        let size_px = r.u32();
        let len = r.u32() as usize;
        icons.push(IconModel {
            size_px,
            image: r.bytes(len).to_vec(),
        });
    }

    // §6 hosts and ports in table order
    let hp = in_file(buf, h.hosts_ports_offset, "host/port table")?;
    let mut r = Rd::at(buf, hp);
    let nh = (r.u32() as usize).min(buf.len() / 20);
    let mut hosts = Vec::with_capacity(nh);
    for _ in 0..nh {
        let mut address = [0u8; 16];
        address.copy_from_slice(r.bytes(16).get(..16).unwrap_or(&[0u8; 16]));
        let len = r.u32() as usize;
        hosts.push(HostModel {
            address,
            name: stored_string(r.bytes(len)),
        });
    }
    let npo = (r.u32() as usize).min(buf.len() / 8);
    let mut ports = Vec::with_capacity(npo);
    for _ in 0..npo {
        let port = r.u16();
        let is_tcp = r.u16() != 0;
        let len = r.u32() as usize;
        ports.push(PortModel {
            port,
            is_tcp,
            name: stored_string(r.bytes(len)),
        });
    }

    Ok(PmlModel {
        is_64bit: p64,
        computer_name: h.computer_name.clone(),
        system_root: h.system_root.clone(),
        os,
        cpu_count: h.cpu_count,
        ram_bytes: h.ram_bytes,
        max_user_address: h.max_user_address,
        header_unknown_238,
        processes,
        events,
        hosts,
        ports,
        icons,
        string_order: strings,
    })
}

// ---------------------------------------------------------------------------------------------
// Detail blocks

/// Builders of class-specific detail blocks and extra-detail blocks (`format-pml.md` §9). Each
/// returns the bytes for [`EventModel::detail`] or [`EventModel::extra`]. Strings in detail
/// blocks are announced by a u16 "string info" (§8): bit 15 set = 8-bit text (used when every
/// character is ASCII, as Procmon stores paths), else UTF-16LE; bits 0-14 = length in
/// characters (longer texts are cut at 0x7FFF characters).
pub mod build {
    /// Event class numbers (`format-pml.md` table 11.1).
    pub mod class {
        /// Process class.
        pub const PROCESS: u32 = 1;
        /// Registry class.
        pub const REGISTRY: u32 = 2;
        /// File System class.
        pub const FILE_SYSTEM: u32 = 3;
    }

    /// Operation numbers used by the builders (`format-pml.md` tables 11.2, 11.3, 11.6).
    pub mod op {
        /// Process Create (class 1).
        pub const PROCESS_CREATE: u16 = 1;
        /// Thread Create (class 1).
        pub const THREAD_CREATE: u16 = 3;
        /// Load Image (class 1).
        pub const LOAD_IMAGE: u16 = 5;
        /// Process Start (class 1).
        pub const PROCESS_START: u16 = 7;
        /// RegOpenKey (class 2).
        pub const REG_OPEN_KEY: u16 = 0;
        /// RegCreateKey (class 2).
        pub const REG_CREATE_KEY: u16 = 1;
        /// RegCloseKey (class 2).
        pub const REG_CLOSE_KEY: u16 = 2;
        /// RegQueryKey (class 2).
        pub const REG_QUERY_KEY: u16 = 3;
        /// RegSetValue (class 2).
        pub const REG_SET_VALUE: u16 = 4;
        /// RegQueryValue (class 2).
        pub const REG_QUERY_VALUE: u16 = 5;
        /// CreateFile, IRP_MJ_CREATE (class 3).
        pub const CREATE_FILE: u16 = 20;
        /// ReadFile, IRP_MJ_READ (class 3).
        pub const READ_FILE: u16 = 23;
        /// WriteFile, IRP_MJ_WRITE (class 3).
        pub const WRITE_FILE: u16 = 24;
        /// QueryInformationFile, IRP_MJ_QUERY_INFORMATION (class 3; sub-operation = class).
        pub const QUERY_INFORMATION_FILE: u16 = 25;
        /// CloseFile, IRP_MJ_CLEANUP (class 3).
        pub const CLOSE_FILE: u16 = 38;
    }

    /// String info and characters of `s` (`format-pml.md` §8, detail string header).
    fn detail_string(s: &str) -> (u16, Vec<u8>) {
        if s.is_ascii() {
            let b = &s.as_bytes()[..s.len().min(0x7FFF)];
            (0x8000 | b.len() as u16, b.to_vec())
        } else {
            let units: Vec<u16> = s.encode_utf16().take(0x7FFF).collect();
            (
                units.len() as u16,
                units.iter().flat_map(|u| u.to_le_bytes()).collect(),
            )
        }
    }

    /// UTF-16 string info + characters, as Process Start / Process Create store them.
    fn utf16_string(s: &str) -> (u16, Vec<u8>) {
        let units: Vec<u16> = s.encode_utf16().take(0x7FFF).collect();
        (
            units.len() as u16,
            units.iter().flat_map(|u| u.to_le_bytes()).collect(),
        )
    }

    fn le32(v: &mut Vec<u8>, x: u32) {
        v.extend_from_slice(&x.to_le_bytes());
    }

    // --- Registry (class 2), format-pml.md §9.1 -----------------------------------------

    /// Registry layout head: path string info, then the operation's fields, then the path.
    fn reg(path: &str, fields: &[u8]) -> Vec<u8> {
        let (info, chars) = detail_string(path);
        let mut v = Vec::with_capacity(4 + fields.len() + chars.len());
        v.extend_from_slice(&info.to_le_bytes());
        v.extend_from_slice(fields);
        v.extend_from_slice(&chars);
        v
    }

    /// RegOpenKey (op 0) and RegCreateKey (op 1) detail (§9.1): u16 path info, u16 unknown (0),
    /// u32 desired access (registry access mask, table 11.20), path (`HKLM\...`).
    pub fn reg_open_key(path: &str, desired_access: u32) -> Vec<u8> {
        let mut f = vec![0, 0];
        le32(&mut f, desired_access);
        reg(path, &f)
    }

    /// RegOpenKey / RegCreateKey extra detail (§9.1): u32 granted access, u32 disposition
    /// (1 REG_CREATED_NEW_KEY, 2 REG_OPENED_EXISTING_KEY; 0 for RegOpenKey).
    pub fn reg_open_key_extra(granted_access: u32, disposition: u32) -> Vec<u8> {
        let mut v = Vec::with_capacity(8);
        le32(&mut v, granted_access);
        le32(&mut v, disposition);
        v
    }

    /// RegQueryValue (op 5) detail (§9.1): u16 path info, u16 unknown (0), u32 buffer length,
    /// u32 KEY_VALUE_INFORMATION_CLASS (table 11.25; 2 = Partial), path ending in the value name.
    pub fn reg_query_value(path: &str, length: u32, info_class: u32) -> Vec<u8> {
        let mut f = vec![0, 0];
        le32(&mut f, length);
        le32(&mut f, info_class);
        reg(path, &f)
    }

    /// RegQueryKey (op 3) detail (§9.1): same layout as RegQueryValue with a
    /// KEY_INFORMATION_CLASS (table 11.24; 3 = Name, 7 = HandleTags).
    pub fn reg_query_key(path: &str, length: u32, info_class: u32) -> Vec<u8> {
        reg_query_value(path, length, info_class)
    }

    /// RegQueryValue extra detail for KeyValuePartialInformation (§9.1): u32 title index (0),
    /// u32 value type (table 11.23), u32 data length, data.
    pub fn reg_value_partial_extra(value_type: u32, data: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(12 + data.len());
        le32(&mut v, 0);
        le32(&mut v, value_type);
        le32(&mut v, data.len() as u32);
        v.extend_from_slice(data);
        v
    }

    /// RegQueryKey extra detail for KeyNameInformation (§9.1): u32 name length in bytes, the
    /// name in UTF-16 (the kernel name, e.g. `\REGISTRY\MACHINE\SYSTEM\...`).
    pub fn reg_key_name_extra(name: &str) -> Vec<u8> {
        let (_, chars) = utf16_string(name);
        let mut v = Vec::with_capacity(4 + chars.len());
        le32(&mut v, chars.len() as u32);
        v.extend_from_slice(&chars);
        v
    }

    /// RegQueryKey extra detail for KeyHandleTagsInformation (§9.1): one u32.
    pub fn reg_handle_tags_extra(tags: u32) -> Vec<u8> {
        tags.to_le_bytes().to_vec()
    }

    /// RegSetValue (op 4) detail (§9.1): u16 path info, u16 unknown (0), u32 value type
    /// (table 11.23), u32 declared data length, u32 length of data copied (= declared here),
    /// path ending in the value name, the data.
    pub fn reg_set_value(path: &str, value_type: u32, data: &[u8]) -> Vec<u8> {
        let mut f = vec![0, 0];
        le32(&mut f, value_type);
        le32(&mut f, data.len() as u32);
        le32(&mut f, data.len() as u32);
        let mut v = reg(path, &f);
        v.extend_from_slice(data);
        v
    }

    /// RegCloseKey (op 2) detail (§9.1): u16 path info, path; no fields.
    pub fn reg_close_key(path: &str) -> Vec<u8> {
        reg(path, &[])
    }

    /// REG_DWORD data bytes.
    pub fn reg_dword(v: u32) -> Vec<u8> {
        v.to_le_bytes().to_vec()
    }

    /// REG_SZ / REG_EXPAND_SZ data bytes: UTF-16LE with the terminating NUL.
    pub fn reg_sz(s: &str) -> Vec<u8> {
        s.encode_utf16()
            .chain([0])
            .flat_map(u16::to_le_bytes)
            .collect()
    }

    /// REG_MULTI_SZ data bytes: each string NUL-terminated, then an empty string.
    pub fn reg_multi_sz(items: &[&str]) -> Vec<u8> {
        let mut v: Vec<u8> = items.iter().flat_map(|s| reg_sz(s)).collect();
        v.extend_from_slice(&[0, 0]);
        v
    }

    // --- File System (class 3), format-pml.md §9.2 --------------------------------------

    /// Size of the File System parameter area P: 5 × ptr + 0x14 (§9.2).
    pub fn fs_param_size(is_64bit: bool) -> usize {
        if is_64bit {
            0x3C
        } else {
            0x28
        }
    }

    /// The common File System block (§9.2): u8 sub-operation, 3 bytes padding, the parameter
    /// area `p` (resized to [`fs_param_size`]), u16 path info, u16 padding, path, `tail`.
    pub fn fs_common(
        is_64bit: bool,
        sub_op: u8,
        mut p: Vec<u8>,
        path: &str,
        tail: &[u8],
    ) -> Vec<u8> {
        p.resize(fs_param_size(is_64bit), 0);
        let (info, chars) = detail_string(path);
        let mut v = Vec::with_capacity(8 + p.len() + chars.len() + tail.len());
        v.extend_from_slice(&[sub_op, 0, 0, 0]);
        v.extend_from_slice(&p);
        v.extend_from_slice(&info.to_le_bytes());
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(&chars);
        v.extend_from_slice(tail);
        v
    }

    fn put32(p: &mut [u8], at: usize, x: u32) {
        if let Some(s) = p.get_mut(at..at + 4) {
            s.copy_from_slice(&x.to_le_bytes());
        }
    }

    fn put16(p: &mut [u8], at: usize, x: u16) {
        if let Some(s) = p.get_mut(at..at + 2) {
            s.copy_from_slice(&x.to_le_bytes());
        }
    }

    /// Parameters of a CreateFile (IRP_MJ_CREATE) request.
    #[derive(Clone, Debug, Default)]
    pub struct CreateFile<'a> {
        /// Desired access (file access mask, table 11.19), e.g. 0x120089 Generic Read.
        pub desired_access: u32,
        /// Disposition (table 11.14): 0 Supersede, 1 Open, 2 Create, 3 OpenIf, 4 Overwrite,
        /// 5 OverwriteIf.
        pub disposition: u8,
        /// Create options, low 24 bits (table 11.16), e.g. 0x60 Synchronous IO Non-Alert |
        /// Non-Directory File.
        pub options: u32,
        /// File attributes (table 11.17); 0 prints `n/a`.
        pub attributes: u16,
        /// Share access bits: 1 Read, 2 Write, 4 Delete.
        pub share: u16,
        /// Allocation size in bytes (printed for creating dispositions).
        pub allocation: u32,
        /// SID of the impersonated client (binary SID), when impersonating.
        pub impersonation_sid: Option<&'a [u8]>,
    }

    /// CreateFile (op 20) detail (§9.2): P+0x10/+0x14 options word (disposition << 24 |
    /// options), P+0x14/+0x1C attributes, P+0x16/+0x1E share access, P+0x24/+0x34 allocation
    /// size; after the path u32 desired access, u8 SID length, 3 bytes padding, the SID.
    /// P+0x04 (0x884) and P+0x08 (9) are set as seen in real files.
    pub fn fs_create_file(is_64bit: bool, path: &str, c: &CreateFile) -> Vec<u8> {
        let mut p = vec![0u8; fs_param_size(is_64bit)];
        put32(&mut p, 0x04, 0x884);
        put32(&mut p, 0x08, 9);
        let (opt, attr, share, alloc) = if is_64bit {
            (0x14, 0x1C, 0x1E, 0x34)
        } else {
            (0x10, 0x14, 0x16, 0x24)
        };
        put32(
            &mut p,
            opt,
            (u32::from(c.disposition) << 24) | (c.options & 0x00FF_FFFF),
        );
        put16(&mut p, attr, c.attributes);
        put16(&mut p, share, c.share);
        put32(&mut p, alloc, c.allocation);
        let sid = c.impersonation_sid.unwrap_or(&[]);
        let sid = &sid[..sid.len().min(255)];
        let mut tail = Vec::with_capacity(8 + sid.len());
        le32(&mut tail, c.desired_access);
        tail.extend_from_slice(&[sid.len() as u8, 0, 0, 0]);
        tail.extend_from_slice(sid);
        fs_common(is_64bit, 0, p, path, &tail)
    }

    /// CreateFile extra detail (§9.2, table 11.15): u32 open result (0 Superseded, 1 Opened,
    /// 2 Created, 3 Overwritten, 4 Exists, 5 DoesNotExist). Omit it when the create failed.
    pub fn fs_create_file_extra(open_result: u32) -> Vec<u8> {
        open_result.to_le_bytes().to_vec()
    }

    /// ReadFile (op 23) / WriteFile (op 24) detail (§9.2): P+0x04 IRP flags word (I/O flags =
    /// word & 0xE000FF, priority = (word >> 17) & 7), P+0x0C requested length, P+0x14/+0x1C
    /// byte offset (s64). Example flags: 0x60900 (priority Normal), 0x60943 (Non-cached, Paging
    /// I/O, Synchronous Paging I/O, Normal).
    pub fn fs_read_write(
        is_64bit: bool,
        path: &str,
        offset: i64,
        length: u32,
        irp_flags: u32,
    ) -> Vec<u8> {
        let mut p = vec![0u8; fs_param_size(is_64bit)];
        put32(&mut p, 0x04, irp_flags);
        put32(&mut p, 0x08, 1);
        put32(&mut p, 0x0C, length);
        let at = if is_64bit { 0x1C } else { 0x14 };
        if let Some(s) = p.get_mut(at..at + 8) {
            s.copy_from_slice(&offset.to_le_bytes());
        }
        fs_common(is_64bit, 0, p, path, &[])
    }

    /// ReadFile / WriteFile extra detail (§9.2): u32 transferred length.
    pub fn fs_transfer_extra(transferred: u32) -> Vec<u8> {
        transferred.to_le_bytes().to_vec()
    }

    /// CloseFile (op 38, IRP_MJ_CLEANUP) detail (§9.2): the common part only (P+0x04 = 0x404,
    /// P+0x08 = 1 as in real files).
    pub fn fs_close_file(is_64bit: bool, path: &str) -> Vec<u8> {
        let mut p = vec![0u8; fs_param_size(is_64bit)];
        put32(&mut p, 0x04, 0x404);
        put32(&mut p, 0x08, 1);
        fs_common(is_64bit, 0, p, path, &[])
    }

    /// QueryInformationFile (op 25) detail (§9.2, table 11.9): sub-operation byte = the
    /// FILE_INFORMATION_CLASS (4 = QueryBasicInformationFile), P+0x0C buffer length,
    /// P+0x10/+0x14 the information class again.
    pub fn fs_query_information(
        is_64bit: bool,
        path: &str,
        info_class: u8,
        length: u32,
    ) -> Vec<u8> {
        let mut p = vec![0u8; fs_param_size(is_64bit)];
        put32(&mut p, 0x08, 2);
        put32(&mut p, 0x0C, length);
        put32(
            &mut p,
            if is_64bit { 0x14 } else { 0x10 },
            u32::from(info_class),
        );
        fs_common(is_64bit, info_class, p, path, &[])
    }

    /// QueryBasicInformationFile (op 25, sub 4) detail: [`fs_query_information`] with class 4
    /// and the 40-byte FILE_BASIC_INFORMATION buffer.
    pub fn fs_query_basic_information(is_64bit: bool, path: &str) -> Vec<u8> {
        fs_query_information(is_64bit, path, 4, 40)
    }

    /// FILE_BASIC_INFORMATION extra detail (§9.2): creation, last access, last write and
    /// change times (FILETIME, UTC), u32 attributes, 4 bytes padding.
    pub fn fs_basic_information_extra(
        creation: u64,
        last_access: u64,
        last_write: u64,
        change: u64,
        attributes: u32,
    ) -> Vec<u8> {
        let mut v = Vec::with_capacity(40);
        for t in [creation, last_access, last_write, change] {
            v.extend_from_slice(&t.to_le_bytes());
        }
        le32(&mut v, attributes);
        le32(&mut v, 0);
        v
    }

    // --- Process (class 1), format-pml.md §9.3 ------------------------------------------

    /// Load Image (op 5) detail (§9.3): ptr image base, u32 image size, u16 path info, u16
    /// unknown (0), path (8-bit when ASCII, as in every real file).
    pub fn load_image(is_64bit: bool, base: u64, size: u32, path: &str) -> Vec<u8> {
        let (info, chars) = detail_string(path);
        let mut v = Vec::with_capacity(16 + chars.len());
        if is_64bit {
            v.extend_from_slice(&base.to_le_bytes());
        } else {
            le32(&mut v, base as u32);
        }
        le32(&mut v, size);
        v.extend_from_slice(&info.to_le_bytes());
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(&chars);
        v
    }

    /// Thread Create (op 3) detail (§9.3): u32 id of the new thread.
    pub fn thread_create(new_tid: u32) -> Vec<u8> {
        new_tid.to_le_bytes().to_vec()
    }

    /// Process Start (op 7) detail (§9.3): u32 parent pid, u16 command line info, u16 current
    /// directory info, u32 environment length in characters, then command line, current
    /// directory (UTF-16) and the environment block (`NAME=value` strings, each NUL-terminated,
    /// then a final NUL).
    pub fn process_start(
        parent_pid: u32,
        command_line: &str,
        current_dir: &str,
        environment: &[&str],
    ) -> Vec<u8> {
        let (ci, cb) = utf16_string(command_line);
        let (di, db) = utf16_string(current_dir);
        let mut env: Vec<u16> = Vec::new();
        for e in environment {
            env.extend(e.encode_utf16());
            env.push(0);
        }
        env.push(0);
        let mut v = Vec::with_capacity(12 + cb.len() + db.len() + env.len() * 2);
        le32(&mut v, parent_pid);
        v.extend_from_slice(&ci.to_le_bytes());
        v.extend_from_slice(&di.to_le_bytes());
        le32(&mut v, env.len() as u32);
        v.extend_from_slice(&cb);
        v.extend_from_slice(&db);
        v.extend(env.iter().flat_map(|u| u.to_le_bytes()));
        v
    }

    /// Parameters of a Process Create event.
    #[derive(Clone, Debug, Default)]
    pub struct ProcessCreate<'a> {
        /// Process-table key of the new process.
        pub new_index: u32,
        /// Id of the new process.
        pub new_pid: u32,
        /// Process-table key of the creating process.
        pub parent_index: u32,
        /// Id of the creating process.
        pub parent_pid: u32,
        /// Session of the new process.
        pub session: u32,
        /// Start time of the new process, FILETIME (UTC).
        pub start_time: u64,
        /// Logon session LUID of the new process.
        pub auth_id: u64,
        /// User SID of the new process (binary).
        pub user_sid: &'a [u8],
        /// Integrity-level SID of the new process (binary, e.g. S-1-16-16384 System).
        pub integrity_sid: &'a [u8],
        /// Image path.
        pub image_path: &'a str,
        /// Command line.
        pub command_line: &'a str,
    }

    /// Process Create (op 1) detail (§9.3): u32 new process key, u32 new pid, then 0x24
    /// bytes: u32 parent key, u32 parent pid, u32 session, u32 0, FILETIME start time, u64 logon
    /// LUID, u32 0 (these inner fields are *inferred* from real files; no source names them),
    /// then u8 user SID length, u8 integrity SID length, u16 image path info, u16 command line
    /// info, u16 unknown (0), the two SIDs, image path and command line (UTF-16).
    pub fn process_create(c: &ProcessCreate) -> Vec<u8> {
        let (ii, ib) = utf16_string(c.image_path);
        let (ci, cb) = utf16_string(c.command_line);
        let us = &c.user_sid[..c.user_sid.len().min(255)];
        let is = &c.integrity_sid[..c.integrity_sid.len().min(255)];
        let mut v = Vec::with_capacity(0x34 + us.len() + is.len() + ib.len() + cb.len());
        le32(&mut v, c.new_index);
        le32(&mut v, c.new_pid);
        le32(&mut v, c.parent_index);
        le32(&mut v, c.parent_pid);
        le32(&mut v, c.session);
        le32(&mut v, 0);
        v.extend_from_slice(&c.start_time.to_le_bytes());
        v.extend_from_slice(&c.auth_id.to_le_bytes());
        le32(&mut v, 0);
        v.push(us.len() as u8);
        v.push(is.len() as u8);
        v.extend_from_slice(&ii.to_le_bytes());
        v.extend_from_slice(&ci.to_le_bytes());
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(us);
        v.extend_from_slice(is);
        v.extend_from_slice(&ib);
        v.extend_from_slice(&cb);
        v
    }

    /// Binary SID from its authority and sub-authorities (S-1-`authority`-`sub`...).
    pub fn sid(authority: u64, subs: &[u32]) -> Vec<u8> {
        let subs = &subs[..subs.len().min(15)];
        let mut v = Vec::with_capacity(8 + 4 * subs.len());
        v.push(1);
        v.push(subs.len() as u8);
        v.extend_from_slice(&authority.to_be_bytes()[2..8]);
        for s in subs {
            le32(&mut v, *s);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(is_64bit: bool) -> PmlModel {
        let mut m = PmlModel::new(is_64bit);
        m.computer_name = "HOST".into();
        m.processes.push(ProcessModel {
            index: 7,
            pid: 4,
            name: "System".into(),
            integrity: "System".into(),
            modules: vec![ModuleModel {
                base: 0x8000_0000,
                size: 0x1000,
                path: "C:\\x.sys".into(),
                ..Default::default()
            }],
            ..Default::default()
        });
        m.events.push(EventModel {
            process_index: 7,
            tid: 8,
            class: 2,
            operation: 0,
            time: 1,
            stack: vec![0x8000_0010],
            detail: build::reg_open_key("HKLM\\A", 0x20019),
            extra: Some(build::reg_open_key_extra(0x20019, 0)),
            ..Default::default()
        });
        m
    }

    #[test]
    fn reads_back_and_rewrites_identically() {
        for p64 in [false, true] {
            let bytes = write(&tiny(p64));
            let pml = Pml::from_bytes(bytes.clone(), Path::new("t.pml")).expect("parse");
            assert!(pml.warnings.is_empty(), "{:?}", pml.warnings);
            assert_eq!(pml.strings[0], "");
            assert_eq!(pml.event_count(), 1);
            let ev = pml.event(0).expect("event");
            assert_eq!(ev.extra.map(<[u8]>::len), Some(8));
            let p = pml.process(7).expect("process");
            assert_eq!(
                pml.resolve_frame(Some(p), 0x8000_0010).map(|m| m.name()),
                Some("x.sys")
            );
            let again = write(&PmlModel::from_pml(&pml).expect("model"));
            assert_eq!(again, bytes);
        }
    }

    #[test]
    fn string_table_counts_the_nul() {
        let bytes = write(&tiny(false));
        let pml = Pml::from_bytes(bytes.clone(), Path::new("t.pml")).expect("parse");
        let st = pml.header.string_table_offset as usize;
        let mut r = Rd::at(&bytes, st);
        let n = r.u32() as usize;
        let rel0 = Rd::at(&bytes, st + 4).u32() as usize;
        assert_eq!(rel0, 4 + 4 * n);
        assert_eq!(
            Rd::at(&bytes, st + rel0).u32(),
            0,
            "index 0 is empty, length 0"
        );
        let rel1 = Rd::at(&bytes, st + 8).u32() as usize;
        // "System" = 6 chars + NUL
        assert_eq!(Rd::at(&bytes, st + rel1).u32(), 14);
    }
}
