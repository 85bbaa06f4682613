//! Failure signatures: a table-driven classifier from log lines to failures.
//!
//! Three data files, embedded at build time:
//!
//! * `data/signatures.csv`: the rules, tried in file order; the first that matches a line
//!   decides its signature. A rule names the log kinds it applies to, a [`Template`] for the line
//!   text, an optional template for the line's context (setupapi: the enclosing `{...}` blocks
//!   and the `[section]`), conditions on captures and codes, the code to report and the coarse
//!   `kind` (the oracle's classes in `EXPECTED.md`). Rules whose signature starts with `@` are
//!   markers: they produce no finding, only context for the rules below (the sliding-window
//!   timeout before a hang, the execute state at a timeout).
//! * `data/objects.csv`: where the failing object (inf, service key, file, package ...) is read
//!   from, for findings whose rule does not name it.
//! * `data/signature_info.csv`: per signature (and optionally per code): whether a filter driver
//!   can be involved at all (`yes`, `no`, or `code`: only for an access-denied code), what it
//!   means, and the known fix or, for denials, the capture that decides it.
//!
//! After the per-line pass, findings of one file are related: a finding without object takes
//! the object of the same signature's finding just before it (same operation, within two
//! minutes); a `servicing_hang` that follows a `driver_queue_denied` is linked to it and marked
//! as possibly filter-caused (case C: the same signature as case A). [`classify_all`] does the
//! same across the files of one machine.

use super::codes::{code_name, codes_in, hresult_fields, is_access_denied, parse_code};
use super::pattern::Template;
use super::{LogFile, LogKind, Parsed};
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use std::borrow::Cow;
use std::sync::OnceLock;

const RULES_CSV: &str = include_str!("data/signatures.csv");
const OBJECTS_CSV: &str = include_str!("data/objects.csv");
const INFO_CSV: &str = include_str!("data/signature_info.csv");

/// The object a failure is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailureObject {
    /// What it is: `inf`, `service`, `key`, `value`, `file`, `package`, `session`, `installer`,
    /// `update`, `volume`, `store`, `driver`.
    pub kind: String,
    /// Its name or path (`cpu.inf`, `HKLM\SYSTEM\CurrentControlSet\Services\AmdK8\Start`,
    /// `C:\Windows\SoftwareDistribution\...\x.cab`).
    pub name: String,
}

/// One classified failure.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// Signature (`driver_queue_denied`, `file_extract_denied`, `servicing_hang`,
    /// `store_corruption`, `ntfs_log_full`, `efi_boot_files`, `uso_timeout`, `package_failed`, ...).
    pub signature: String,
    /// Coarse class (`access_denied`, `driver_op_failed`, `timeout`, `abort`, `store_corruption`,
    /// `psfx_hydration`, `source_missing`, `log_growth`, `installers_failed`, `reboot_pending`,
    /// `package_failed`, `other_failure`): the classes of `EXPECTED.md`.
    pub kind: String,
    /// Id of the rule that matched.
    pub rule: String,
    /// Kind of log it was found in.
    pub source_kind: LogKind,
    /// The file (as given to the reader).
    pub file: String,
    /// 1-based line number (event record id, for `.evtx`).
    pub line: usize,
    /// Local wall-clock time as written in the log, if any.
    pub time_local: Option<NaiveDateTime>,
    /// UTC time, when the log allows it.
    pub time_utc: Option<DateTime<Utc>>,
    /// What failed.
    pub object: Option<FailureObject>,
    /// The error code (HRESULT; Win32 codes are normalised to HRESULTs, NTSTATUS kept).
    pub code: Option<u32>,
    /// Symbolic name of the code (from the line, else the embedded tables).
    pub code_name: Option<String>,
    /// Extra facts from the line (operation and phase, intended state ...).
    pub detail: Option<String>,
    /// Whether a filter driver can be involved at all (only access denials, and what follows one).
    pub filter_possible: bool,
    /// What the signature means.
    pub meaning: String,
    /// The known fix; for denials, the capture that decides which driver (if any) denied.
    pub fix: String,
    /// The line (the record's canonical text, for `.evtx`).
    pub text: String,
    /// Lines of related findings in the same file (the denial a hang follows, the line an
    /// object was taken from).
    pub related: Vec<usize>,
    /// Explanation added when findings were related.
    pub note: Option<String>,
}

/// One line as the classifier sees it.
#[derive(Clone, Debug)]
pub struct LineInput<'a> {
    /// Log kind.
    pub source_kind: LogKind,
    /// Line number (record id for `.evtx`).
    pub line: usize,
    /// Local time.
    pub time_local: Option<NaiveDateTime>,
    /// UTC time.
    pub time_utc: Option<DateTime<Utc>>,
    /// The line reports a failure by its form: CBS severity `Error` or CSI `(F)`, setupapi `!!!`
    /// or a `FAILURE(...)` exit status.
    pub failed: bool,
    /// Severity word, when the format has one.
    pub severity: Option<&'a str>,
    /// The text matched by the rules (CBS: the message; setupapi: the body text; `.evtx`: the
    /// canonical `Provider/Id | name=value |` text).
    pub text: Cow<'a, str>,
    /// Context strings (setupapi: `{Block: arg}` innermost first, then `[Section title]`).
    pub context: Vec<String>,
}

#[derive(Clone, Debug)]
enum Cond {
    /// capture (or `$severity`) equals one of the values
    Eq(String, Vec<String>),
    /// capture differs from all values
    Ne(String, Vec<String>),
    /// one of the line's codes equals one of the values
    Code(Vec<u32>),
    /// the line is failure-marked
    Failed,
}

#[derive(Clone, Debug)]
struct Rule {
    id: String,
    signature: String,
    kind: String,
    sources: Vec<LogKind>,
    pattern: Template,
    context: Option<Template>,
    require: Vec<Cond>,
    code: String,
    object_kind: String,
    object: String,
    detail: String,
}

#[derive(Clone, Debug)]
struct ObjectRule {
    sources: Vec<LogKind>,
    pattern: Template,
    context: Option<Template>,
    kind: String,
    object: String,
}

#[derive(Clone, Debug)]
struct Info {
    signature: String,
    code: Option<u32>,
    filter: String,
    meaning: String,
    fix: String,
}

/// The signature tables, parsed.
#[derive(Clone, Debug)]
pub struct Classifier {
    rules: Vec<Rule>,
    objects: Vec<ObjectRule>,
    info: Vec<Info>,
}

fn sources(s: &str) -> Result<Vec<LogKind>, String> {
    s.split('|')
        .map(|k| match k.trim() {
            "cbs" => Ok(vec![LogKind::Cbs]),
            "setupapi" => Ok(vec![LogKind::SetupApi]),
            "windowsupdate" => Ok(vec![LogKind::WindowsUpdate]),
            "evtx" => Ok(vec![LogKind::EventLog]),
            "text" => Ok(vec![
                LogKind::Cbs,
                LogKind::SetupApi,
                LogKind::WindowsUpdate,
            ]),
            "any" => Ok(vec![
                LogKind::Cbs,
                LogKind::SetupApi,
                LogKind::WindowsUpdate,
                LogKind::EventLog,
            ]),
            other => Err(format!("unknown source {other:?}")),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|v| v.concat())
}

fn conds(s: &str) -> Result<Vec<Cond>, String> {
    let mut out = Vec::new();
    for c in s.split(';').map(str::trim).filter(|c| !c.is_empty()) {
        if c == "$failed" {
            out.push(Cond::Failed);
        } else if let Some(v) = c.strip_prefix("$code=") {
            let codes = v
                .split('|')
                .map(|x| parse_code(x).ok_or_else(|| format!("bad code {x:?} in {c:?}")))
                .collect::<Result<Vec<_>, _>>()?;
            out.push(Cond::Code(codes));
        } else if let Some((n, v)) = c.split_once("!=") {
            out.push(Cond::Ne(
                n.trim().to_string(),
                v.split('|').map(|x| x.trim().to_string()).collect(),
            ));
        } else if let Some((n, v)) = c.split_once('=') {
            out.push(Cond::Eq(
                n.trim().to_string(),
                v.split('|').map(|x| x.trim().to_string()).collect(),
            ));
        } else {
            return Err(format!("bad condition {c:?}"));
        }
    }
    Ok(out)
}

fn opt_template(s: &str) -> Result<Option<Template>, String> {
    if s.trim().is_empty() {
        Ok(None)
    } else {
        Template::parse(s).map(Some).map_err(|e| e.to_string())
    }
}

fn records(csv_text: &str) -> Vec<csv::StringRecord> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .comment(Some(b'#'))
        .flexible(true)
        .from_reader(csv_text.as_bytes())
        .into_records()
        .filter_map(Result::ok)
        .collect()
}

impl Classifier {
    /// The built-in tables (parsed once).
    pub fn builtin() -> &'static Classifier {
        static C: OnceLock<Classifier> = OnceLock::new();
        C.get_or_init(|| {
            // The embedded tables are checked by a unit test; a broken row cannot ship.
            Classifier::from_csv(RULES_CSV, OBJECTS_CSV, INFO_CSV).unwrap_or_else(|_| Classifier {
                rules: Vec::new(),
                objects: Vec::new(),
                info: Vec::new(),
            })
        })
    }

    /// Parse tables in the formats of `data/signatures.csv`, `data/objects.csv` and
    /// `data/signature_info.csv`. Errors name the offending row.
    pub fn from_csv(rules: &str, objects: &str, info: &str) -> Result<Classifier, String> {
        let g = |r: &csv::StringRecord, i: usize| r.get(i).unwrap_or("").trim().to_string();
        let mut out = Classifier {
            rules: Vec::new(),
            objects: Vec::new(),
            info: Vec::new(),
        };
        for r in records(rules) {
            let id = g(&r, 0);
            let rule = (|| -> Result<Rule, String> {
                Ok(Rule {
                    id: id.clone(),
                    signature: g(&r, 1),
                    kind: g(&r, 2),
                    sources: sources(&g(&r, 3))?,
                    pattern: Template::parse(r.get(4).unwrap_or("")).map_err(|e| e.to_string())?,
                    context: opt_template(&g(&r, 5))?,
                    require: conds(&g(&r, 6))?,
                    code: g(&r, 7),
                    object_kind: g(&r, 8),
                    object: g(&r, 9),
                    detail: g(&r, 10),
                })
            })()
            .map_err(|e| format!("signatures.csv rule {id:?}: {e}"))?;
            if rule.signature.is_empty()
                || (rule.kind.is_empty() && !rule.signature.starts_with('@'))
            {
                return Err(format!(
                    "signatures.csv rule {id:?}: signature and kind are required"
                ));
            }
            out.rules.push(rule);
        }
        for (n, r) in records(objects).into_iter().enumerate() {
            let row = (|| -> Result<ObjectRule, String> {
                Ok(ObjectRule {
                    sources: sources(&g(&r, 0))?,
                    pattern: Template::parse(r.get(1).unwrap_or("")).map_err(|e| e.to_string())?,
                    context: opt_template(&g(&r, 2))?,
                    kind: g(&r, 3),
                    object: g(&r, 4),
                })
            })()
            .map_err(|e| format!("objects.csv row {}: {e}", n + 1))?;
            out.objects.push(row);
        }
        for r in records(info) {
            let code = g(&r, 1);
            out.info.push(Info {
                signature: g(&r, 0),
                code: if code.is_empty() {
                    None
                } else {
                    Some(
                        parse_code(&code)
                            .ok_or_else(|| format!("signature_info.csv: bad code {code:?}"))?,
                    )
                },
                filter: g(&r, 2),
                meaning: g(&r, 3),
                fix: g(&r, 4),
            });
        }
        for rule in out.rules.iter().filter(|r| !r.signature.starts_with('@')) {
            if !out.info.iter().any(|i| i.signature == rule.signature) {
                return Err(format!(
                    "signature {:?} (rule {:?}) has no signature_info.csv row",
                    rule.signature, rule.id
                ));
            }
        }
        Ok(out)
    }

    /// Signature names in the tables (markers excluded), in first-use order.
    pub fn signatures(&self) -> Vec<&str> {
        let mut v: Vec<&str> = Vec::new();
        for r in &self.rules {
            if !r.signature.starts_with('@') && !v.contains(&r.signature.as_str()) {
                v.push(&r.signature);
            }
        }
        v
    }

    /// Classify one line: the first failure rule that matches, as a finding (without the
    /// cross-line relations of [`Classifier::classify`]).
    pub fn classify_line(&self, file: &str, input: &LineInput<'_>) -> Option<Finding> {
        self.first_match(input, false)
            .map(|(rule, caps)| self.finding(file, input, rule, &caps))
    }

    /// The first marker rule matching a line: (marker signature, captures).
    fn marker(&self, input: &LineInput<'_>) -> Option<(String, Vec<(String, String)>)> {
        self.first_match(input, true)
            .map(|(r, c)| (r.signature.clone(), c))
    }

    fn first_match<'s>(
        &'s self,
        input: &LineInput<'_>,
        markers: bool,
    ) -> Option<(&'s Rule, Vec<(String, String)>)> {
        let text: &str = &input.text;
        let lower = text.to_ascii_lowercase();
        let codes = line_codes(input);
        for rule in &self.rules {
            if rule.signature.starts_with('@') != markers
                || !rule.sources.contains(&input.source_kind)
            {
                continue;
            }
            let Some(caps) = rule.pattern.matches(text, &lower) else {
                continue;
            };
            let mut caps: Vec<(String, String)> = caps
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            if let Some(ct) = &rule.context {
                let hit = input
                    .context
                    .iter()
                    .find_map(|c| ct.matches(c, &c.to_ascii_lowercase()));
                match hit {
                    Some(cc) => {
                        caps.extend(cc.into_iter().map(|(k, v)| (k.to_string(), v.to_string())))
                    }
                    None => continue,
                }
            }
            if rule
                .require
                .iter()
                .all(|c| cond_holds(c, &caps, input, &codes))
            {
                return Some((rule, caps));
            }
        }
        None
    }

    fn finding(
        &self,
        file: &str,
        input: &LineInput<'_>,
        rule: &Rule,
        caps: &[(String, String)],
    ) -> Finding {
        let codes = line_codes(input);
        let code = if rule.code.contains('{') {
            render(&rule.code, caps).as_deref().and_then(parse_code)
        } else if let Some(forced) = rule.code.strip_prefix('=') {
            parse_code(forced)
        } else {
            // E_FAIL says nothing when the rule knows the specific code
            let default = parse_code(&rule.code);
            codes
                .iter()
                .copied()
                .find(|&c| c != 0 && !(default.is_some() && c == 0x8000_4005))
                .or(default)
        };
        let code_name = code.and_then(|c| {
            hresult_fields(&input.text)
                .into_iter()
                .find(|f| f.code == c && f.name.is_some())
                .and_then(|f| f.name)
                .or_else(|| code_name(c))
        });
        let mut object = None;
        if !rule.object.is_empty() {
            object = render(&rule.object, caps).map(|name| FailureObject {
                kind: rule.object_kind.clone(),
                name: clean_value(&name),
            });
        }
        if object.is_none() {
            object = self.object_of(input);
        }
        let detail = if rule.detail.is_empty() {
            None
        } else {
            render(&rule.detail, caps)
        };
        let info = self.info_for(&rule.signature, code);
        let filter_possible = match info.map(|i| i.filter.as_str()) {
            Some("yes") => true,
            Some("code") => code.is_some_and(is_access_denied),
            _ => false,
        };
        Finding {
            signature: rule.signature.clone(),
            kind: rule.kind.clone(),
            rule: rule.id.clone(),
            source_kind: input.source_kind,
            file: file.to_string(),
            line: input.line,
            time_local: input.time_local,
            time_utc: input.time_utc,
            object,
            code,
            code_name,
            detail,
            filter_possible,
            meaning: info.map(|i| i.meaning.clone()).unwrap_or_default(),
            fix: info.map(|i| i.fix.clone()).unwrap_or_default(),
            text: input.text.trim_end().to_string(),
            related: Vec::new(),
            note: None,
        }
    }

    fn object_of(&self, input: &LineInput<'_>) -> Option<FailureObject> {
        let text: &str = &input.text;
        let lower = text.to_ascii_lowercase();
        for o in self
            .objects
            .iter()
            .filter(|o| o.sources.contains(&input.source_kind))
        {
            let Some(caps) = o.pattern.matches(text, &lower) else {
                continue;
            };
            let mut caps: Vec<(String, String)> = caps
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            if let Some(ct) = &o.context {
                match input
                    .context
                    .iter()
                    .find_map(|c| ct.matches(c, &c.to_ascii_lowercase()))
                {
                    Some(cc) => {
                        caps.extend(cc.into_iter().map(|(k, v)| (k.to_string(), v.to_string())))
                    }
                    None => continue,
                }
            }
            if let Some(name) = render(&o.object, &caps) {
                let name = clean_value(&name);
                if !name.is_empty() {
                    return Some(FailureObject {
                        kind: o.kind.clone(),
                        name,
                    });
                }
            }
        }
        None
    }

    /// The most specific info row: same signature and code, else same signature without code.
    fn info_for(&self, signature: &str, code: Option<u32>) -> Option<&Info> {
        self.info
            .iter()
            .find(|i| i.signature == signature && i.code.is_some() && i.code == code)
            .or_else(|| {
                self.info
                    .iter()
                    .find(|i| i.signature == signature && i.code.is_none())
            })
    }

    /// Meaning and known fix of a signature (and code), from `signature_info.csv`.
    pub fn explain(&self, signature: &str, code: Option<u32>) -> Option<(&str, &str)> {
        self.info_for(signature, code)
            .map(|i| (i.meaning.as_str(), i.fix.as_str()))
    }

    /// Classify every line of a log file and relate the findings (see the module documentation).
    pub fn classify(&self, log: &LogFile) -> Vec<Finding> {
        let inputs = inputs(log);
        let mut findings = Vec::new();
        let mut markers: Vec<MarkerHit> = Vec::new();
        for inp in &inputs {
            if let Some(f) = self.classify_line(&log.source, inp) {
                findings.push(f);
            }
            if let Some((m, caps)) = self.marker(inp) {
                markers.push((inp.line, m, caps));
            }
        }
        inherit_objects(&mut findings);
        relate_hangs(&mut findings, &markers);
        findings
    }
}

/// Codes of a line: every code in its text (see [`codes_in`]).
fn line_codes(input: &LineInput<'_>) -> Vec<u32> {
    codes_in(&input.text)
}

fn cond_holds(c: &Cond, caps: &[(String, String)], input: &LineInput<'_>, codes: &[u32]) -> bool {
    let value = |name: &str| -> Option<String> {
        match name {
            "$severity" => input.severity.map(str::to_string),
            _ => caps.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
        }
    };
    match c {
        Cond::Failed => input.failed,
        Cond::Code(want) => codes.iter().any(|c| want.contains(c)),
        Cond::Eq(n, vals) => value(n).is_some_and(|v| vals.iter().any(|x| same_value(&v, x))),
        Cond::Ne(n, vals) => value(n).is_some_and(|v| !vals.iter().any(|x| same_value(&v, x))),
    }
}

fn same_value(a: &str, b: &str) -> bool {
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    let numeric = |s: &str| {
        s.trim()
            .starts_with(|c: char| c.is_ascii_digit() || c == '%')
    };
    if !(numeric(a) && numeric(b)) {
        return false;
    }
    match (parse_code(a), parse_code(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// Fill `{name}` placeholders; `None` if one is missing or empty.
fn render(t: &str, caps: &[(String, String)]) -> Option<String> {
    let mut out = String::new();
    let mut rest = t;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let r = &rest[i + 1..];
        let j = r.find('}')?;
        let name = &r[..j];
        let v = caps
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| clean_value(v))?;
        if v.is_empty() {
            return None;
        }
        out.push_str(&v);
        rest = &r[j + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Clean a captured object name: drop CSI length prefixes (`[l:13]'x'`, `[l:36{18}]"x"`,
/// `[ml:..,l:..]"x"`), quotes, the `\\?\` / `\??\` prefixes and trailing punctuation.
pub fn clean_value(v: &str) -> String {
    let mut s = v.trim();
    if s.starts_with('[') {
        if let Some(i) = s.find(']') {
            let inner = &s[1..i];
            if inner.starts_with("l:") || inner.starts_with("ml:") {
                s = s[i + 1..].trim_start();
            }
        }
    }
    for q in ['\'', '"'] {
        if s.len() >= 2 && s.starts_with(q) {
            if let Some(end) = s[1..].find(q) {
                s = &s[1..1 + end];
            }
        }
    }
    for p in ["\\\\?\\", "\\??\\"] {
        if let Some(r) = s.strip_prefix(p) {
            s = r;
        }
    }
    if let Some(i) = s.find("[gle=") {
        s = &s[..i];
    }
    s.trim_end_matches(['.', ',', ';']).trim().to_string()
}

/// A marker rule's hit: (line, marker signature, captures).
type MarkerHit = (usize, String, Vec<(String, String)>);

/// How far back (in findings) the relating passes look.
const LOOKBACK: usize = 500;

fn within_two_minutes(a: &Finding, b: &Finding) -> bool {
    match (
        a.time_local.or(a.time_utc.map(|t| t.naive_utc())),
        b.time_local.or(b.time_utc.map(|t| t.naive_utc())),
    ) {
        (Some(x), Some(y)) => y >= x && y - x <= TimeDelta::minutes(2),
        _ => b.line >= a.line && b.line - a.line <= 200,
    }
}

/// A finding without object takes the object of the nearest earlier finding of the same
/// signature in the same file, within two minutes (or 200 lines when times are missing).
/// A driver-queue failure or package failure without a code of its own that follows an access
/// denial within two minutes is its consequence: it is linked to the denial and can involve a
/// filter as much as the denial can.
fn inherit_objects(findings: &mut [Finding]) {
    // line of the finding each object was read from
    let mut origin: Vec<usize> = findings.iter().map(|f| f.line).collect();
    for i in 0..findings.len() {
        let lo = i.saturating_sub(LOOKBACK);
        if findings[i].object.is_none() {
            let found = (lo..i).rev().find(|&j| {
                let (a, b) = (&findings[j], &findings[i]);
                a.signature == b.signature && a.object.is_some() && within_two_minutes(a, b)
            });
            if let Some(j) = found {
                findings[i].object = findings[j].object.clone();
                findings[i].related.push(origin[j]);
                origin[i] = origin[j];
            }
        }
        let consequence = findings[i].code.is_none()
            && matches!(
                findings[i].signature.as_str(),
                "driver_queue_failed" | "package_failed"
            );
        if consequence {
            let found = (lo..i).rev().find(|&j| {
                findings[j].kind == "access_denied"
                    && within_two_minutes(&findings[j], &findings[i])
            });
            if let Some(j) = found {
                let (line, obj) = (origin[j], findings[j].object.clone());
                let f = &mut findings[i];
                f.related.push(line);
                f.filter_possible = true;
                if f.object.is_none() {
                    f.object = obj;
                }
                f.note = Some(format!(
                    "follows the access denial at line {line}: a consequence of it"
                ));
            }
        }
    }
}

/// Link each `servicing_hang` to the sliding-window marker and execute state around it and to
/// an earlier `driver_queue_denied` in the same file.
fn relate_hangs(findings: &mut [Finding], markers: &[MarkerHit]) {
    let cap = |caps: &[(String, String)], k: &str| {
        caps.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    };
    let mut window: Option<(usize, String)> = None;
    let mut state: Option<(usize, String)> = None;
    let mut denial: Option<(usize, Option<FailureObject>)> = None;
    let mut m = 0;
    for f in findings.iter_mut() {
        let is_hang = f.signature == "servicing_hang";
        while m < markers.len() && markers[m].0 <= f.line + if is_hang { 5 } else { 0 } {
            let (l, name, caps) = &markers[m];
            match name.as_str() {
                "@hang_window" if *l <= f.line => {
                    window = Some((*l, cap(caps, "ms").unwrap_or_else(|| "?".into())))
                }
                "@hang_window" => break,
                "@execute_state" => {
                    if let Some(st) = cap(caps, "state") {
                        state = Some((*l, st));
                    }
                }
                _ => {}
            }
            m += 1;
        }
        if f.signature == "driver_queue_denied" {
            // the line the denial's object was read from (see inherit_objects)
            denial = Some((
                f.related.first().copied().unwrap_or(f.line),
                f.object.clone(),
            ));
        }
        if !is_hang {
            continue;
        }
        let mut notes = Vec::new();
        if let Some((l, ms)) = &window {
            notes.push(format!(
                "sliding-window timeout of {ms} ms armed at line {l}"
            ));
        }
        if let Some((l, st)) = &state {
            notes.push(format!("execute state {st} (line {l})"));
        }
        if let Some((l, obj)) = &denial {
            f.related.push(*l);
            f.filter_possible = true;
            let what = obj
                .as_ref()
                .map(|o| format!(" on {}", o.name))
                .unwrap_or_default();
            notes.push(format!(
                "follows the denied driver operation{what} at line {l}: the same signature as a driver-queue denial, so suspect the same filter or registry-callback driver"
            ));
        }
        if !notes.is_empty() {
            f.note = Some(notes.join("; "));
        }
    }
}

/// Classify one log with the built-in tables.
pub fn classify(log: &LogFile) -> Vec<Finding> {
    Classifier::builtin().classify(log)
}

/// Classify the logs of one machine: each file, then hangs are related to driver-queue denials
/// found in the other files (a setupapi `Add Service` denial before a CBS timeout), by local time
/// (same day or the day before).
pub fn classify_all(logs: &[LogFile]) -> Vec<Finding> {
    let mut all: Vec<Finding> = logs.iter().flat_map(classify).collect();
    let mut denials: Vec<(NaiveDateTime, String, usize, Option<FailureObject>)> = all
        .iter()
        .filter(|f| f.signature == "driver_queue_denied")
        .filter_map(|f| {
            let origin = f.related.first().copied().unwrap_or(f.line);
            f.time_local
                .map(|t| (t, f.file.clone(), origin, f.object.clone()))
        })
        .collect();
    denials.sort_by_key(|d| d.0);
    for f in all
        .iter_mut()
        .filter(|f| f.signature == "servicing_hang" && f.related.is_empty())
    {
        let Some(t) = f.time_local else { continue };
        let end = denials.partition_point(|d| d.0 <= t);
        let hit = denials[..end]
            .iter()
            .rev()
            .take(LOOKBACK)
            .take_while(|d| t - d.0 <= TimeDelta::days(1))
            .find(|d| d.1 != f.file);
        if let Some((_, file, line, obj)) = hit {
            f.filter_possible = true;
            let what = obj
                .as_ref()
                .map(|o| format!(" on {}", o.name))
                .unwrap_or_default();
            let n = format!(
                "follows the denied driver operation{what} in {file} line {line}: the same signature as a driver-queue denial, so suspect the same filter or registry-callback driver"
            );
            f.note = Some(match f.note.take() {
                Some(o) => format!("{o}; {n}"),
                None => n,
            });
        }
    }
    all
}

/// The classifier's view of every line of a log.
pub fn inputs(log: &LogFile) -> Vec<LineInput<'_>> {
    let mut out = Vec::new();
    match &log.parsed {
        Parsed::Cbs(c) => {
            for (no, t) in &c.preamble {
                out.push(LineInput {
                    source_kind: LogKind::Cbs,
                    line: *no,
                    time_local: None,
                    time_utc: None,
                    failed: false,
                    severity: None,
                    text: Cow::Borrowed(t),
                    context: Vec::new(),
                });
            }
            for e in &c.entries {
                out.push(LineInput {
                    source_kind: LogKind::Cbs,
                    line: e.line,
                    time_local: e.time_local,
                    time_utc: e.time_utc,
                    failed: e.failed || e.severity == "Error",
                    severity: Some(&e.severity),
                    text: Cow::Borrowed(&e.text),
                    context: Vec::new(),
                });
                for (no, t) in &e.continuation {
                    out.push(LineInput {
                        source_kind: LogKind::Cbs,
                        line: *no,
                        time_local: e.time_local,
                        time_utc: e.time_utc,
                        failed: false,
                        severity: None,
                        text: Cow::Borrowed(t),
                        context: Vec::new(),
                    });
                }
            }
        }
        Parsed::SetupApi(s) => {
            let mut exits: Vec<(usize, usize)> = s
                .sections
                .iter()
                .enumerate()
                .filter_map(|(i, sec)| sec.exit_line.map(|l| (l, i)))
                .collect();
            exits.sort_unstable();
            let mut ei = 0;
            for b in &s.body {
                while ei < exits.len() && exits[ei].0 < b.line {
                    out.push(exit_input(s, exits[ei].1));
                    ei += 1;
                }
                out.push(LineInput {
                    source_kind: LogKind::SetupApi,
                    line: b.line,
                    time_local: s.body_time(b),
                    time_utc: None,
                    failed: b.marker == super::setupapi::Marker::Error,
                    severity: Some(match b.marker {
                        super::setupapi::Marker::Error => "Error",
                        super::setupapi::Marker::Warning => "Warning",
                        super::setupapi::Marker::Normal => "Info",
                    }),
                    text: Cow::Borrowed(&b.text),
                    context: s.context(b),
                });
            }
            for &(_, i) in &exits[ei..] {
                out.push(exit_input(s, i));
            }
        }
        Parsed::WindowsUpdate(w) => {
            for l in &w.lines {
                out.push(LineInput {
                    source_kind: LogKind::WindowsUpdate,
                    line: l.line,
                    time_local: l.time_local,
                    time_utc: l.time_utc,
                    failed: false,
                    severity: None,
                    text: Cow::Borrowed(&l.text),
                    context: Vec::new(),
                });
            }
        }
        Parsed::EventLog(e) => {
            for r in &e.records {
                out.push(LineInput {
                    source_kind: LogKind::EventLog,
                    line: usize::try_from(r.record_id).unwrap_or(usize::MAX),
                    time_local: None,
                    time_utc: r.time_utc,
                    failed: matches!(r.level, Some(1 | 2)),
                    severity: None,
                    text: Cow::Owned(r.canonical_text()),
                    context: Vec::new(),
                });
            }
        }
        Parsed::Fltmc(_) => {}
    }
    out
}

fn exit_input(s: &super::setupapi::SetupApiLog, i: usize) -> LineInput<'_> {
    let sec = &s.sections[i];
    let exit = sec.exit.as_ref();
    LineInput {
        source_kind: LogKind::SetupApi,
        line: sec.exit_line.unwrap_or(sec.line),
        time_local: sec.end.or(sec.start),
        time_utc: None,
        failed: exit.is_some_and(|e| !e.success),
        severity: None,
        text: Cow::Owned(format!(
            "[Exit status: {}]",
            exit.map(|e| e.text.as_str()).unwrap_or("")
        )),
        context: vec![format!("[{}]", sec.title)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_tables_parse() {
        let c = Classifier::from_csv(RULES_CSV, OBJECTS_CSV, INFO_CSV).unwrap();
        assert!(c.rules.len() > 20);
        for s in [
            "driver_queue_denied",
            "file_extract_denied",
            "servicing_hang",
            "store_corruption",
            "ntfs_log_full",
            "efi_boot_files",
            "uso_timeout",
            "package_failed",
        ] {
            assert!(c.signatures().contains(&s), "{s}");
        }
    }

    #[test]
    fn clean_values() {
        assert_eq!(clean_value("[l:13]'BCMWL63AL.SYS'"), "BCMWL63AL.SYS");
        assert_eq!(
            clean_value("[l:36{18}]\"Amd64\\CNBJ2530.DPB\""),
            "Amd64\\CNBJ2530.DPB"
        );
        assert_eq!(
            clean_value("\\\\?\\C:\\WINDOWS\\x.cab"),
            "C:\\WINDOWS\\x.cab"
        );
        assert_eq!(clean_value("Package_63~6.1.3.2,"), "Package_63~6.1.3.2");
        assert_eq!(
            render("a{x}b", &[("x".into(), "1".into())]).as_deref(),
            Some("a1b")
        );
        assert_eq!(render("a{y}b", &[("x".into(), "1".into())]), None);
        assert!(same_value("5", "0x00000005"));
    }
}
