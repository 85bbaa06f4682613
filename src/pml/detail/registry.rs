//! Registry events (class 2): Operation, Path, Detail and Category as Procmon prints them
//! (`procmon-text.md` §2.5-§2.7, §3.3; layout `format-pml.md` §9.1, tables 11.3, 11.20,
//! 11.23-11.27).
//!
//! Detail block (§9.1): u16 path string info, operation-specific fields, the key path
//! characters, then for RegSetValue / RegSetInfoKey the inline data, for RegLoadKey /
//! RegRenameKey a second string. The extra-detail block holds the result structure
//! (granted access and disposition, KEY_*_INFORMATION, KEY_VALUE_*_INFORMATION).

use super::{Decoded, DETAIL_MAX_CHARS};
use crate::pml::bytes::Rd;
use crate::pml::reader::{Pml, RawEvent};
use std::borrow::Cow;
use std::fmt::Write as _;

/// Registry operation names by number (table 11.3).
const OPS: [&str; 18] = [
    "RegOpenKey",
    "RegCreateKey",
    "RegCloseKey",
    "RegQueryKey",
    "RegSetValue",
    "RegQueryValue",
    "RegEnumValue",
    "RegEnumKey",
    "RegSetInfoKey",
    "RegDeleteKey",
    "RegDeleteValue",
    "RegFlushKey",
    "RegLoadKey",
    "RegUnloadKey",
    "RegRenameKey",
    "RegQueryMultipleValueKey",
    "RegSetKeySecurity",
    "RegQueryKeySecurity",
];

/// Category by operation number (`procmon-text.md` §2.7). RegCreateKey (1) is `Read` here and
/// becomes `Write` when the key was created.
const CATEGORY: [&str; 18] = [
    "Read",           // RegOpenKey
    "Read",           // RegCreateKey (Write when REG_CREATED_NEW_KEY)
    "",               // RegCloseKey
    "Read",           // RegQueryKey
    "Write",          // RegSetValue
    "Read",           // RegQueryValue
    "Read",           // RegEnumValue
    "Read",           // RegEnumKey
    "Write Metadata", // RegSetInfoKey
    "Write",          // RegDeleteKey
    "Write",          // RegDeleteValue
    "",               // RegFlushKey
    "",               // RegLoadKey
    "",               // RegUnloadKey
    "Write",          // RegRenameKey
    "Read",           // RegQueryMultipleValueKey
    "Write Metadata", // RegSetKeySecurity
    "Read Metadata",  // RegQueryKeySecurity
];

/// Bytes between the path string info and the path characters, by operation (§9.1).
const fn fields_len(op: u16) -> usize {
    match op {
        0 | 1 => 6,          // u16 unknown, u32 desired access
        3 | 5 => 10,         // u16 unknown, u32 length, u32 information class
        4 | 6 | 7 | 8 => 14, // see the per-operation decoders
        12 | 14 => 2,        // u16 string info of the second string
        _ => 0,
    }
}

/// Composite registry access words, tried first (table 11.20).
const ACCESS_WORDS: [(u32, &str); 4] = [
    (0xF003F, "All Access"),
    (0x2001F, "Read/Write"),
    (0x20019, "Read"),
    (0x20006, "Write"),
];

/// Single registry access rights, in Procmon's order (table 11.20).
const ACCESS_BITS: [(u32, &str); 16] = [
    (0x1, "Query Value"),
    (0x2, "Set Value"),
    (0x4, "Create Sub Key"),
    (0x8, "Enumerate Sub Keys"),
    (0x10, "Notify"),
    (0x20, "Create Link"),
    (0x300, "WOW64_Res"),
    (0x200, "WOW64_32Key"),
    (0x100, "WOW64_64Key"),
    (0x10000, "Delete"),
    (0x20000, "Read Control"),
    (0x40000, "Write DAC"),
    (0x80000, "Write Owner"),
    (0x100000, "Synchronize"),
    (0x1000000, "Access System Security"),
    (0x2000000, "Maximum Allowed"),
];

/// MAXIMUM_ALLOWED access bit.
const MAXIMUM_ALLOWED: u32 = 0x200_0000;

/// Value type names (table 11.23).
const VALUE_TYPES: [&str; 12] = [
    "REG_NONE",
    "REG_SZ",
    "REG_EXPAND_SZ",
    "REG_BINARY",
    "REG_DWORD",
    "REG_DWORD_BIG_ENDIAN",
    "REG_LINK",
    "REG_MULTI_SZ",
    "REG_RESOURCE_LIST",
    "REG_FULL_RESOURCE_DESCRIPTOR",
    "REG_RESOURCE_REQUIREMENTS_LIST",
    "REG_QWORD",
];

/// Key information classes of RegQueryKey / RegEnumKey (table 11.24).
const KEY_INFO_CLASSES: [&str; 10] = [
    "Basic",
    "Node",
    "Full",
    "Name",
    "Cached",
    "Flags",
    "Virtualization",
    "HandleTags",
    "Trust",
    "Layer",
];

/// KEY_SET_INFORMATION_CLASS names of RegSetInfoKey (table 11.26, completed with the Windows
/// names of 2-4 and 6).
const KEY_SET_INFO_CLASSES: [&str; 7] = [
    "KeyWriteTimeInformation",
    "KeyWow64FlagsInformation",
    "KeyControlFlagsInformation",
    "KeySetVirtualizationInformation",
    "KeySetDebugInformation",
    "KeySetHandleTagsInformation",
    "KeySetLayerInformation",
];

/// Registry dispositions (table 11.27), indexed by value - 1.
const DISPOSITIONS: [&str; 2] = ["REG_CREATED_NEW_KEY", "REG_OPENED_EXISTING_KEY"];

const REG_SZ: u32 = 1;
const REG_EXPAND_SZ: u32 = 2;
const REG_BINARY: u32 = 3;
const REG_DWORD: u32 = 4;
const REG_MULTI_SZ: u32 = 7;

/// Procmon prints at most this many REG_BINARY bytes of RegSetValue data (§3.3).
const SET_VALUE_BINARY_CAP: usize = 16;

/// Empirical header size of Procmon's KeyValueFullInformation data count: it prints
/// min(DataLength, extra size - 24) bytes from DataOffset (§3.3, §7.3).
const FULL_INFO_OVERHEAD: usize = 24;

/// Decode a Registry event (class 2, `format-pml.md` §9.1). Path is the stored key path
/// verbatim; Detail follows `procmon-text.md` §3.3.
pub fn decode(_pml: &Pml, ev: &RawEvent) -> Decoded {
    let op = ev.operation;
    let Some(&name) = OPS.get(usize::from(op)) else {
        return Decoded {
            operation: Cow::Borrowed("<Unknown>"),
            ..Decoded::default()
        };
    };
    let mut r = Rd::new(ev.detail);
    let path_info = r.u16();
    let mut fields = Rd::at(ev.detail, 2);
    r.skip(fields_len(op));
    let path = r.detail_string(path_info);
    let mut d = Decoded {
        operation: Cow::Borrowed(name),
        path,
        detail: String::new(),
        category: CATEGORY[usize::from(op)],
    };
    let out = &mut d.detail;
    match op {
        0 | 1 => {
            fields.skip(2);
            let desired = fields.u32();
            out.push_str("Desired Access: ");
            push_access(out, desired);
            if let Some(x) = ev.extra {
                let mut x = Rd::new(x);
                let granted = x.u32();
                let disposition = x.u32();
                if desired == MAXIMUM_ALLOWED {
                    out.push_str(", Granted Access: ");
                    push_access(out, granted);
                }
                if op == 1 {
                    if let Some(name) = disposition
                        .checked_sub(1)
                        .and_then(|i| DISPOSITIONS.get(i as usize))
                    {
                        out.push_str(", Disposition: ");
                        out.push_str(name);
                    }
                    if disposition == 1 {
                        d.category = "Write";
                    }
                }
            }
        }
        3 => {
            fields.skip(2);
            let length = fields.u32();
            let class = fields.u32();
            out.push_str("Query: ");
            push_name(out, &KEY_INFO_CLASSES, class);
            match ev.extra {
                Some(x) => push_key_info(out, class, x, false),
                None => push_length(out, length),
            }
        }
        4 => {
            // u16 unknown, u32 type, u32 declared length, u16 bytes copied, u16 unknown.
            fields.skip(2);
            let ty = fields.u32();
            let length = fields.u32();
            let copied = usize::from(fields.u16());
            let start = r.pos.min(ev.detail.len());
            let avail = copied.min(ev.detail.len() - start);
            let beyond = ev.detail_and_beyond.get(start..).unwrap_or(&[]);
            push_type(out, ty);
            push_length(out, length);
            if length > 0 {
                out.push_str(", Data: ");
                let n = if ty == REG_BINARY {
                    avail.min(SET_VALUE_BINARY_CAP)
                } else {
                    avail
                };
                push_data(out, ty, length, beyond, n);
            }
        }
        5 | 6 => {
            fields.skip(2);
            let length = fields.u32();
            let index = (op == 6).then(|| fields.u32());
            let class = fields.u32();
            if let Some(i) = index {
                out.push_str("Index: ");
                push_thousands(out, u64::from(i));
            }
            match ev.extra {
                Some(x) => push_value_info(out, class, x, extra_and_beyond(ev, x), op == 6),
                None if op == 5 => {
                    out.push_str("Length: ");
                    push_thousands(out, u64::from(length));
                }
                None => push_length(out, length),
            }
        }
        7 => {
            fields.skip(2);
            let length = fields.u32();
            let index = fields.u32();
            let class = fields.u32();
            out.push_str("Index: ");
            push_thousands(out, u64::from(index));
            match ev.extra {
                Some(x) => push_key_info(out, class, x, true),
                None => push_length(out, length),
            }
        }
        8 => {
            // u16 unknown, u32 class, u32 unknown, u16 length, u16 unknown.
            fields.skip(2);
            let class = fields.u32();
            fields.skip(4);
            let length = fields.u16();
            out.push_str("KeySetInformationClass: ");
            push_name(out, &KEY_SET_INFO_CLASSES, class);
            push_length(out, u32::from(length));
        }
        12 | 14 => {
            let info = fields.u16();
            out.push_str(if op == 12 {
                "Hive Path: "
            } else {
                "New Name: "
            });
            out.push_str(&r.detail_string(info));
        }
        _ => {}
    }
    d
}

/// The extra block `x` of `ev` followed by the rest of the file (for Procmon's over-reads);
/// `x` alone when it cannot be located inside `detail_and_beyond`.
fn extra_and_beyond<'a>(ev: &RawEvent<'a>, x: &'a [u8]) -> &'a [u8] {
    let base = ev.detail_and_beyond.as_ptr() as usize;
    let at = (x.as_ptr() as usize).wrapping_sub(base);
    if at <= ev.detail_and_beyond.len() && ev.detail_and_beyond.len() - at >= x.len() {
        &ev.detail_and_beyond[at..]
    } else {
        x
    }
}

/// Append `name` of `table[v]`, or `<Unknown: v>`.
fn push_name(out: &mut String, table: &[&str], v: u32) {
    match table.get(v as usize) {
        Some(n) => out.push_str(n),
        None => {
            let _ = write!(out, "<Unknown: {v}>");
        }
    }
}

/// Append `Type: T` (table 11.23; unknown types as `<Unknown: N>`).
fn push_type(out: &mut String, ty: u32) {
    out.push_str("Type: ");
    push_name(out, &VALUE_TYPES, ty);
}

/// Append `, Length: n` (decimal with separators).
fn push_length(out: &mut String, n: u32) {
    out.push_str(", Length: ");
    push_thousands(out, u64::from(n));
}

/// Append `v` in decimal with en-US thousands separators, without allocating.
fn push_thousands(out: &mut String, v: u64) {
    let mut digits = [0u8; 20];
    let mut n = 0;
    let mut x = v;
    loop {
        digits[n] = b'0' + (x % 10) as u8;
        n += 1;
        x /= 10;
        if x == 0 {
            break;
        }
    }
    for i in (0..n).rev() {
        out.push(char::from(digits[i]));
        if i > 0 && i % 3 == 0 {
            out.push(',');
        }
    }
}

/// Append a registry access mask (table 11.20): generic bits mapped first, then the first
/// composite word whose bits are all present, then the remaining single rights in table
/// order, then any unnamed remainder as hex. A mask of 0 prints `None 0x0`.
fn push_access(out: &mut String, mask: u32) {
    let mut m = mask & 0x0FFF_FFFF;
    for (bit, mapped) in [
        (0x8000_0000u32, 0x20019u32),
        (0x4000_0000, 0x20006),
        (0x2000_0000, 0x20019),
        (0x1000_0000, 0xF003F),
    ] {
        if mask & bit != 0 {
            m |= mapped;
        }
    }
    if m == 0 {
        out.push_str("None 0x0");
        return;
    }
    let start = out.len();
    let sep = |out: &mut String| {
        if out.len() > start {
            out.push_str(", ");
        }
    };
    if let Some(&(w, n)) = ACCESS_WORDS.iter().find(|(w, _)| m & w == *w) {
        out.push_str(n);
        m &= !w;
    }
    for &(bits, n) in &ACCESS_BITS {
        if m & bits == bits {
            sep(out);
            out.push_str(n);
            m &= !bits;
        }
    }
    if m != 0 {
        sep(out);
        let _ = write!(out, "{m:#x}");
    }
}

/// Append the part of a RegQueryKey / RegEnumKey Detail that comes from the returned
/// KEY_*_INFORMATION structure `x` (§9.1): Basic / Node name (RegQueryKey prints no name for
/// the Name class, RegEnumKey does), Full / Cached sub-key and value counts, Flags /
/// HandleTags words.
fn push_key_info(out: &mut String, class: u32, x: &[u8], enumerate: bool) {
    let mut r = Rd::new(x);
    let name_at = match class {
        0 => 12,             // Basic: FILETIME, title index, name length, name
        1 => 20, // Node: FILETIME, title index, class offset, class length, name length, name
        3 if enumerate => 0, // Name: name length, name
        2 | 4 => {
            // Full: subkeys at 20, values at 32; Cached: subkeys at 12, values at 20.
            let (s, v) = if class == 2 { (20, 32) } else { (12, 20) };
            r.pos = s;
            let subkeys = r.u32();
            r.pos = v;
            let values = r.u32();
            out.push_str(", SubKeys: ");
            push_thousands(out, u64::from(subkeys));
            out.push_str(", Values: ");
            push_thousands(out, u64::from(values));
            return;
        }
        5 => {
            let _ = write!(out, ", UserFlags: {:#x}", r.u32());
            return;
        }
        7 => {
            let _ = write!(out, ", HandleTags: {:#x}", r.u32());
            return;
        }
        _ => return,
    };
    r.pos = name_at;
    let len = r.u32() as usize;
    out.push_str(", Name: ");
    push_utf16(out, r.bytes(len.min(r.remaining())), false);
}

/// Append the Detail of a successful RegQueryValue / RegEnumValue from the returned
/// KEY_VALUE_*_INFORMATION structure `x` (§9.1); `beyond` is `x` followed by the rest of the
/// file. RegEnumValue (`enumerate`) also prints the value name (Full and Basic classes).
fn push_value_info(out: &mut String, class: u32, x: &[u8], beyond: &[u8], enumerate: bool) {
    let mut r = Rd::new(x);
    r.skip(4); // title index
    let ty = r.u32();
    // Separator before the first item: RegEnumValue already printed `Index: n`.
    let lead = if enumerate { ", " } else { "" };
    match class {
        0 => {
            // Basic: name length, name.
            let name_len = r.u32() as usize;
            out.push_str(lead);
            if enumerate {
                out.push_str("Name: ");
                push_utf16(out, r.bytes(name_len.min(r.remaining())), false);
                out.push_str(", ");
            }
            push_type(out, ty);
        }
        1 | 3 => {
            // Full: data offset, data length, name length, name, data at the data offset.
            let offset = r.u32() as usize;
            let length = r.u32();
            let name_len = r.u32() as usize;
            out.push_str(lead);
            if enumerate {
                out.push_str("Name: ");
                push_utf16(out, r.bytes(name_len.min(r.remaining())), false);
                out.push_str(", ");
            }
            push_type(out, ty);
            push_length(out, length);
            if length > 0 {
                out.push_str(", Data: ");
                let data = beyond.get(offset..).unwrap_or(&[]);
                let n = if ty == REG_BINARY {
                    (length as usize).min(x.len().saturating_sub(FULL_INFO_OVERHEAD))
                } else {
                    (length as usize).min(x.len().saturating_sub(offset))
                };
                push_data(out, ty, length, data, n);
            }
        }
        _ => {
            // Partial: data length, data.
            let length = r.u32();
            out.push_str(lead);
            push_type(out, ty);
            push_length(out, length);
            if length > 0 {
                out.push_str(", Data: ");
                let n = (length as usize).min(x.len().saturating_sub(12));
                push_data(out, ty, length, beyond.get(12..).unwrap_or(&[]), n);
            }
        }
    }
}

/// Append value data as Procmon prints it (§3.3). `data` starts at the value data and runs to
/// the end of the file; `n` is the number of bytes Procmon takes (already capped per
/// operation); `length` is the declared data length (REG_MULTI_SZ uses it to decide whether
/// another string follows).
fn push_data(out: &mut String, ty: u32, length: u32, data: &[u8], n: usize) {
    let n = n.min(data.len());
    match ty {
        REG_SZ | REG_EXPAND_SZ => push_utf16(out, &data[..n], false),
        REG_DWORD => {
            let mut r = Rd::new(&data[..n]);
            let _ = write!(out, "{}", r.u32());
        }
        REG_BINARY => {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            for (i, &b) in data[..n].iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 15)]));
            }
        }
        REG_MULTI_SZ => push_multi_sz(out, data, length as usize),
        _ => {}
    }
}

/// Append REG_MULTI_SZ data (§3.3): strings joined by `, `; each string runs to its NUL even
/// past `length` (into the following file bytes); an empty string ends the list; another
/// string starts only while the position is below `length`. LF prints as `;`. Stops once
/// more characters than Detail can hold were produced.
fn push_multi_sz(out: &mut String, data: &[u8], length: usize) {
    // UTF-16 units still worth decoding: Detail is cut at DETAIL_MAX_CHARS characters, and a
    // character takes at most two units.
    let mut budget = 2 * DETAIL_MAX_CHARS;
    let mut pos = 0;
    while pos < length && budget > 0 {
        let rest = data.get(pos..).unwrap_or(&[]);
        let n = rest
            .chunks_exact(2)
            .take(budget)
            .take_while(|c| c != &[0, 0])
            .count();
        if n == 0 {
            break;
        }
        if pos > 0 {
            out.push_str(", ");
        }
        push_utf16(out, &rest[..2 * n], true);
        budget -= n;
        pos += 2 * n + 2;
    }
}

/// Append UTF-16LE `b` up to its first NUL (unpaired surrogates as U+FFFD); with `lf_semicolon`
/// LF prints as `;`.
fn push_utf16(out: &mut String, b: &[u8], lf_semicolon: bool) {
    let units = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0);
    for c in char::decode_utf16(units) {
        match c {
            Ok('\n') if lf_semicolon => out.push(';'),
            Ok(c) => out.push(c),
            Err(_) => out.push('\u{FFFD}'),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PML with an empty header (no tables) for decoders that need one.
    pub(crate) fn empty_pml() -> Pml {
        let mut h = vec![0u8; crate::pml::reader::HEADER_SIZE];
        h[..4].copy_from_slice(b"PML_");
        h[4..8].copy_from_slice(&9u32.to_le_bytes());
        h[8..12].copy_from_slice(&1u32.to_le_bytes());
        Pml::from_bytes(h, std::path::Path::new("test.pml")).expect("minimal PML")
    }

    /// One event record (`format-pml.md` §8, no stack) followed by `trailer` bytes.
    pub(crate) fn record(
        class: u32,
        op: u16,
        detail: &[u8],
        extra: Option<&[u8]>,
        trailer: &[u8],
    ) -> Vec<u8> {
        let mut b = vec![0u8; crate::pml::reader::EVENT_HEADER_SIZE];
        b[8..12].copy_from_slice(&class.to_le_bytes());
        b[12..14].copy_from_slice(&op.to_le_bytes());
        b[0x2C..0x30].copy_from_slice(&(detail.len() as u32).to_le_bytes());
        b.extend_from_slice(detail);
        if let Some(x) = extra {
            let at = b.len() as u32;
            b[0x30..0x34].copy_from_slice(&at.to_le_bytes());
            b.extend_from_slice(&(x.len() as u16).to_le_bytes());
            b.extend_from_slice(x);
        }
        b.extend_from_slice(trailer);
        b
    }

    fn run(class: u32, op: u16, detail: &[u8], extra: Option<&[u8]>, trailer: &[u8]) -> Decoded {
        let pml = empty_pml();
        let buf = record(class, op, detail, extra, trailer);
        let ev = crate::pml::reader::decode_event(&buf, 0, 0, true).expect("record");
        match class {
            2 => decode(&pml, &ev),
            5 => super::super::network::decode(&pml, &ev),
            _ => super::super::process::decode(&pml, &ev),
        }
    }

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[test]
    fn set_value_binary_shows_16_bytes() {
        let mut d = vec![0x04, 0x80, 0, 0];
        d.extend(3u32.to_le_bytes()); // REG_BINARY
        d.extend(1612u32.to_le_bytes()); // declared length
        d.extend(18u16.to_le_bytes()); // copied
        d.extend([0, 0]);
        d.extend(b"HKCU");
        d.extend(0u8..18);
        let got = run(2, 4, &d, None, &[]);
        assert_eq!(got.path, "HKCU");
        assert_eq!(got.category, "Write");
        assert_eq!(
            got.detail,
            "Type: REG_BINARY, Length: 1,612, Data: 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F"
        );
    }

    #[test]
    fn full_information_binary_overreads_into_next_record() {
        let mut d = vec![0x04, 0x80, 0, 0];
        d.extend(64u32.to_le_bytes());
        d.extend(1u32.to_le_bytes()); // KeyValueFullInformation
        d.extend(b"HKCU");
        // title, type, data offset 28, data length 44, name length 8, name, 16 data bytes:
        // a 44-byte block as in CompressedLogfileTests32bitUTC row 2551.
        let mut x = Vec::new();
        for v in [0u32, 3, 28, 44, 8] {
            x.extend(v.to_le_bytes());
        }
        x.extend(utf16("abcd"));
        x.extend([0xAA; 16]);
        let got = run(2, 5, &d, Some(&x), &[1, 2, 3, 4, 5, 6]);
        // min(44, 44 - 24) = 20 bytes from offset 28: 16 captured + 4 from the trailer.
        assert_eq!(
            got.detail,
            "Type: REG_BINARY, Length: 44, Data: AA AA AA AA AA AA AA AA AA AA AA AA AA AA AA AA 01 02 03 04"
        );
    }

    #[test]
    fn multi_sz_runs_to_nul_past_the_block() {
        let mut d = vec![0x04, 0x80, 0, 0];
        d.extend(7u32.to_le_bytes());
        d.extend(5u32.to_le_bytes()); // odd declared length
        d.extend(6u16.to_le_bytes());
        d.extend([0, 0]);
        d.extend(b"HKCU");
        d.extend(utf16("a\nb"));
        let got = run(2, 4, &d, None, &[0x21, 0x03, 0, 0]);
        assert_eq!(
            got.detail,
            "Type: REG_MULTI_SZ, Length: 5, Data: a;b\u{321}"
        );
    }

    #[test]
    fn no_panic_on_damaged_blocks() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let bytes = |n: usize, next: &mut dyn FnMut() -> u64| -> Vec<u8> {
            (0..n).map(|_| next() as u8).collect()
        };
        for class in [1u32, 2, 4, 5] {
            for op in 0u16..20 {
                for len in (0..80).chain([200, 600]) {
                    let mut d = bytes(len, &mut next);
                    if len >= 2 && next() % 2 == 0 {
                        d[0] = 0xFF; // absurd string lengths
                        d[1] = next() as u8;
                    }
                    let x = bytes((next() % 64) as usize, &mut next);
                    let extra = (next() % 2 == 0).then_some(&x[..]);
                    let t = bytes((next() % 8) as usize, &mut next);
                    let _ = run(class, op, &d, extra, &t);
                }
            }
        }
    }

    fn access(m: u32) -> String {
        let mut s = String::new();
        push_access(&mut s, m);
        s
    }

    #[test]
    fn access_names() {
        assert_eq!(access(0xF003F), "All Access");
        assert_eq!(access(0x2020019), "Read, Maximum Allowed");
        assert_eq!(access(0x2001B), "Read, Set Value");
        assert_eq!(access(0x3001F), "Read/Write, Delete");
        assert_eq!(access(0x9), "Query Value, Enumerate Sub Keys");
        assert_eq!(access(0), "None 0x0");
        assert_eq!(access(0x8000_0000), "Read");
    }

    #[test]
    fn thousands() {
        let mut s = String::new();
        push_thousands(&mut s, 4_294_967_295);
        assert_eq!(s, "4,294,967,295");
        s.clear();
        push_thousands(&mut s, 0);
        assert_eq!(s, "0");
    }

    #[test]
    fn multi_sz() {
        let b: Vec<u8> = "en-US\0he\0\0"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let mut s = String::new();
        push_multi_sz(&mut s, &b, 18);
        assert_eq!(s, "en-US, he");
        s.clear();
        push_multi_sz(&mut s, &b[..4], 2);
        assert_eq!(s, "en");
    }
}
