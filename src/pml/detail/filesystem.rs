//! File System (class 3) and IPC (class 6) events: Operation, Path, Detail and Category exactly
//! as Process Monitor prints them (`procmon-text.md` §2.5-§2.7, §3.1-§3.2, §5).
//!
//! Detail block layout (`format-pml.md` §9.2): u8 sub-operation, 3 bytes padding, the parameter
//! area P (0x28 bytes in 32-bit captures, 0x3C in 64-bit ones), u16 path string info, 2 bytes
//! padding, the path characters, then operation-specific trailing fields ("tail"). The
//! extra-detail block ("X") holds the operation's result structure when the operation returned
//! one. Every read is bounds-checked ([`Rd`]): short or damaged blocks read as zeros.

mod control;
mod names;

use super::Decoded;
use crate::pml::bytes::Rd;
use crate::pml::reader::QueryDirectoryStyle;
use crate::pml::reader::{Pml, RawEvent};
use crate::pml::text;
use names::op;
use std::borrow::Cow;
use std::fmt::Write as _;

/// Stop building long listings once the text is certainly past Procmon's 4,095-character cap
/// (4 bytes per character at most); [`super::decode`] cuts the rest.
const DETAIL_BYTES_ENOUGH: usize = 4 * super::DETAIL_MAX_CHARS;

/// The common part of a File System detail block (`format-pml.md` §9.2).
struct Fs<'a> {
    /// Sub-operation byte (minor function / information class).
    sub: u8,
    /// Parameter area P (may be shorter than its nominal size in a damaged record).
    p: &'a [u8],
    /// Bytes after the path characters.
    tail: &'a [u8],
    /// Extra-detail block, when present.
    extra: Option<&'a [u8]>,
    /// Pointer size of the capture: selects the 32-bit or 64-bit offset in P.
    is_64bit: bool,
}

impl<'a> Fs<'a> {
    /// A cursor in P at the 32-bit or 64-bit offset.
    fn p_at(&self, off32: usize, off64: usize) -> Rd<'a> {
        Rd::at(self.p, if self.is_64bit { off64 } else { off32 })
    }
    /// u32 in P at the 32-bit / 64-bit offset.
    fn p_u32(&self, off32: usize, off64: usize) -> u32 {
        self.p_at(off32, off64).u32()
    }
}

/// Split a detail block into its common parts and the path.
fn parse<'a>(detail: &'a [u8], extra: Option<&'a [u8]>, is_64bit: bool) -> (Fs<'a>, String) {
    let p_len = if is_64bit { 0x3C } else { 0x28 };
    let p = detail.get(4..).unwrap_or(&[]);
    let p = &p[..p.len().min(p_len)];
    let mut r = Rd::at(detail, 4 + p_len);
    let info = r.u16();
    r.skip(2);
    let path = r.detail_string(info);
    let tail = detail.get(r.pos..).unwrap_or(&[]);
    let fs = Fs {
        sub: detail.first().copied().unwrap_or(0),
        p,
        tail,
        extra,
        is_64bit,
    };
    (fs, path)
}

/// Decode Operation, Path, Detail and Category of a File System or IPC event.
pub fn decode(pml: &Pml, ev: &RawEvent) -> Decoded {
    let (fs, mut path) = parse(ev.detail, ev.extra, pml.header.is_64bit);
    let Some(name) = names::operation(ev.operation, fs.sub) else {
        // An unnamed sub-operation (`procmon-text.md` §2.5): no Detail, no Category.
        return Decoded {
            operation: Cow::Borrowed("<Unknown>"),
            path,
            ..Decoded::default()
        };
    };
    let mut out = Out::default();
    let o = &mut out;
    let category = match ev.operation {
        op::CREATE_FILE | op::CREATE_PIPE | op::CREATE_MAIL_SLOT => create_file(o, &fs, pml),
        op::READ_FILE | op::FASTIO_MDL_READ => {
            read_write(o, &fs);
            "Read"
        }
        op::WRITE_FILE | op::FASTIO_MDL_WRITE => {
            read_write(o, &fs);
            "Write"
        }
        op::CREATE_FILE_MAPPING => {
            create_file_mapping(o, &fs);
            ""
        }
        op::QUERY_INFORMATION => {
            query_information(o, &fs);
            "Read Metadata"
        }
        op::SET_INFORMATION => set_information(o, &fs),
        op::QUERY_EA => "Read Metadata",
        op::SET_EA => "Write Metadata",
        op::QUERY_VOLUME_INFORMATION => {
            query_volume(o, &fs);
            ""
        }
        op::DIRECTORY_CONTROL => {
            match fs.sub {
                1 => query_directory(o, &fs, &mut path, pml.text_style.query_directory),
                _ => notify_change_directory(o, &fs),
            }
            "Read Metadata"
        }
        op::FILE_SYSTEM_CONTROL | op::DEVICE_IO_CONTROL | op::INTERNAL_DEVICE_IO_CONTROL => {
            device_control(o, &fs)
        }
        op::LOCK_UNLOCK_FILE => {
            lock_unlock(o, &fs);
            ""
        }
        op::QUERY_SECURITY => {
            security_information(o, &fs);
            "Read Metadata"
        }
        op::SET_SECURITY => {
            security_information(o, &fs);
            "Write Metadata"
        }
        // CloseFile, FlushBuffersFile, QueryOpen and the other fast-I/O and IRP operations
        // print no Detail (`procmon-text.md` §3.2.9).
        _ => "",
    };
    Decoded {
        operation: Cow::Borrowed(name),
        path,
        detail: out.0,
        category,
    }
}

/// Detail text under construction: `Name: value` items joined by `, ` (`procmon-text.md` §3.1).
#[derive(Default)]
struct Out(String);

impl Out {
    /// Start item `name` and return the text to append its value to.
    fn item(&mut self, name: &str) -> &mut String {
        if !self.0.is_empty() {
            self.0.push_str(", ");
        }
        self.0.push_str(name);
        self.0.push_str(": ");
        &mut self.0
    }
}

/// Append `v` in decimal with en-US thousands separators (`2,147,483,538`).
fn push_thousands(s: &mut String, v: u64) {
    let mut digits = [0u8; 20];
    let mut n = v;
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for i in (0..len).rev() {
        s.push(char::from(digits[i]));
        if i > 0 && i % 3 == 0 {
            s.push(',');
        }
    }
}

/// Signed decimal with thousands separators (`-1,024`).
fn push_thousands_i64(s: &mut String, v: i64) {
    if v < 0 {
        s.push('-');
    }
    push_thousands(s, v.unsigned_abs());
}

/// `True` / `False`.
fn push_bool(s: &mut String, b: bool) {
    s.push_str(if b { "True" } else { "False" });
}

/// A FILETIME as Procmon prints dates inside Detail: `M/D/YYYY H:MM:SS AM` (§3.1).
fn push_date(s: &mut String, ft: u64) {
    s.push_str(&text::date_time(ft));
}

/// Append UTF-16LE text (unpaired surrogates become U+FFFD).
fn push_utf16(s: &mut String, b: &[u8]) {
    let units = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
    s.extend(char::decode_utf16(units).map(|r| r.unwrap_or('\u{FFFD}')));
}

/// Append the names of the bits of `v` found in `table` (in table order) joined by `sep`, then
/// the remaining bits as one lower-case hex number when `hex_rest`. Returns true when anything
/// was written.
fn push_flags(s: &mut String, v: u32, table: &[(u32, &str)], sep: &str, hex_rest: bool) -> bool {
    let start = s.len();
    let mut rest = v;
    for &(bit, name) in table {
        if v & bit == bit && bit != 0 {
            if s.len() > start {
                s.push_str(sep);
            }
            s.push_str(name);
            rest &= !bit;
        }
    }
    if hex_rest && rest != 0 {
        if s.len() > start {
            s.push_str(sep);
        }
        let _ = write!(s, "0x{rest:x}");
    }
    s.len() > start
}

/// A name from a dense table, or the value in decimal when the table has none.
fn push_name(s: &mut String, table: &[&str], v: u32) {
    match table.get(v as usize) {
        Some(n) if !n.is_empty() => s.push_str(n),
        _ => {
            let _ = write!(s, "{v}");
        }
    }
}

/// File attribute letters (table 11.17), `n/a` for 0; unnamed bits follow as hex.
fn push_attributes(s: &mut String, v: u32) {
    if v == 0 {
        s.push_str("n/a");
    } else {
        push_flags(s, v, &names::ATTRIBUTES, "", true);
    }
}

/// A file access mask as Procmon names it (table 11.19): generic bits mapped, the first
/// composite word contained in the mask, then the remaining single rights in table order.
fn push_access(s: &mut String, mask: u32) {
    let mut m = mask;
    for (generic, rights) in names::GENERIC_MAP {
        if m & generic != 0 {
            m = (m & !generic) | rights;
        }
    }
    let start = s.len();
    if let Some(&(word, name)) = names::ACCESS_WORDS.iter().find(|(w, _)| m & w == *w) {
        s.push_str(name);
        m &= !word;
    }
    if m != 0 {
        if s.len() > start {
            s.push_str(", ");
        }
        push_flags(s, m, &names::ACCESS_BITS, ", ", true);
    }
}

/// CreateFile options (table 11.16) in Procmon's order, `, `-joined (0 prints nothing).
fn push_options(s: &mut String, options: u32) {
    push_flags(s, options, &names::CREATE_OPTIONS, ", ", true);
}

/// CreateFile, CreatePipe, CreateMailSlot (`procmon-text.md` §3.2.1; layout §9.2): options
/// word at P+0x10/0x14, attributes and share access at P+0x14/0x1C and +0x16/0x1E, allocation
/// size at P+0x24/0x34; tail = u32 desired access, u8 SID length, 3 padding, SID; X = u32 open
/// result. Returns the Category (§2.7).
fn create_file(out: &mut Out, fs: &Fs, pml: &Pml) -> &'static str {
    let word = fs.p_u32(0x10, 0x14);
    let disposition = word >> 24;
    let options = word & 0x00FF_FFFF;
    let mut r = fs.p_at(0x14, 0x1C);
    let attributes = u32::from(r.u16());
    let share = u32::from(r.u16());
    let allocation = fs.p_u32(0x24, 0x34);
    let mut t = Rd::new(fs.tail);
    let access = t.u32();
    let sid_len = usize::from(t.u8());
    t.skip(3);
    let sid = t.bytes(sid_len);
    let open_result = fs.extra.map(|x| Rd::new(x).u32());

    push_access(out.item("Desired Access"), access);
    push_name(out.item("Disposition"), &names::DISPOSITION, disposition);
    push_options(out.item("Options"), options);
    push_attributes(out.item("Attributes"), attributes);
    let s = out.item("ShareMode");
    if !push_flags(s, share, &names::SHARE, ", ", true) {
        s.push_str("None");
    }
    let s = out.item("AllocationSize");
    match disposition {
        0 | 2 | 3 | 5 => push_thousands(s, u64::from(allocation)),
        _ => s.push_str("n/a"),
    }
    if sid_len > 0 {
        push_account(out.item("Impersonating"), sid, pml);
    }
    if let Some(res) = open_result {
        push_name(out.item("OpenResult"), &names::OPEN_RESULT, res);
    }
    // Write when the disposition can create or overwrite; OpenIf only when the open did not
    // just open an existing file (`procmon-text.md` §2.7).
    match disposition {
        0 | 2 | 4 | 5 => "Write",
        3 if open_result.is_some_and(|r| r != 1) => "Write",
        _ => "",
    }
}

/// Append a binary SID as `S-1-5-21-…` (revision, 48-bit big-endian authority, u32
/// sub-authorities; the count byte is capped by the bytes present).
fn push_sid(s: &mut String, sid: &[u8]) {
    let mut r = Rd::new(sid);
    let revision = r.u8();
    let count = usize::from(r.u8());
    let authority = r
        .bytes(6)
        .iter()
        .fold(0u64, |a, &b| (a << 8) | u64::from(b));
    let _ = write!(s, "S-{revision}-");
    if authority >> 32 == 0 {
        let _ = write!(s, "{authority}");
    } else {
        let _ = write!(s, "0x{authority:012X}");
    }
    for _ in 0..count.min(r.remaining() / 4) {
        let _ = write!(s, "-{}", r.u32());
    }
}

/// Well-known SIDs and the account names Windows gives them (`procmon-text.md` §3.2.1).
const WELL_KNOWN_SIDS: [(&str, &str); 4] = [
    ("S-1-5-18", "NT AUTHORITY\\SYSTEM"),
    ("S-1-5-19", "NT AUTHORITY\\LOCAL SERVICE"),
    ("S-1-5-20", "NT AUTHORITY\\NETWORK SERVICE"),
    ("S-1-5-7", "NT AUTHORITY\\ANONYMOUS LOGON"),
];

/// The impersonated account of a CreateFile (`procmon-text.md` §3.2.1, §5): well-known SIDs
/// by table; a local-account SID (`S-1-5-21-…`) as the one process user whose domain is the
/// header's computer name — a heuristic, since the PML stores no name for it; otherwise the
/// SID itself.
fn push_account(s: &mut String, sid: &[u8], pml: &Pml) {
    let mut text = String::with_capacity(48);
    push_sid(&mut text, sid);
    if let Some((_, name)) = WELL_KNOWN_SIDS.iter().find(|(k, _)| *k == text) {
        s.push_str(name);
        return;
    }
    if text.starts_with("S-1-5-21-") {
        if let Some(user) = local_user(pml) {
            s.push_str(user);
            return;
        }
    }
    s.push_str(&text);
}

/// The single distinct process user `COMPUTER\name` whose domain equals the capture's computer
/// name, if there is exactly one.
fn local_user(pml: &Pml) -> Option<&str> {
    let computer = pml.header.computer_name.as_str();
    let mut found: Option<&str> = None;
    for p in &pml.processes {
        let Some((domain, _)) = p.user.split_once('\\') else {
            continue;
        };
        if computer.is_empty() || !domain.eq_ignore_ascii_case(computer) {
            continue;
        }
        match found {
            None => found = Some(&p.user),
            Some(u) if u.eq_ignore_ascii_case(&p.user) => {}
            Some(_) => return None,
        }
    }
    found
}

/// ReadFile, WriteFile (`procmon-text.md` §3.2.2): flags word at P+0x04, requested length at
/// P+0x0C, s64 offset at P+0x14/0x1C; X = u32 transferred length.
fn read_write(out: &mut Out, fs: &Fs) {
    let flags = fs.p_u32(0x04, 0x04);
    let requested = fs.p_u32(0x0C, 0x0C);
    let offset = fs.p_at(0x14, 0x1C).i64();
    let length = fs.extra.map_or(requested, |x| Rd::new(x).u32());
    push_thousands_i64(out.item("Offset"), offset);
    push_thousands(out.item("Length"), u64::from(length));
    let io_flags = flags & 0x00E0_00FF;
    if io_flags != 0 {
        push_flags(
            out.item("I/O Flags"),
            io_flags,
            &names::IO_FLAGS,
            ", ",
            true,
        );
    }
    let priority = (flags >> 17) & 7;
    if priority != 0 {
        push_name(out.item("Priority"), &names::PRIORITY, priority);
    }
}

/// CreateFileMapping (`procmon-text.md` §3.2.5): SyncType at P+0x0C; page protection at P+0x10
/// in 32-bit captures but P+0x14 in 64-bit ones (Procmon's own misread, reproduced).
fn create_file_mapping(out: &mut Out, fs: &Fs) {
    let sync = fs.p_u32(0x0C, 0x0C);
    push_name(out.item("SyncType"), &names::SYNC_TYPE, sync);
    if sync == 1 {
        let prot = fs.p_u32(0x10, 0x14);
        let s = out.item("PageProtection");
        let start = s.len();
        if let Some((_, name)) = names::PAGE_PROTECTION.iter().find(|(b, _)| prot & b != 0) {
            s.push_str(name);
        }
        if prot & names::PAGE_NOCACHE != 0 {
            if s.len() > start {
                s.push('|');
            }
            s.push_str("PAGE_NOCACHE");
        }
    }
}

/// QueryInformationFile (`procmon-text.md` §3.2.7): the FILE_*_INFORMATION structure in X.
/// Nothing is printed when X is absent.
fn query_information(out: &mut Out, fs: &Fs) {
    let Some(x) = fs.extra else { return };
    let mut r = Rd::new(x);
    match fs.sub {
        0x04 => {
            basic_times(out, &mut r);
            push_attributes(out.item("FileAttributes"), r.u32());
        }
        0x05 => standard(out, &mut r),
        0x06 => {
            let _ = write!(out.item("IndexNumber"), "0x{:x}", r.u64());
        }
        0x09 => {
            let n = r.u32() as usize;
            let name = r.bytes(n.min(r.remaining()));
            push_utf16(out.item("Name"), name);
        }
        0x12 => query_all(out, &mut r),
        0x22 => {
            // AllocationSize and EndOfFile are printed as dates: Procmon's own bug.
            basic_times(out, &mut r);
            push_date(out.item("AllocationSize"), r.u64());
            push_date(out.item("EndOfFile"), r.u64());
            push_attributes(out.item("FileAttributes"), r.u32());
        }
        0x23 => {
            push_attributes(out.item("Attributes"), r.u32());
            let _ = write!(out.item("ReparseTag"), "0x{:x}", r.u32());
        }
        _ => {}
    }
}

/// The four FILETIMEs of FILE_BASIC_INFORMATION and its relatives.
fn basic_times(out: &mut Out, r: &mut Rd) {
    for name in [
        "CreationTime",
        "LastAccessTime",
        "LastWriteTime",
        "ChangeTime",
    ] {
        push_date(out.item(name), r.u64());
    }
}

/// FILE_STANDARD_INFORMATION: u64 allocation, u64 end of file, u32 links, u8 delete pending,
/// u8 directory, 2 padding.
fn standard(out: &mut Out, r: &mut Rd) {
    push_thousands_i64(out.item("AllocationSize"), r.i64());
    push_thousands_i64(out.item("EndOfFile"), r.i64());
    let _ = write!(out.item("NumberOfLinks"), "{}", r.u32());
    push_bool(out.item("DeletePending"), r.u8() != 0);
    push_bool(out.item("Directory"), r.u8() != 0);
    r.skip(2);
}

/// FILE_ALL_INFORMATION (`procmon-text.md` §3.2.7): basic (+4 padding), standard, index number,
/// EA size, access, position, mode, alignment; the file name is not printed.
fn query_all(out: &mut Out, r: &mut Rd) {
    basic_times(out, r);
    push_attributes(out.item("FileAttributes"), r.u32());
    r.skip(4);
    standard(out, r);
    let _ = write!(out.item("IndexNumber"), "0x{:x}", r.u64());
    let _ = write!(out.item("EaSize"), "{}", r.u32());
    push_access(out.item("Access"), r.u32());
    push_thousands_i64(out.item("Position"), r.i64());
    push_options(out.item("Mode"), r.u32());
    let alignment = r.u32();
    let s = out.item("AlignmentRequirement");
    match names::alignment(alignment) {
        Some(n) => s.push_str(n),
        None => {
            let _ = write!(s, "{alignment}");
        }
    }
}

/// SetInformationFile (`procmon-text.md` §3.2.7): the new values in the tail. Returns the
/// Category (§2.7; the sets not in the corpus are filed by analogy: rename and link change the
/// name space like a delete, the other sets change metadata).
fn set_information(out: &mut Out, fs: &Fs) -> &'static str {
    let mut r = Rd::new(fs.tail);
    match fs.sub {
        0x04 => {
            basic_times(out, &mut r);
            push_attributes(out.item("FileAttributes"), r.u32());
            "Write Metadata"
        }
        0x0D => {
            push_bool(out.item("Delete"), r.u8() != 0);
            "Write"
        }
        0x13 => {
            push_thousands_i64(out.item("AllocationSize"), r.i64());
            "Write Metadata"
        }
        0x14 => {
            push_thousands_i64(out.item("EndOfFile"), r.i64());
            "Write Metadata"
        }
        0x0A | 0x0B | 0x40 | 0x41 | 0x42 => "Write",
        0x0E | 0x17 => "",
        _ => "Write Metadata",
    }
}

/// QueryVolumeInformation (`procmon-text.md` §3.2.8): the FILE_FS_*_INFORMATION structure in X.
fn query_volume(out: &mut Out, fs: &Fs) {
    let Some(x) = fs.extra else { return };
    let mut r = Rd::new(x);
    match fs.sub {
        1 => {
            push_date(out.item("VolumeCreationTime"), r.u64());
            let serial = r.u32();
            let _ = write!(
                out.item("VolumeSerialNumber"),
                "{:04X}-{:04X}",
                serial >> 16,
                serial & 0xFFFF
            );
            let label_len = r.u32() as usize;
            push_bool(out.item("SupportsObjects"), r.u8() != 0);
            r.skip(1);
            let label = r.bytes(label_len.min(r.remaining()));
            push_utf16(out.item("VolumeLabel"), label);
        }
        3 => {
            push_thousands_i64(out.item("TotalAllocationUnits"), r.i64());
            push_thousands_i64(out.item("AvailableAllocationUnits"), r.i64());
            push_thousands(out.item("SectorsPerAllocationUnit"), u64::from(r.u32()));
            push_thousands(out.item("BytesPerSector"), u64::from(r.u32()));
        }
        5 => {
            let attributes = r.u32();
            let max_len = r.u32() as i32;
            let name_len = r.u32() as usize;
            push_flags(
                out.item("FileSystemAttributes"),
                attributes,
                &names::FS_ATTRIBUTES,
                ", ",
                true,
            );
            let _ = write!(out.item("MaximumComponentNameLength"), "{max_len}");
            let name = r.bytes(name_len.min(r.remaining()));
            push_utf16(out.item("FileSystemName"), name);
        }
        7 => {
            push_thousands_i64(out.item("TotalAllocationUnits"), r.i64());
            push_thousands_i64(out.item("CallerAvailableAllocationUnits"), r.i64());
            push_thousands_i64(out.item("ActualAvailableAllocationUnits"), r.i64());
            push_thousands(out.item("SectorsPerAllocationUnit"), u64::from(r.u32()));
            push_thousands(out.item("BytesPerSector"), u64::from(r.u32()));
        }
        8 => {
            let s = out.item("ObjectId");
            for b in r.bytes(16) {
                let _ = write!(s, "{b:02X}");
            }
        }
        _ => {}
    }
}

/// QueryDirectory (`procmon-text.md` §3.2.4, slot rule): information class at P+0x14/0x1C,
/// filter (u16 string info + characters) in the tail, the returned FILE_*_DIR_INFORMATION
/// chain in X. Slot 0 holds the filter when there is one, entries fill the next slots and
/// print as `slot: name`; once two slots are filled, slot 2 is `FileInformationClass` (appended
/// when there are exactly two, else replacing the entry that had slot 2). The filter is also
/// appended to the Path (§2.6). With [`QueryDirectoryStyle::AllEntries`] (the other exporter
/// of §3.2.4) every entry is printed, numbered by slot, and no FileInformationClass.
fn query_directory(out: &mut Out, fs: &Fs, path: &mut String, style: QueryDirectoryStyle) {
    let all = style == QueryDirectoryStyle::AllEntries;
    let class = fs.p_u32(0x14, 0x1C);
    let mut t = Rd::new(fs.tail);
    let info = t.u16();
    let filter = t.detail_string(info);
    let mut slots = 0usize;
    if !filter.is_empty() {
        if !path.ends_with('\\') {
            path.push('\\');
        }
        path.push_str(&filter);
        out.item("Filter").push_str(&filter);
        slots = 1;
    }
    if let (Some(x), Some(layout)) = (fs.extra, names::directory_entry_name(class)) {
        for name in DirEntries::new(x, layout) {
            if slots == 2 && !all {
                push_information_class(out, class);
            } else {
                let sep = if out.0.is_empty() { "" } else { ", " };
                let _ = write!(out.0, "{sep}{slots}: ");
                push_utf16(&mut out.0, name);
            }
            slots += 1;
            if out.0.len() > DETAIL_BYTES_ENOUGH {
                break;
            }
        }
    }
    if slots == 2 && !all {
        push_information_class(out, class);
    }
}

/// The file names (UTF-16 bytes) of a FILE_*_DIR_INFORMATION chain: each entry starts with
/// u32 NextEntryOffset (0 = last); `layout` gives the offsets of FileNameLength and FileName.
struct DirEntries<'a> {
    x: &'a [u8],
    /// Start of the next entry; `None` after the last.
    at: Option<usize>,
    len_at: usize,
    name_at: usize,
}

impl<'a> DirEntries<'a> {
    fn new(x: &'a [u8], (len_at, name_at): (usize, usize)) -> Self {
        DirEntries {
            x,
            at: Some(0),
            len_at,
            name_at,
        }
    }
}

impl<'a> Iterator for DirEntries<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let e = self.x.get(self.at?..).filter(|e| !e.is_empty())?;
        let next = Rd::new(e).u32() as usize;
        self.at = (next != 0).then(|| self.at.unwrap_or(0).saturating_add(next));
        let name_len = Rd::at(e, self.len_at).u32() as usize;
        let name = e.get(self.name_at..).unwrap_or(&[]);
        Some(&name[..name.len().min(name_len)])
    }
}

/// `FileInformationClass: <name>` (decimal when the class has no name).
fn push_information_class(out: &mut Out, class: u32) {
    let s = out.item("FileInformationClass");
    match names::file_information_class(class) {
        Some(n) => s.push_str(n),
        None => {
            let _ = write!(s, "{class}");
        }
    }
}

/// NotifyChangeDirectory (`procmon-text.md` §3.2.9): completion filter at P+0x10/0x14.
fn notify_change_directory(out: &mut Out, fs: &Fs) {
    let filter = fs.p_u32(0x10, 0x14);
    push_flags(
        out.item("Filter"),
        filter,
        &names::NOTIFY_FILTER,
        ", ",
        true,
    );
}

/// FileSystemControl, DeviceIoControl (`procmon-text.md` §3.2.6): control code at P+0x14/0x1C,
/// printed by name or as `0x… (Device:0x… Function:n Method: n)`. Returns the Category (§2.7).
fn device_control(out: &mut Out, fs: &Fs) -> &'static str {
    let code = fs.p_u32(0x14, 0x1C);
    let s = out.item("Control");
    match control::name(code) {
        Some(name) => s.push_str(name),
        None => {
            let _ = write!(
                s,
                "0x{code:x} (Device:0x{:x} Function:{} Method: {})",
                code >> 16,
                (code >> 2) & 0xFFF,
                code & 3
            );
        }
    }
    control_category(code)
}

/// Category of a control code (`procmon-text.md` §2.7; every other code has none).
fn control_category(code: u32) -> &'static str {
    match code {
        0x900A8 => "Read", // FSCTL_GET_REPARSE_POINT
        0x900F4 | 0x900BB | 0x900EB | 0x900C0 => "Read Metadata", // USN journal, object id
        0x900A4 | 0x900EF => "Write Metadata", // FSCTL_SET_REPARSE_POINT, USN close record
        _ => "",
    }
}

/// LockFile, UnlockFileSingle (`procmon-text.md` §3.2.3): s64 offset at P+0x14/0x1C, fail
/// immediately and exclusive bytes at P+0x20/0x2C and the next byte, length = low u32 at tail+0.
fn lock_unlock(out: &mut Out, fs: &Fs) {
    let offset = fs.p_at(0x14, 0x1C).i64();
    let mut b = fs.p_at(0x20, 0x2C);
    let fail_immediately = b.u8() != 0;
    let exclusive = b.u8() != 0;
    let length = Rd::new(fs.tail).u32();
    match fs.sub {
        1 => {
            push_bool(out.item("Exclusive"), exclusive);
            push_thousands_i64(out.item("Offset"), offset);
            push_thousands(out.item("Length"), u64::from(length));
            push_bool(out.item("Fail Immediately"), fail_immediately);
        }
        2 => {
            push_thousands_i64(out.item("Offset"), offset);
            push_thousands(out.item("Length"), u64::from(length));
        }
        _ => {}
    }
}

/// QuerySecurityFile, SetSecurityFile (`procmon-text.md` §3.2.9): SECURITY_INFORMATION at
/// P+0x0C.
fn security_information(out: &mut Out, fs: &Fs) {
    let info = fs.p_u32(0x0C, 0x0C);
    push_flags(
        out.item("Information"),
        info,
        &names::SECURITY_INFORMATION,
        ", ",
        true,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands() {
        let mut s = String::new();
        push_thousands(&mut s, 2_147_483_538);
        s.push(' ');
        push_thousands(&mut s, 0);
        s.push(' ');
        push_thousands(&mut s, 999);
        s.push(' ');
        push_thousands_i64(&mut s, -1024);
        assert_eq!(s, "2,147,483,538 0 999 -1,024");
    }

    #[test]
    fn access_words() {
        let mut s = String::new();
        push_access(&mut s, 0x4000_0080);
        assert_eq!(s, "Generic Write, Read Attributes");
        s.clear();
        push_access(&mut s, 0x1000A1);
        assert_eq!(
            s,
            "Read Data/List Directory, Execute/Traverse, Read Attributes, Synchronize"
        );
    }

    #[test]
    fn sid_text() {
        let mut s = String::new();
        push_sid(&mut s, &[1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]);
        assert_eq!(s, "S-1-5-18");
    }

    /// A FileNamesInformation (class 12) chain of `names`.
    fn names_chain(names: &[&str]) -> Vec<u8> {
        let mut x = Vec::new();
        for (i, n) in names.iter().enumerate() {
            let units: Vec<u8> = n.encode_utf16().flat_map(u16::to_le_bytes).collect();
            let len = 12 + units.len();
            let next = if i + 1 == names.len() { 0 } else { len };
            x.extend_from_slice(&(next as u32).to_le_bytes());
            x.extend_from_slice(&0u32.to_le_bytes());
            x.extend_from_slice(&(units.len() as u32).to_le_bytes());
            x.extend_from_slice(&units);
        }
        x
    }

    fn listing(filter: &str, names: &[&str]) -> (String, String) {
        let mut p = vec![0u8; 0x28];
        p[0x14] = 12;
        let mut tail = (filter.len() as u16).to_le_bytes().to_vec();
        tail.extend(filter.encode_utf16().flat_map(u16::to_le_bytes));
        let x = names_chain(names);
        let fs = Fs {
            sub: 1,
            p: &p,
            tail: &tail,
            extra: (!names.is_empty()).then_some(&x[..]),
            is_64bit: false,
        };
        let mut out = Out::default();
        let mut path = String::from("C:\\");
        query_directory(&mut out, &fs, &mut path, QueryDirectoryStyle::Slots);
        (out.0, path)
    }

    #[test]
    fn query_directory_slots() {
        let class = "FileInformationClass: FileNamesInformation";
        assert_eq!(listing("", &[]).0, "");
        assert_eq!(listing("", &["."]).0, "0: .");
        assert_eq!(listing("", &[".", ".."]).0, format!("0: ., 1: .., {class}"));
        assert_eq!(
            listing("", &[".", "..", "a", "b"]).0,
            format!("0: ., 1: .., {class}, 3: b")
        );
        assert_eq!(listing("x", &[]), ("Filter: x".into(), "C:\\x".into()));
        assert_eq!(listing("x", &["x"]).0, format!("Filter: x, 1: x, {class}"));
        assert_eq!(
            listing("*", &[".", ".."]).0,
            format!("Filter: *, 1: ., {class}")
        );
    }

    #[test]
    fn unknown_sub_operations() {
        assert_eq!(names::operation(30, 11), None);
        assert_eq!(names::operation(30, 1), Some("QueryInformationVolume"));
        assert_eq!(names::operation(6, 0), Some("QueryOpen"));
        assert_eq!(names::operation(48, 0), None);
    }

    #[test]
    fn short_blocks_do_not_panic() {
        for is_64bit in [false, true] {
            for len in 0..0x60 {
                let d = vec![0xFFu8; len];
                let (fs, _) = parse(&d, Some(&d), is_64bit);
                let mut out = Out::default();
                let mut path = String::new();
                read_write(&mut out, &fs);
                create_file_mapping(&mut out, &fs);
                query_information(&mut out, &fs);
                set_information(&mut out, &fs);
                query_volume(&mut out, &fs);
                query_directory(&mut out, &fs, &mut path, QueryDirectoryStyle::Slots);
                notify_change_directory(&mut out, &fs);
                device_control(&mut out, &fs);
                lock_unlock(&mut out, &fs);
                security_information(&mut out, &fs);
            }
        }
    }
}
