//! Line templates: the pattern language of the signature tables (`data/*.csv`).
//!
//! A template is literal text with wildcards and named captures, matched ASCII-case-insensitively
//! anywhere in a line (unanchored at both ends; a leading `^` anchors it at the start):
//!
//! | syntax | matches |
//! |---|---|
//! | `*` | any run of characters, possibly empty |
//! | `{name}` | a non-empty run, as short as possible; at the end of the template: the rest of the line |
//! | `{name:word}` | a run of non-whitespace characters |
//! | `{name:int}` | decimal digits |
//! | `{name:hex}` | hexadecimal digits, with or without `0x` |
//! | `\{` `\}` `\*` `\^` `\\` | the character itself |
//!
//! Matching backtracks over the wildcards, with a step budget so that no line, however long or
//! strange, can make it slow; a template that runs out of budget does not match.

use std::fmt;

/// Kinds of capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cap {
    Any,
    Word,
    Int,
    Hex,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    /// Literal text, ASCII-lower-cased.
    Lit(String),
    Star,
    Cap(String, Cap),
}

/// A parsed template.
#[derive(Clone, Debug)]
pub struct Template {
    source: String,
    anchored: bool,
    toks: Vec<Tok>,
    /// The longest literal (lower-cased): a line without it cannot match.
    key: String,
}

/// A template that could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError(pub String);

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TemplateError {}

/// Captured values (name, text), in template order.
pub type Captures<'s, 't> = Vec<(&'s str, &'t str)>;

const BUDGET: usize = 20_000;

impl Template {
    /// Parse a template (see the module documentation).
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        let mut toks: Vec<Tok> = Vec::new();
        let mut lit = String::new();
        let mut chars = src.chars().peekable();
        let mut anchored = false;
        if chars.peek() == Some(&'^') {
            anchored = true;
            chars.next();
        }
        let flush = |lit: &mut String, toks: &mut Vec<Tok>| {
            if !lit.is_empty() {
                toks.push(Tok::Lit(lit.to_ascii_lowercase()));
                lit.clear();
            }
        };
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(n) => lit.push(n),
                    None => return Err(TemplateError(format!("{src:?}: trailing backslash"))),
                },
                '*' => {
                    flush(&mut lit, &mut toks);
                    if toks.last() != Some(&Tok::Star) {
                        toks.push(Tok::Star);
                    }
                }
                '{' => {
                    flush(&mut lit, &mut toks);
                    let mut inner = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(n) => inner.push(n),
                            None => {
                                return Err(TemplateError(format!("{src:?}: unclosed capture")))
                            }
                        }
                    }
                    let (name, ty) = match inner.split_once(':') {
                        Some((n, "word")) => (n, Cap::Word),
                        Some((n, "int")) => (n, Cap::Int),
                        Some((n, "hex")) => (n, Cap::Hex),
                        Some((_, t)) => {
                            return Err(TemplateError(format!(
                                "{src:?}: unknown capture type {t:?}"
                            )))
                        }
                        None => (inner.as_str(), Cap::Any),
                    };
                    if name.is_empty()
                        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    {
                        return Err(TemplateError(format!("{src:?}: bad capture name {name:?}")));
                    }
                    toks.push(Tok::Cap(name.to_string(), ty));
                }
                '}' => return Err(TemplateError(format!("{src:?}: unescaped '}}'"))),
                _ => lit.push(c),
            }
        }
        flush(&mut lit, &mut toks);
        let key = toks
            .iter()
            .filter_map(|t| match t {
                Tok::Lit(l) => Some(l.as_str()),
                _ => None,
            })
            .max_by_key(|l| l.len())
            .unwrap_or("")
            .to_string();
        Ok(Template {
            source: src.to_string(),
            anchored,
            toks,
            key,
        })
    }

    /// The template as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// True for the empty template (matches every line).
    pub fn is_empty(&self) -> bool {
        self.toks.is_empty()
    }

    /// Names of the captures.
    pub fn capture_names(&self) -> Vec<&str> {
        self.toks
            .iter()
            .filter_map(|t| match t {
                Tok::Cap(n, _) => Some(n.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Match `text`; `lower` must be `text.to_ascii_lowercase()` (computed once per line by the
    /// caller). Returns the captures, or `None`.
    pub fn matches<'s, 't>(&'s self, text: &'t str, lower: &str) -> Option<Captures<'s, 't>> {
        if text.len() != lower.len() || !lower.contains(self.key.as_str()) {
            return None;
        }
        let mut m = Matcher {
            toks: &self.toks,
            text,
            lower,
            caps: Vec::new(),
            budget: BUDGET,
        };
        if self.anchored {
            return m.at(0, 0).then_some(m.caps);
        }
        // Unanchored: try each start where the first token can begin.
        let starts: Vec<usize> = match self.toks.first() {
            None => return Some(Vec::new()),
            Some(Tok::Lit(l)) => lower.match_indices(l.as_str()).map(|(i, _)| i).collect(),
            Some(_) => text
                .char_indices()
                .map(|(i, _)| i)
                .chain([text.len()])
                .collect(),
        };
        for s in starts {
            m.caps.clear();
            if m.at(0, s) {
                return Some(m.caps);
            }
            if m.budget == 0 {
                return None;
            }
        }
        None
    }
}

struct Matcher<'s, 'a, 't> {
    toks: &'s [Tok],
    text: &'t str,
    lower: &'a str,
    caps: Captures<'s, 't>,
    budget: usize,
}

impl<'s, 't> Matcher<'s, '_, 't> {
    fn at(&mut self, ti: usize, pos: usize) -> bool {
        if self.budget == 0 {
            return false;
        }
        self.budget -= 1;
        let Some(tok) = self.toks.get(ti) else {
            return true; // unanchored end
        };
        match tok {
            Tok::Lit(l) => {
                self.lower[pos..].starts_with(l.as_str()) && self.at(ti + 1, pos + l.len())
            }
            Tok::Star => match self.toks.get(ti + 1) {
                None => true,
                Some(Tok::Lit(l)) => {
                    let hits: Vec<usize> = self.lower[pos..]
                        .match_indices(l.as_str())
                        .map(|(i, _)| pos + i)
                        .collect();
                    hits.into_iter().any(|p| self.at(ti + 1, p))
                }
                Some(_) => {
                    let ends: Vec<usize> = self.text[pos..]
                        .char_indices()
                        .map(|(i, _)| pos + i)
                        .chain([self.text.len()])
                        .collect();
                    ends.into_iter().any(|p| self.at(ti + 1, p))
                }
            },
            Tok::Cap(name, ty) => {
                let name: &'s String = name;
                let ends = self.capture_ends(ti, pos, *ty);
                for end in ends {
                    let n = self.caps.len();
                    self.caps.push((name.as_str(), &self.text[pos..end]));
                    if self.at(ti + 1, end) {
                        return true;
                    }
                    self.caps.truncate(n);
                    if self.budget == 0 {
                        return false;
                    }
                }
                false
            }
        }
    }

    /// Candidate end positions of a capture starting at `pos`, best first.
    fn capture_ends(&self, ti: usize, pos: usize, ty: Cap) -> Vec<usize> {
        let rest = &self.text[pos..];
        match ty {
            Cap::Any => {
                let last = ti + 1 == self.toks.len();
                if last {
                    let t = rest.trim_end();
                    return if t.is_empty() {
                        vec![]
                    } else {
                        vec![pos + t.len()]
                    };
                }
                let first_char = rest.chars().next().map_or(0, char::len_utf8);
                if first_char == 0 {
                    return vec![];
                }
                match self.toks.get(ti + 1) {
                    Some(Tok::Lit(l)) => self.lower[pos + first_char..]
                        .match_indices(l.as_str())
                        .map(|(i, _)| pos + first_char + i)
                        .collect(),
                    _ => rest
                        .char_indices()
                        .skip(1)
                        .map(|(i, _)| pos + i)
                        .chain([self.text.len()])
                        .collect(),
                }
            }
            Cap::Word => {
                let n = rest.find(char::is_whitespace).unwrap_or(rest.len());
                // longest first, then shorter (so that a literal right after can still match)
                let mut ends: Vec<usize> = rest[..n]
                    .char_indices()
                    .skip(1)
                    .map(|(i, _)| pos + i)
                    .collect();
                if n > 0 {
                    ends.push(pos + n);
                }
                ends.reverse();
                ends
            }
            Cap::Int => {
                let n = rest.bytes().take_while(u8::is_ascii_digit).count();
                if n == 0 {
                    vec![]
                } else {
                    vec![pos + n]
                }
            }
            Cap::Hex => {
                let skip = if rest.len() >= 2 && rest.as_bytes()[..2].eq_ignore_ascii_case(b"0x") {
                    2
                } else {
                    0
                };
                let n = rest[skip..]
                    .bytes()
                    .take_while(u8::is_ascii_hexdigit)
                    .count();
                if n == 0 {
                    vec![]
                } else {
                    vec![pos + skip + n]
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(p: &str) -> Template {
        Template::parse(p).unwrap()
    }

    fn m<'s, 'a>(p: &'s Template, s: &'a str) -> Option<Vec<(&'s str, &'a str)>> {
        p.matches(s, &s.to_ascii_lowercase())
    }

    #[test]
    fn literals_and_captures() {
        let p = t("{op:word} index: {index:int}, phase: {phase:int}, result {result:int}, inf: {inf:word}");
        let c = m(&p, "INSTALL index: 0, phase: 2, result 5, inf: cpu.inf").unwrap();
        assert_eq!(
            c,
            vec![
                ("op", "INSTALL"),
                ("index", "0"),
                ("phase", "2"),
                ("result", "5"),
                ("inf", "cpu.inf")
            ]
        );
        let p = t("Failed to extract files from cabinet {file} [HRESULT");
        let c = m(&p, "Failed to extract files from cabinet \\\\?\\C:\\a b\\x.cab [HRESULT = 0x80070005 - E_ACCESSDENIED]").unwrap();
        assert_eq!(c, vec![("file", "\\\\?\\C:\\a b\\x.cab")]);
        assert!(m(&t("hashes for FILE member"), "x Hashes for file member y").is_some());
        assert!(m(&t("^Hashes"), "x Hashes").is_none());
        let p = t("Marked package {package:word} as failed");
        assert_eq!(
            m(&p, "Doqe: Marked package P~1 as failed.").unwrap(),
            vec![("package", "P~1")]
        );
        let p = t("code={c:hex} |");
        assert_eq!(
            m(&p, "| code=0x800f0816 |").unwrap(),
            vec![("c", "0x800f0816")]
        );
        let p = t("on file {file}");
        assert_eq!(m(&p, "x on file a.dll  ").unwrap(), vec![("file", "a.dll")]);
        let p = t("\\{Add Service: {service}\\}");
        assert_eq!(
            m(&p, "{Add Service: AmdK8}").unwrap(),
            vec![("service", "AmdK8")]
        );
        let p = t("{x:word}.");
        assert_eq!(m(&p, "abc.").unwrap(), vec![("x", "abc")]);
    }

    #[test]
    fn bad_templates_and_hostile_lines() {
        assert!(Template::parse("{x").is_err());
        assert!(Template::parse("a}").is_err());
        assert!(Template::parse("{x:nope}").is_err());
        assert!(Template::parse("\\").is_err());
        let p = t("*a*a*a*a*b");
        let s = "a".repeat(5000);
        assert!(m(&p, &s).is_none());
        let p = t("{a}{b}{c}x");
        assert!(m(&p, &"é".repeat(3000)).is_none());
        assert!(m(&t(""), "").is_some());
        assert!(m(&t("x"), "").is_none());
    }
}
