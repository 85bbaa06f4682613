//! Text decoding and physical lines, shared by every text-log reader.
//!
//! Decoding never fails: a byte-order mark decides first (UTF-8 `EF BB BF`, UTF-16LE `FF FE`,
//! UTF-16BE `FE FF`), then a BOM-less UTF-16 check (zero bytes in every other position), then
//! strict UTF-8, then a configured ANSI code page if one was given, else `chardetng`'s guess.
//! Bytes that the chosen encoding cannot map become U+FFFD and are counted, never fatal.
//!
//! Line rule (`shared/corpus/logs/EXPECTED.md`): a physical line ends at LF; one CR right before
//! the LF is part of the line end; a CR not followed by LF is data ("lone CR"). A last line
//! without LF still counts. The BOM is not part of line 1.

use encoding_rs::Encoding;

/// How to decode bytes that are neither marked (BOM) nor valid UTF-8.
#[derive(Clone, Copy, Debug, Default)]
pub struct DecodeOptions {
    /// The machine's ANSI code page, when known (e.g. `encoding_rs::GBK` for cp936,
    /// `encoding_rs::WINDOWS_1252`). `None`: guess with `chardetng`.
    pub code_page: Option<&'static Encoding>,
}

/// A decoded text file.
#[derive(Clone, Debug)]
pub struct Decoded {
    /// The text, without the BOM.
    pub text: String,
    /// Encoding name as `encoding_rs` spells it (`UTF-8`, `UTF-16LE`, `windows-1251`, `GBK`, ...).
    pub encoding: &'static str,
    /// The file started with a byte-order mark.
    pub bom: bool,
    /// How the encoding was chosen.
    pub detection: Detection,
    /// Number of U+FFFD replacement characters that decoding inserted (0 for clean input).
    pub replaced: usize,
}

/// How the encoding of a file was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detection {
    /// A byte-order mark.
    Bom,
    /// Zero bytes in every other position: BOM-less UTF-16.
    Utf16Heuristic,
    /// The bytes are valid UTF-8 (plain ASCII included).
    Utf8Valid,
    /// The caller's configured ANSI code page.
    Configured,
    /// `chardetng`'s guess (see [`decode`] for the Big5/GBK rule).
    Guessed,
}

/// Decode `bytes` to text (see the module documentation for the order of the checks).
///
/// `chardetng` cannot tell Big5 from GBK on short Chinese runs inside ASCII text (a GBK file of
/// the corpus is guessed as Big5); servicing logs of Simplified-Chinese Windows are written in
/// cp936 (GBK), so a Big5 guess is replaced by GBK when the bytes are also valid GBK, which nearly
/// every Big5 text is. Logs of Traditional-Chinese Windows (cp950) therefore need
/// [`DecodeOptions::code_page`] = `encoding_rs::BIG5`; that option overrides any guess.
pub fn decode(bytes: &[u8], opts: &DecodeOptions) -> Decoded {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return finish(encoding_rs::UTF_8, rest, true, Detection::Bom);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return finish(encoding_rs::UTF_16LE, rest, true, Detection::Bom);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return finish(encoding_rs::UTF_16BE, rest, true, Detection::Bom);
    }
    if let Some(enc) = utf16_without_bom(bytes) {
        return finish(enc, bytes, false, Detection::Utf16Heuristic);
    }
    if std::str::from_utf8(bytes).is_ok() {
        return finish(encoding_rs::UTF_8, bytes, false, Detection::Utf8Valid);
    }
    if let Some(enc) = opts.code_page {
        return finish(enc, bytes, false, Detection::Configured);
    }
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    det.feed(bytes, true);
    let mut enc = det.guess(None, chardetng::Utf8Detection::Deny);
    if enc == encoding_rs::BIG5
        && encoding_rs::GBK
            .decode_without_bom_handling_and_without_replacement(bytes)
            .is_some()
    {
        enc = encoding_rs::GBK;
    }
    finish(enc, bytes, false, Detection::Guessed)
}

fn finish(enc: &'static Encoding, bytes: &[u8], bom: bool, detection: Detection) -> Decoded {
    let (text, had_errors) = enc.decode_without_bom_handling(bytes);
    let text = text.into_owned();
    let replaced = if had_errors {
        text.chars().filter(|&c| c == '\u{FFFD}').count()
    } else {
        0
    };
    Decoded {
        text,
        encoding: enc.name(),
        bom,
        detection,
        replaced,
    }
}

/// BOM-less UTF-16: in the first 4 KiB, at least 40 % of the 2-byte units have a zero in one
/// position and a non-zero byte in the other, always the same position.
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(4096)];
    let units = head.len() / 2;
    if units < 8 {
        return None;
    }
    let (mut le, mut be) = (0usize, 0usize);
    for pair in head.chunks_exact(2) {
        match (pair[0], pair[1]) {
            (a, 0) if a != 0 => le += 1,
            (0, b) if b != 0 => be += 1,
            _ => {}
        }
    }
    if le * 10 >= units * 4 && be == 0 {
        Some(encoding_rs::UTF_16LE)
    } else if be * 10 >= units * 4 && le == 0 {
        Some(encoding_rs::UTF_16BE)
    } else {
        None
    }
}

/// Line-end statistics of a text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineEnds {
    /// Physical lines.
    pub lines: usize,
    /// Lines ended by CR LF.
    pub crlf: usize,
    /// CR characters not followed by LF (kept as data).
    pub lone_cr: usize,
    /// The text ends with LF (no partial last line).
    pub ends_with_lf: bool,
}

/// Split `text` into physical lines (1-based numbering is the caller's `index + 1`): each line
/// without its LF and without one CR right before that LF.
pub fn split_lines(text: &str) -> (Vec<&str>, LineEnds) {
    let mut out = Vec::with_capacity(text.len() / 64 + 1);
    let mut ends = LineEnds::default();
    let mut rest = text;
    while !rest.is_empty() {
        match rest.find('\n') {
            Some(i) => {
                let mut line = &rest[..i];
                if let Some(l) = line.strip_suffix('\r') {
                    line = l;
                    ends.crlf += 1;
                }
                out.push(line);
                rest = &rest[i + 1..];
            }
            None => {
                out.push(rest);
                rest = "";
            }
        }
    }
    ends.ends_with_lf = text.ends_with('\n');
    ends.lines = out.len();
    ends.lone_cr = out.iter().map(|l| l.matches('\r').count()).sum();
    (out, ends)
}

/// True when a line holds nothing but whitespace.
pub fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_follow_the_oracle_rule() {
        let (l, e) = split_lines("a\r\nb\rc\nd");
        assert_eq!(l, vec!["a", "b\rc", "d"]);
        assert_eq!(e.lines, 3);
        assert_eq!(e.crlf, 1);
        assert_eq!(e.lone_cr, 1);
        assert!(!e.ends_with_lf);
        let (l, e) = split_lines("x\n\n");
        assert_eq!(l, vec!["x", ""]);
        assert!(e.ends_with_lf);
        assert_eq!(split_lines("").0.len(), 0);
    }

    #[test]
    fn boms_and_utf16() {
        let d = decode(b"\xEF\xBB\xBFhi", &DecodeOptions::default());
        assert_eq!((d.text.as_str(), d.encoding, d.bom), ("hi", "UTF-8", true));
        let d = decode(b"\xFF\xFEh\0i\0", &DecodeOptions::default());
        assert_eq!((d.text.as_str(), d.encoding), ("hi", "UTF-16LE"));
        let raw: Vec<u8> = "hello world, no BOM here"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        let d = decode(&raw, &DecodeOptions::default());
        assert_eq!(d.text, "hello world, no BOM here");
        assert_eq!(d.detection, Detection::Utf16Heuristic);
    }

    #[test]
    fn never_fails_on_garbage() {
        let junk: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        let d = decode(&junk, &DecodeOptions::default());
        assert!(!d.text.is_empty());
        let d = decode(&[0xFF], &DecodeOptions::default());
        assert_eq!(d.detection, Detection::Guessed);
        // Western European setupapi text in cp1252, guessed
        let mut b = Vec::new();
        for _ in 0..5 {
            b.extend_from_slice(
                b"     inf:                Display Name  = P\xE9riph\xE9rique audio USB (g\xE9n\xE9rique)\n",
            );
            b.extend_from_slice(b"     inf:                Image Path    = \\SystemRoot\\system32\\drivers\\usbaudio.sys\n");
        }
        let d = decode(&b, &DecodeOptions::default());
        assert_eq!(d.encoding, "windows-1252");
        assert!(d
            .text
            .contains("P\u{e9}riph\u{e9}rique audio USB (g\u{e9}n\u{e9}rique)"));
        let d = decode(
            b"caf\xE9",
            &DecodeOptions {
                code_page: Some(encoding_rs::WINDOWS_1252),
            },
        );
        assert_eq!(d.text, "caf\u{e9}");
    }
}
