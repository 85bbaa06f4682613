//! Error codes inside log text: CBS `[HRESULT = 0x... - NAME]` fields, CSI `[gle=0x...]`,
//! `hr = 0x...`, setupapi `Error = 0x...`, installer `ErrorCode: 0x...`, Windows Update
//! `*FAILED* [80070005]`, and their normalisation to one 32-bit value.

/// One `HRESULT = 0x........[ - NAME]` field of a CBS line (`format-logs.md` 1.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HresultField {
    /// The value.
    pub code: u32,
    /// The symbolic name CBS printed after ` - `, if any (`E_ACCESSDENIED`).
    pub name: Option<String>,
}

/// Every `HRESULT = 0x` + 8 hex digits field of `text`, with the optional ` - NAME`.
pub fn hresult_fields(text: &str) -> Vec<HresultField> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("HRESULT = 0x") {
        let after = &rest[i + "HRESULT = 0x".len()..];
        let hex: &str = after.get(..8).unwrap_or("");
        if hex.len() == 8 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            let code = u32::from_str_radix(hex, 16).unwrap_or(0);
            let tail = &after[8..];
            let name = tail.strip_prefix(" - ").and_then(|t| {
                let n: String = t
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                (!n.is_empty()).then_some(n)
            });
            out.push(HresultField { code, name });
            rest = tail;
        } else {
            rest = after;
        }
    }
    out
}

/// Words that, right before a hexadecimal number, say the number is an error code.
const CODE_WORDS: [&str; 12] = [
    "hresult",
    "hr",
    "gle",
    "error",
    "errorcode",
    "status",
    "result",
    "code",
    "failure",
    "exit",
    "returned",
    "failed",
];

/// All error codes in `text`, in order of appearance, normalised with [`normalize`]:
/// `0x`-prefixed hex numbers (up to 8 digits) right after one of the words `HRESULT`, `hr`, `gle`,
/// `Error`, `ErrorCode`, `Status`, `result`, `code`, `FAILURE`, `exit`, `returned` (with `=`, `:`,
/// `(`, `[` or spaces between), and bracketed 8-digit hex codes such as Windows Update's
/// `*FAILED* [80070005]`. Other hex numbers (flags, addresses) are not codes.
pub fn codes_in(text: &str) -> Vec<u32> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        // 0x-prefixed
        if b[i] == b'0'
            && i + 1 < b.len()
            && (b[i + 1] == b'x' || b[i + 1] == b'X')
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
        {
            let start = i + 2;
            let n = b[start..]
                .iter()
                .take_while(|c| c.is_ascii_hexdigit())
                .count();
            let end = start + n;
            let word_after = b
                .get(end)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_');
            if (1..=8).contains(&n) && !word_after && preceded_by_code_word(&text[..i]) {
                if let Ok(v) = u32::from_str_radix(&text[start..end], 16) {
                    out.push(normalize(v));
                }
            }
            i = end.max(i + 1);
            continue;
        }
        // `NTSTATUS -1073283059` (CSI hydration lines): a signed decimal NTSTATUS
        if b[i] == b'N' && text[i..].starts_with("NTSTATUS ") {
            let r = &text[i + 9..];
            let neg = r.starts_with('-');
            let digits: String = r
                .trim_start_matches('-')
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if !digits.is_empty() {
                if let Ok(v) = digits.parse::<i64>() {
                    let v = if neg { -v } else { v };
                    if let Ok(x) = i32::try_from(v) {
                        out.push(x as u32);
                    } else if let Ok(x) = u32::try_from(v) {
                        out.push(x);
                    }
                }
                i += 9 + usize::from(neg) + digits.len();
                continue;
            }
        }
        // [XXXXXXXX] with 8 hex digits starting with 8 or C (HRESULT / NTSTATUS failures)
        if b[i] == b'[' && i + 9 < b.len() && b[i + 9] == b']' {
            let hex = &text[i + 1..i + 9];
            if hex.bytes().all(|c| c.is_ascii_hexdigit())
                && matches!(hex.as_bytes()[0], b'8' | b'c' | b'C')
            {
                if let Ok(v) = u32::from_str_radix(hex, 16) {
                    out.push(v);
                }
                i += 10;
                continue;
            }
        }
        i += 1;
    }
    out
}

fn preceded_by_code_word(before: &str) -> bool {
    let t = before.trim_end_matches([' ', '=', ':', '(', '[', '\t']);
    let word: String = t
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<String>()
        .to_ascii_lowercase();
    CODE_WORDS.contains(&word.as_str())
}

/// Normalise a code: a non-zero value up to 0xFFFF is a Win32 error and becomes its HRESULT
/// (`HRESULT_FROM_WIN32`: 5 -> 0x80070005); anything else is kept.
pub fn normalize(v: u32) -> u32 {
    if v != 0 && v <= 0xFFFF {
        0x8007_0000 | v
    } else {
        v
    }
}

/// Parse a code as written in a capture: `0x...` hex, bare hex with a letter or 8 digits,
/// decimal, or an event-log message insert `%%N` (decimal). Normalised with [`normalize`].
pub fn parse_code(s: &str) -> Option<u32> {
    let s = s.trim().trim_start_matches("%%");
    let v = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()?
    } else if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) && s.len() != 8 {
        s.parse::<u64>().ok().and_then(|v| u32::try_from(v).ok())?
    } else if !s.is_empty() && s.len() <= 8 && s.bytes().all(|c| c.is_ascii_hexdigit()) {
        u32::from_str_radix(s, 16).ok()?
    } else {
        return None;
    };
    Some(normalize(v))
}

/// True for the access-denied family: E_ACCESSDENIED (0x80070005, Win32 5) and
/// STATUS_ACCESS_DENIED (0xC0000022).
pub fn is_access_denied(code: u32) -> bool {
    matches!(code, 0x8007_0005 | 0xC000_0022 | 5)
}

/// The symbolic name of a code from the embedded tables (`knowledge`), if known.
pub fn code_name(code: u32) -> Option<String> {
    if let Some(h) = crate::knowledge::hresult(code) {
        return Some(h.symbol.clone());
    }
    crate::knowledge::ntstatus(code).map(|s| s.symbol.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_codes() {
        let f = hresult_fields(
            "x [HRESULT = 0x800f081f - CBS_E_SOURCE_MISSING] y [HRESULT = 0x800f0805]",
        );
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].code, 0x800f081f);
        assert_eq!(f[0].name.as_deref(), Some("CBS_E_SOURCE_MISSING"));
        assert_eq!(f[1].name, None);
        assert_eq!(
            codes_in("(F) Failed on regenerating file [l:9]'ntdll.dll'[gle=0x80004005]"),
            vec![0x80004005]
        );
        assert_eq!(
            codes_in("Failed to set Start Type. Error = 0x00000005"),
            vec![0x80070005]
        );
        assert_eq!(
            codes_in("*FAILED* [80070005] ISusInternal:: DisconnectCall"),
            vec![0x80070005]
        );
        assert_eq!(
            codes_in("flags: 0x2, stack @0x7ffd497360e5, Suite = 0x0300"),
            Vec::<u32>::new()
        );
        assert_eq!(
            codes_in("SLpUpdateComponentTokens completed with hr=0x8007000d"),
            vec![0x8007000d]
        );
        assert_eq!(
            codes_in("[Exit status: FAILURE(0x00000005)]"),
            vec![0x80070005]
        );
        assert_eq!(
            codes_in("on file a.exe with NTSTATUS -1073283059. x[gle=0x80004005]"),
            vec![0xC007000D, 0x80004005]
        );
        assert_eq!(parse_code("%%50"), Some(0x80070032));
        assert_eq!(parse_code("%%2147942414"), Some(0x8007000E));
        assert_eq!(parse_code("0x0"), Some(0));
        assert_eq!(parse_code("80070005"), Some(0x80070005));
        assert_eq!(parse_code("5"), Some(0x80070005));
        assert_eq!(parse_code("zz"), None);
        assert!(is_access_denied(parse_code("5").unwrap()));
        let _ = codes_in("0x");
        let _ = codes_in("[");
        let _ = codes_in("é0xé[8000000é]");
    }
}
