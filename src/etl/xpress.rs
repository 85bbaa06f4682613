//! MS-XCA plain LZ77 ("LZXpress", not Huffman) decoder for compressed ETL buffers
//! (`format-etl.md` §1.4; [MS-XCA] §2.3–2.4). Written from the format description.
//!
//! The output size is known in advance (`Offset − 0x48` of the buffer header), so the decoder
//! writes into a slice of exactly that size and treats any attempt to write past it, any match
//! reaching before the start of the output, and any read past the input as corruption.

use std::fmt;

/// Why a compressed buffer could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XpressError {
    /// The input ended inside a flag word, match or length field.
    TruncatedInput {
        /// Input position where more bytes were needed.
        at: usize,
    },
    /// A match refers to bytes before the start of the output.
    BadOffset {
        /// Output position of the match.
        at: usize,
        /// Distance back it asked for.
        offset: usize,
    },
    /// An extended 16/32-bit match length below 22 (invalid per MS-XCA).
    BadLength {
        /// Input position of the length field.
        at: usize,
    },
    /// The stream would produce more bytes than expected.
    Overflow {
        /// Expected output length.
        expected: usize,
    },
    /// The stream ended before producing the expected number of bytes.
    Underflow {
        /// Bytes produced.
        produced: usize,
        /// Expected output length.
        expected: usize,
    },
}

impl fmt::Display for XpressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XpressError::TruncatedInput { at } => {
                write!(f, "compressed data ends early (input byte {at})")
            }
            XpressError::BadOffset { at, offset } => write!(
                f,
                "match offset {offset} reaches before the output start (output byte {at})"
            ),
            XpressError::BadLength { at } => {
                write!(f, "invalid extended match length (input byte {at})")
            }
            XpressError::Overflow { expected } => {
                write!(f, "decompresses to more than the expected {expected} bytes")
            }
            XpressError::Underflow { produced, expected } => {
                write!(f, "decompresses to {produced} bytes, expected {expected}")
            }
        }
    }
}

impl std::error::Error for XpressError {}

/// Decompress `input` into `out`, replacing its contents with exactly `expected` bytes.
/// `out` is reused across calls (no allocation once it has grown to a buffer's size).
pub fn decompress_into(
    input: &[u8],
    expected: usize,
    out: &mut Vec<u8>,
) -> Result<(), XpressError> {
    // Every byte of [0, expected) is written before success is reported, so stale contents
    // from a previous buffer need no zeroing.
    if out.len() < expected {
        out.resize(expected, 0);
    } else {
        out.truncate(expected);
    }
    let produced = decompress_slice(input, out)?;
    if produced != expected {
        return Err(XpressError::Underflow { produced, expected });
    }
    Ok(())
}

/// Decompress into `out`; returns the number of bytes produced (≤ `out.len()`).
pub fn decompress_slice(input: &[u8], out: &mut [u8]) -> Result<usize, XpressError> {
    let ilen = input.len();
    let olen = out.len();
    let mut ip = 0usize;
    let mut op = 0usize;
    let mut flags: u32 = 0;
    let mut flag_count: u32 = 0;
    // Position of the byte whose high nibble is still unused (0 = none; see MS-XCA 2.4).
    let mut half_byte: Option<usize> = None;

    loop {
        if flag_count == 0 {
            if ip + 4 > ilen {
                // A stream may end right after its last token.
                return Ok(op);
            }
            flags = u32::from_le_bytes([input[ip], input[ip + 1], input[ip + 2], input[ip + 3]]);
            ip += 4;
            flag_count = 32;
            // Fast path: a whole flag word of literals.
            if flags == 0 && ip + 32 <= ilen && op + 32 <= olen {
                out[op..op + 32].copy_from_slice(&input[ip..ip + 32]);
                ip += 32;
                op += 32;
                flag_count = 0;
                continue;
            }
        }
        flag_count -= 1;
        if flags & (1u32 << flag_count) == 0 {
            if ip >= ilen {
                return Ok(op);
            }
            if op >= olen {
                return Err(XpressError::Overflow { expected: olen });
            }
            out[op] = input[ip];
            ip += 1;
            op += 1;
            continue;
        }
        // Match.
        if ip == ilen {
            return Ok(op);
        }
        if ip + 2 > ilen {
            return Err(XpressError::TruncatedInput { at: ip });
        }
        let m = u16::from_le_bytes([input[ip], input[ip + 1]]) as usize;
        ip += 2;
        let offset = (m >> 3) + 1;
        let mut length = m & 7;
        if length == 7 {
            length = match half_byte.take() {
                None => {
                    let b = *input
                        .get(ip)
                        .ok_or(XpressError::TruncatedInput { at: ip })?;
                    half_byte = Some(ip);
                    ip += 1;
                    (b & 0x0F) as usize
                }
                Some(pos) => (input[pos] >> 4) as usize,
            };
            if length == 15 {
                let b = *input
                    .get(ip)
                    .ok_or(XpressError::TruncatedInput { at: ip })?
                    as usize;
                ip += 1;
                if b == 255 {
                    if ip + 2 > ilen {
                        return Err(XpressError::TruncatedInput { at: ip });
                    }
                    let mut l = u16::from_le_bytes([input[ip], input[ip + 1]]) as usize;
                    let at = ip;
                    ip += 2;
                    if l == 0 {
                        if ip + 4 > ilen {
                            return Err(XpressError::TruncatedInput { at: ip });
                        }
                        l = u32::from_le_bytes([
                            input[ip],
                            input[ip + 1],
                            input[ip + 2],
                            input[ip + 3],
                        ]) as usize;
                        ip += 4;
                    }
                    if l < 22 {
                        return Err(XpressError::BadLength { at });
                    }
                    length = l - 22 + 15;
                } else {
                    length = b + 15;
                }
            }
            length += 7;
        }
        length += 3;
        if offset > op {
            return Err(XpressError::BadOffset { at: op, offset });
        }
        if length > olen - op {
            return Err(XpressError::Overflow { expected: olen });
        }
        let src = op - offset;
        if offset >= 8 && length <= 8 && op + 8 <= olen {
            // Short match (the common case): one 8-byte copy. It reads only final bytes
            // (offset ≥ 8) and may write up to 5 bytes past the match, which later output
            // overwrites (a stream whose output stops there fails the length check).
            let chunk: [u8; 8] = out[src..src + 8].try_into().unwrap_or([0; 8]);
            out[op..op + 8].copy_from_slice(&chunk);
        } else if offset >= length {
            out.copy_within(src..src + length, op);
        } else if offset == 1 {
            let b = out[src];
            out[op..op + length].fill(b);
        } else {
            // Overlapping copy: the pattern of `offset` bytes repeats.
            for i in 0..length {
                out[op + i] = out[src + i];
            }
        }
        op += length;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_matches() {
        // flags: bits from MSB: 0,0,0 (literals a b c), 1 (match offset 3 length 3 → "abc"),
        // then the rest 1 with no input → end.
        let flags: u32 = 0b0001_1111_1111_1111_1111_1111_1111_1111;
        let mut input = flags.to_le_bytes().to_vec();
        input.extend_from_slice(b"abc");
        input.extend_from_slice(&(((3 - 1) << 3) as u16).to_le_bytes());
        let mut out = Vec::new();
        decompress_into(&input, 6, &mut out).unwrap();
        assert_eq!(out, b"abcabc");
        assert!(matches!(
            decompress_into(&input, 5, &mut out),
            Err(XpressError::Overflow { .. })
        ));
        assert!(matches!(
            decompress_into(&input, 7, &mut out),
            Err(XpressError::Underflow { .. })
        ));
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x1234_5678_u32;
        let mut out = Vec::new();
        for n in 0..2000 {
            let input: Vec<u8> = (0..(n % 97))
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    seed as u8
                })
                .collect();
            let _ = decompress_into(&input, n % 300, &mut out);
        }
    }
}
