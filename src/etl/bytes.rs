//! Bounds-checked little-endian reads and the two string forms of ETW payloads.
//!
//! Every reader returns `None` when the bytes are not there: payload layouts are never trusted
//! (`format-etl.md` §7).

use serde::{Serialize, Serializer};
use std::fmt;

/// `u8` at `o`.
#[inline]
pub fn u8_at(b: &[u8], o: usize) -> Option<u8> {
    b.get(o).copied()
}

/// Little-endian `u16` at `o`.
#[inline]
pub fn u16_at(b: &[u8], o: usize) -> Option<u16> {
    let s = b.get(o..o.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

/// Little-endian `u32` at `o`.
#[inline]
pub fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    let s = b.get(o..o.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Little-endian `i32` at `o`.
#[inline]
pub fn i32_at(b: &[u8], o: usize) -> Option<i32> {
    u32_at(b, o).map(|v| v as i32)
}

/// Little-endian `u64` at `o`.
#[inline]
pub fn u64_at(b: &[u8], o: usize) -> Option<u64> {
    let s = b.get(o..o.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

/// Pointer-sized value (`p` = 4 or 8 bytes) at `o`, widened to `u64`.
#[inline]
pub fn ptr_at(b: &[u8], o: usize, p: usize) -> Option<u64> {
    if p == 4 {
        u32_at(b, o).map(u64::from)
    } else {
        u64_at(b, o)
    }
}

/// Round `v` up to a multiple of 8 (`DEFAULT_TRACE_ALIGNMENT`).
#[inline]
pub fn align8(v: usize) -> usize {
    (v + 7) & !7
}

/// A UTF-16LE string borrowed from a payload, without its terminator. Converting it to text
/// allocates; keeping it does not (the hot path never converts).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct WStr<'a>(&'a [u8]);

impl<'a> WStr<'a> {
    /// Wrap raw UTF-16LE bytes (an odd trailing byte is ignored).
    pub fn from_bytes(b: &'a [u8]) -> Self {
        WStr(&b[..b.len() & !1])
    }
    /// The raw UTF-16LE bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
    /// True when the string has no characters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Number of UTF-16 code units.
    pub fn len_units(&self) -> usize {
        self.0.len() / 2
    }
    /// UTF-16 code units.
    pub fn units(&self) -> impl Iterator<Item = u16> + 'a {
        self.0
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
    }
    /// Lossy conversion (unpaired surrogates become U+FFFD).
    pub fn to_string_lossy(&self) -> String {
        let mut s = String::with_capacity(self.0.len() / 2);
        for c in char::decode_utf16(self.units()) {
            s.push(c.unwrap_or(char::REPLACEMENT_CHARACTER));
        }
        s
    }
}

impl fmt::Display for WStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        for c in char::decode_utf16(self.units()) {
            f.write_char(c.unwrap_or(char::REPLACEMENT_CHARACTER))?;
        }
        Ok(())
    }
}

impl fmt::Debug for WStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string_lossy())
    }
}

impl Serialize for WStr<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An 8-bit (ANSI) string borrowed from a payload, without its terminator; shown as Latin-1
/// (the process image names of §4.2 are ASCII in practice).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct AStr<'a>(&'a [u8]);

impl<'a> AStr<'a> {
    /// Wrap raw bytes.
    pub fn from_bytes(b: &'a [u8]) -> Self {
        AStr(b)
    }
    /// The raw bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Latin-1 text.
    pub fn to_string_lossy(&self) -> String {
        self.0.iter().map(|&b| b as char).collect()
    }
}

impl fmt::Display for AStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        for &b in self.0 {
            f.write_char(b as char)?;
        }
        Ok(())
    }
}

impl fmt::Debug for AStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string_lossy())
    }
}

impl Serialize for AStr<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// NUL-terminated UTF-16LE string at `o`: the string and the offset just past its terminator.
/// A string without terminator runs to the end of `b` (the next offset is then `b.len()`).
/// `None` when `o` is past the end.
pub fn wstr_at(b: &[u8], o: usize) -> Option<(WStr<'_>, usize)> {
    let rest = b.get(o..)?;
    let mut i = 0;
    while i + 1 < rest.len() {
        if rest[i] == 0 && rest[i + 1] == 0 {
            return Some((WStr(&rest[..i]), o + i + 2));
        }
        i += 2;
    }
    Some((WStr(&rest[..rest.len() & !1]), b.len()))
}

/// NUL-terminated 8-bit string at `o` (same conventions as [`wstr_at`]).
pub fn astr_at(b: &[u8], o: usize) -> Option<(AStr<'_>, usize)> {
    let rest = b.get(o..)?;
    match rest.iter().position(|&c| c == 0) {
        Some(n) => Some((AStr(&rest[..n]), o + n + 1)),
        None => Some((AStr(rest), b.len())),
    }
}

/// Pointer-sized values packed in `b` (4 or 8 bytes each), e.g. stack frames.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Pointers<'a> {
    bytes: &'a [u8],
    size: u8,
}

impl<'a> Pointers<'a> {
    /// `bytes` holds whole pointers of `size` (4 or 8) bytes; a partial tail is ignored.
    pub fn new(bytes: &'a [u8], size: usize) -> Self {
        let size = if size == 4 { 4 } else { 8 };
        let n = bytes.len() / size * size;
        Pointers {
            bytes: &bytes[..n],
            size: size as u8,
        }
    }
    /// Number of pointers.
    pub fn len(&self) -> usize {
        self.bytes.len() / self.size as usize
    }
    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
    /// Pointer size in bytes.
    pub fn pointer_size(&self) -> usize {
        self.size as usize
    }
    /// The `i`-th pointer.
    pub fn get(&self, i: usize) -> Option<u64> {
        ptr_at(self.bytes, i * self.size as usize, self.size as usize)
    }
    /// All pointers, in order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + 'a {
        let size = self.size as usize;
        self.bytes
            .chunks_exact(size)
            .map(move |c| ptr_at(c, 0, size).unwrap_or(0))
    }
}

impl fmt::Debug for Pointers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|v| format!("{v:#x}")))
            .finish()
    }
}

impl Serialize for Pointers<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for v in self.iter() {
            seq.serialize_element(&Hex(v))?;
        }
        seq.end()
    }
}

/// A number shown as `0x…` hex text in JSON (addresses, keys, NTSTATUS).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hex(pub u64);

impl fmt::Display for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounded() {
        let b = [1u8, 2, 3];
        assert_eq!(u16_at(&b, 1), Some(0x0302));
        assert_eq!(u16_at(&b, 2), None);
        assert_eq!(u32_at(&b, 0), None);
        assert_eq!(u64_at(&b, usize::MAX), None);
        assert_eq!(ptr_at(&[1, 0, 0, 0], 0, 4), Some(1));
    }

    #[test]
    fn strings() {
        let b = [b'a', 0, b'b', 0, 0, 0, b'c', 0];
        let (s, next) = wstr_at(&b, 0).unwrap();
        assert_eq!(s.to_string_lossy(), "ab");
        assert_eq!(next, 6);
        let (s, next) = wstr_at(&b, 6).unwrap();
        assert_eq!(s.to_string(), "c");
        assert_eq!(next, 8);
        assert!(wstr_at(&b, 9).is_none());
        let (a, next) = astr_at(b"xy\0z", 0).unwrap();
        assert_eq!((a.to_string(), next), ("xy".to_string(), 3));
    }
}
