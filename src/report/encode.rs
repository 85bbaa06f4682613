//! Byte encodings the report needs: PNG (8-bit RGB, zlib via flate2, CRC-32 via flate2's
//! [`flate2::Crc`], which is the CRC of the PNG specification) and base64 for `data:` URIs.

use flate2::write::ZlibEncoder;
use flate2::Compression;
use std::io::Write;

/// The 8 bytes every PNG starts with.
pub const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let len = u32::try_from(data.len()).expect("PNG chunk under 4 GiB");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

/// Paeth predictor of the PNG specification.
fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// Filter one scanline with each of the five filter types and keep the one whose bytes have
/// the smallest sum of absolute values (the heuristic the PNG specification suggests).
fn filter_row(row: &[u8], prev: &[u8], bpp: usize, out: &mut Vec<u8>) {
    let mut best: Option<(u64, u8, Vec<u8>)> = None;
    for ft in 0u8..5 {
        let f: Vec<u8> = (0..row.len())
            .map(|i| {
                let a = if i >= bpp { row[i - bpp] } else { 0 };
                let b = prev[i];
                let c = if i >= bpp { prev[i - bpp] } else { 0 };
                let pred = match ft {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                    _ => paeth(a, b, c),
                };
                row[i].wrapping_sub(pred)
            })
            .collect();
        let cost: u64 = f.iter().map(|&x| u64::from((x as i8).unsigned_abs())).sum();
        if best.as_ref().is_none_or(|(c, _, _)| cost < *c) {
            best = Some((cost, ft, f));
        }
    }
    let (_, ft, f) = best.expect("five filters tried");
    out.push(ft);
    out.extend_from_slice(&f);
}

/// Encode an 8-bit RGB image (`rgb.len() == width * height * 3`, rows top to bottom) as PNG.
pub fn png_rgb(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    let stride = width as usize * 3;
    assert_eq!(rgb.len(), stride * height as usize, "RGB buffer size");
    let mut raw = Vec::with_capacity(rgb.len() + height as usize);
    let zero = vec![0u8; stride];
    let mut prev: &[u8] = &zero;
    for row in rgb.chunks_exact(stride.max(1)).take(height as usize) {
        filter_row(row, prev, 3, &mut raw);
        prev = row;
    }
    let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
    z.write_all(&raw).expect("writing to a Vec");
    let idat = z.finish().expect("writing to a Vec");

    let mut out = PNG_SIGNATURE.to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    // bit depth 8, colour type 2 (RGB), deflate, adaptive filtering, no interlace
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 (RFC 4648 section 4, with `=` padding).
pub fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        let idx = [(n >> 18) & 63, (n >> 12) & 63, (n >> 6) & 63, n & 63];
        for (k, i) in idx.iter().enumerate() {
            if k <= c.len() {
                out.push(B64[*i as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `data:image/png;base64,...` of a PNG.
pub fn png_data_uri(png: &[u8]) -> String {
    format!("data:image/png;base64,{}", base64(png))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::ZlibDecoder;
    use std::io::Read;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), enc, "{plain:?}");
        }
        assert_eq!(base64(&[0xFB, 0xFF, 0xBF]), "+/+/");
    }

    /// Undo the PNG filters of `raw` (the inflated IDAT), as a decoder does.
    fn unfilter(raw: &[u8], stride: usize, bpp: usize) -> Vec<u8> {
        let mut out: Vec<u8> = Vec::new();
        for (r, line) in raw.chunks_exact(stride + 1).enumerate() {
            let ft = line[0];
            let start = out.len();
            for i in 0..stride {
                let a = if i >= bpp { out[start + i - bpp] } else { 0 };
                let b = if r > 0 { out[start - stride + i] } else { 0 };
                let c = if r > 0 && i >= bpp {
                    out[start - stride + i - bpp]
                } else {
                    0
                };
                let pred = match ft {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                    4 => paeth(a, b, c),
                    _ => panic!("filter type {ft}"),
                };
                out.push(line[1 + i].wrapping_add(pred));
            }
        }
        out
    }

    #[test]
    fn png_round_trips_through_inflate_and_unfilter() {
        let (w, h) = (37u32, 11u32);
        let rgb: Vec<u8> = (0..w * h * 3)
            .map(|i| ((i * 7919) % 251) as u8 ^ ((i / 97) as u8))
            .collect();
        let png = png_rgb(w, h, &rgb);
        assert_eq!(png[..8], PNG_SIGNATURE);
        // Walk the chunks, checking each CRC.
        let mut pos = 8;
        let mut kinds = Vec::new();
        let mut idat = Vec::new();
        while pos < png.len() {
            let len = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
            let kind = &png[pos + 4..pos + 8];
            let data = &png[pos + 8..pos + 8 + len];
            let crc = u32::from_be_bytes(png[pos + 8 + len..pos + 12 + len].try_into().unwrap());
            let mut c = flate2::Crc::new();
            c.update(kind);
            c.update(data);
            assert_eq!(c.sum(), crc, "CRC of {}", String::from_utf8_lossy(kind));
            if kind == b"IHDR" {
                assert_eq!(data[..4], w.to_be_bytes());
                assert_eq!(data[4..8], h.to_be_bytes());
                assert_eq!(data[8..10], [8, 2]);
            }
            if kind == b"IDAT" {
                idat.extend_from_slice(data);
            }
            kinds.push(String::from_utf8_lossy(kind).into_owned());
            pos += 12 + len;
        }
        assert_eq!(kinds, ["IHDR", "IDAT", "IEND"]);
        let mut raw = Vec::new();
        ZlibDecoder::new(&idat[..]).read_to_end(&mut raw).unwrap();
        assert_eq!(raw.len(), (w as usize * 3 + 1) * h as usize);
        assert_eq!(unfilter(&raw, w as usize * 3, 3), rgb);
    }

    #[test]
    fn the_known_crc_of_iend() {
        // Every PNG ends with the same IEND chunk: length 0, "IEND", CRC 0xAE426082.
        let png = png_rgb(1, 1, &[255, 0, 0]);
        assert_eq!(
            png[png.len() - 12..],
            [0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82]
        );
    }
}
