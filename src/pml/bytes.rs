//! Bounds-checked little-endian reads over a byte slice.
//!
//! Every read past the end yields zero (or an empty slice) and sets [`Rd::short`], so a
//! decoder walking a damaged or truncated record never panics and can still report that
//! it ran out of bytes. All PML integers are little-endian (`format-pml.md`, Conventions).

/// A cursor over `buf`. Reads advance `pos`; reads past the end return 0 and set `short`.
#[derive(Clone, Debug)]
pub struct Rd<'a> {
    /// The bytes read from.
    pub buf: &'a [u8],
    /// Current position, in bytes from the start of `buf`.
    pub pos: usize,
    /// Set once any read needed bytes beyond the end of `buf`.
    pub short: bool,
}

impl<'a> Rd<'a> {
    /// A cursor at position 0 of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Rd {
            buf,
            pos: 0,
            short: false,
        }
    }

    /// A cursor at byte `pos` of `buf` (`pos` may lie past the end; reads are then short).
    pub fn at(buf: &'a [u8], pos: usize) -> Self {
        Rd {
            buf,
            pos,
            short: false,
        }
    }

    /// Bytes left after the current position.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Take `n` bytes; fewer (possibly none) when the buffer ends first, and `short` is set.
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let start = self.pos.min(self.buf.len());
        let end = self.pos.saturating_add(n).min(self.buf.len());
        if end - start < n {
            self.short = true;
        }
        self.pos = self.pos.saturating_add(n);
        &self.buf[start..end]
    }

    /// Skip `n` bytes.
    pub fn skip(&mut self, n: usize) {
        let _ = self.bytes(n);
    }

    fn fixed<const N: usize>(&mut self) -> [u8; N] {
        let b = self.bytes(N);
        let mut out = [0u8; N];
        if b.len() == N {
            out.copy_from_slice(b);
        }
        out
    }

    /// Read a u8 (0 when short).
    pub fn u8(&mut self) -> u8 {
        self.fixed::<1>()[0]
    }
    /// Read a little-endian u16 (0 when short).
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.fixed())
    }
    /// Read a little-endian u32 (0 when short).
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.fixed())
    }
    /// Read a little-endian u64 (0 when short).
    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.fixed())
    }
    /// Read a little-endian i64 (0 when short).
    pub fn i64(&mut self) -> i64 {
        i64::from_le_bytes(self.fixed())
    }
    /// Read a pointer-sized value: 8 bytes when `is_64bit`, else 4 (`format-pml.md` §10).
    pub fn ptr(&mut self, is_64bit: bool) -> u64 {
        if is_64bit {
            self.u64()
        } else {
            u64::from(self.u32())
        }
    }

    /// Read `nchars` UTF-16LE code units as text (lossy for unpaired surrogates).
    pub fn utf16(&mut self, nchars: usize) -> String {
        let b = self.bytes(nchars.saturating_mul(2));
        utf16_lossy(b)
    }

    /// Read `n` bytes of 8-bit text. Procmon stores "ASCII" detail strings as single bytes;
    /// bytes >= 0x80 are taken as Latin-1 code points.
    pub fn ascii(&mut self, n: usize) -> String {
        self.bytes(n).iter().map(|&c| c as char).collect()
    }

    /// Read a detail string whose header is `info` (`format-pml.md` §8, "Detail string
    /// header"): bit 15 set = 8-bit characters, clear = UTF-16LE; bits 0-14 = length in characters.
    pub fn detail_string(&mut self, info: u16) -> String {
        let (ascii, n) = string_info(info);
        if ascii {
            self.ascii(n)
        } else {
            self.utf16(n)
        }
    }
}

/// Split a detail string header into (is 8-bit text, length in characters).
pub fn string_info(info: u16) -> (bool, usize) {
    (info & 0x8000 != 0, usize::from(info & 0x7FFF))
}

/// Byte length of the characters announced by a detail string header.
pub fn string_info_bytes(info: u16) -> usize {
    let (ascii, n) = string_info(info);
    if ascii {
        n
    } else {
        n * 2
    }
}

/// Decode UTF-16LE bytes (an odd trailing byte is ignored), replacing unpaired surrogates by U+FFFD.
pub fn utf16_lossy(b: &[u8]) -> String {
    let units = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
    char::decode_utf16(units)
        .map(|r| r.unwrap_or('\u{FFFD}'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_reads_yield_zero_and_flag() {
        let mut r = Rd::new(&[1, 2, 3]);
        assert_eq!(r.u16(), 0x0201);
        assert!(!r.short);
        assert_eq!(r.u32(), 0);
        assert!(r.short);
    }

    #[test]
    fn detail_string_ascii_and_utf16() {
        let mut r = Rd::new(b"abc");
        assert_eq!(r.detail_string(0x8003), "abc");
        let mut r = Rd::new(&[0x41, 0, 0x42, 0]);
        assert_eq!(r.detail_string(2), "AB");
    }
}
