//! The report's language: UI strings (headings, labels, conclusion phrases, advice headings) in
//! `reports/i18n/<lang>.json`, embedded with `include_str!`. A string may hold `{name}`
//! placeholders that [`fill`] replaces. Evidence details, the verdict's reason, advice and
//! to-do texts come from the verdict and stay English (the zh-CN report says so).

use std::collections::BTreeMap;
use std::sync::OnceLock;

const EN: &str = include_str!("../../reports/i18n/en.json");
const ZH_CN: &str = include_str!("../../reports/i18n/zh-CN.json");

/// A language of the report text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    /// English (default).
    #[default]
    En,
    /// Simplified Chinese.
    ZhCn,
}

impl Lang {
    /// Every language, in the order `--help` lists them.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::ZhCn];

    /// BCP 47 tag, as `--lang` takes it and `<html lang>` carries it.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    /// The UI strings of this language.
    pub fn strings(self) -> &'static BTreeMap<String, String> {
        static T: OnceLock<[BTreeMap<String, String>; 2]> = OnceLock::new();
        let all = T.get_or_init(|| {
            let parse = |name: &str, text: &str| -> BTreeMap<String, String> {
                serde_json::from_str(text).unwrap_or_else(|e| {
                    panic!("reports/i18n/{name}.json is not a flat JSON object of strings: {e}")
                })
            };
            [parse("en", EN), parse("zh-CN", ZH_CN)]
        });
        match self {
            Lang::En => &all[0],
            Lang::ZhCn => &all[1],
        }
    }

    /// The string `key` (the key itself when missing, which the tests forbid).
    pub fn get(self, key: &str) -> &'static str {
        self.strings()
            .get(key)
            .map(String::as_str)
            .unwrap_or_else(|| Lang::En.strings().get(key).map_or("", String::as_str))
    }
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Lang::ALL
            .into_iter()
            .find(|l| l.tag().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "unknown report language {s:?}: use {}",
                    Lang::ALL.map(Lang::tag).join(" or ")
                )
            })
    }
}

/// Replace each `{name}` of `template` by its value; unknown placeholders stay as written.
pub fn fill(template: &str, args: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match args.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `{name}` placeholders of a string, in order.
pub fn placeholders(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        out.push(&after[..close]);
        rest = &after[close + 1..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_key_with_the_same_placeholders() {
        let en = Lang::En.strings();
        assert!(en.len() > 50, "{} strings", en.len());
        for lang in Lang::ALL {
            let t = lang.strings();
            let missing: Vec<&String> = en.keys().filter(|k| !t.contains_key(*k)).collect();
            let extra: Vec<&String> = t.keys().filter(|k| !en.contains_key(*k)).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{}: missing {missing:?}, extra {extra:?}",
                lang.tag()
            );
            for (k, v) in t {
                assert!(!v.trim().is_empty(), "{}: {k} is empty", lang.tag());
                let mut a = placeholders(v);
                let mut b = placeholders(&en[k]);
                a.sort_unstable();
                b.sort_unstable();
                assert_eq!(a, b, "{}: placeholders of {k}", lang.tag());
            }
        }
    }

    #[test]
    fn chinese_strings_are_translated() {
        // Every zh-CN string that is not a bare name or code holds Chinese characters.
        let en = Lang::En.strings();
        let zh = Lang::ZhCn.strings();
        let untranslated: Vec<&String> = zh
            .iter()
            .filter(|(k, v)| {
                let has_han = v.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
                let letters = en[*k].chars().filter(|c| c.is_alphabetic()).count();
                !has_han && letters > 4 && !k.starts_with("keep_")
            })
            .map(|(k, _)| k)
            .collect();
        assert!(untranslated.is_empty(), "{untranslated:?}");
    }

    #[test]
    fn fill_and_parse() {
        assert_eq!(
            fill("{a} of {b}, {c}", &[("a", "1".into()), ("b", "2".into())]),
            "1 of 2, {c}"
        );
        assert_eq!(fill("no {brace", &[]), "no {brace");
        assert_eq!("zh-cn".parse::<Lang>(), Ok(Lang::ZhCn));
        assert_eq!("en".parse::<Lang>(), Ok(Lang::En));
        assert!("fr".parse::<Lang>().unwrap_err().contains("en or zh-CN"));
    }
}
