//! `--redact`: replace the names of a customer's machine and people by stable tokens.
//!
//! Two steps. A [`Collector`] first gathers the sensitive names from the inputs: computer names
//! (PML header, the computer part of `COMPUTER\user`), domain names (`DOMAIN\user`), user names,
//! security identifiers of accounts (`S-1-5-21-...`, `S-1-12-...`) and user-profile folder names
//! (`C:\Users\<name>\`, `\Device\HarddiskVolume2\Users\<name>`, `/home/<name>/`). Then
//! [`Collector::build`] numbers them (`HOST-1`, `DOMAIN-1`, `USER-1`, `SID-1`; within a kind in
//! the sorted order of the names, so the same inputs always give the same tokens) and the
//! [`Redactor`] rewrites every string: each name is replaced wherever it stands as a whole word
//! (the characters around it are not letters or digits), case-insensitively, longest name first.
//!
//! Well-known accounts stay, since they are evidence: `NT AUTHORITY\SYSTEM`, `LOCAL SERVICE`,
//! `NETWORK SERVICE`, `NT SERVICE\*` (TrustedInstaller), `BUILTIN\*`, `Window Manager\DWM-*`,
//! `Font Driver Host\UMFD-*`, and every SID that is not an account's (S-1-5-18/19/20,
//! S-1-5-32-*, S-1-16-* integrity levels, S-1-15-* app containers, S-1-5-80-* services ...).
//!
//! [`redact_tables`] applies this to everything `analyze` derives its outputs from (the polars
//! tables, the input and log structs), so verdict.json, report.html, its figures, the summary and
//! the fleet table only ever see tokens. The exports use [`from_pml`] plus [`Redactor::rewrite`]
//! per field, [`ObserveWriter`] / [`RewriteWriter`] over an ETL export's text, and
//! [`Redactor::redact_model`] for an evidence-only PML.

use crate::pml::Pml;
use polars::prelude::*;
use rayon::prelude::*;
use std::borrow::Cow;
use std::collections::{BTreeSet, HashSet};
use std::io::Write;

/// Domains (the part before `\` of an account) whose accounts are Windows' own.
const WELL_KNOWN_DOMAINS: &[&str] = &[
    "nt authority",
    "nt-autorität",
    "autorite nt",
    "nt service",
    "builtin",
    "window manager",
    "font driver host",
    "iis apppool",
    "nt virtual machine",
    "application package authority",
    "mandatory label",
];

/// Account and profile-folder names that are Windows' own, not a person's.
const WELL_KNOWN_USERS: &[&str] = &[
    "system",
    "local service",
    "localservice",
    "network service",
    "networkservice",
    "trustedinstaller",
    "administrator",
    "administrators",
    "guest",
    "defaultaccount",
    "wdagutilityaccount",
    "anonymous logon",
    "everyone",
    "public",
    "default",
    "default user",
    "all users",
    "desktop.ini",
];

/// Token prefixes, in the order a name's kind is decided (a computer name that is also a domain
/// or user name is a `HOST`).
const KINDS: [&str; 4] = ["HOST", "DOMAIN", "USER", "SID"];

/// Lower-case `c` (one character; characters whose lower case is several stay as they are).
fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let mut l = c.to_lowercase();
    match (l.next(), l.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

fn fold(s: &str) -> String {
    s.chars().map(fold_char).collect()
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric()
}

/// True when `name` (any case) is a Windows-owned user or profile-folder name.
pub fn is_well_known_user(name: &str) -> bool {
    let n = fold(name.trim());
    WELL_KNOWN_USERS.contains(&n.as_str())
        || n.starts_with("dwm-")
        || n.starts_with("umfd-")
        || n.starts_with("defaultuser")
        || n.starts_with('%')
        || n.chars().all(|c| c == '.' || c == '*')
}

/// True when `domain` (any case) is the domain part of Windows-owned accounts.
pub fn is_well_known_domain(domain: &str) -> bool {
    WELL_KNOWN_DOMAINS.contains(&fold(domain.trim()).as_str())
}

/// True when `sid` (`S-1-...`, any case) names an account of a machine or a directory (S-1-5-21-*,
/// Azure AD S-1-12-*), the SIDs redaction replaces; every other SID is well known and stays.
pub fn is_account_sid(sid: &str) -> bool {
    let s = fold(sid);
    s.starts_with("s-1-5-21-") || s.starts_with("s-1-12-")
}

/// The SIDs written in `text` (`S-1-` followed by `-`-separated numbers, standing as a word),
/// with their byte ranges.
fn find_sids(text: &str) -> Vec<std::ops::Range<usize>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 4 <= b.len() {
        let start = i;
        if (b[i] == b'S' || b[i] == b's')
            && &b[i + 1..i + 4] == b"-1-"
            && (i == 0 || !(b[i - 1] as char).is_ascii_alphanumeric())
        {
            let mut j = i + 4;
            let mut end = None;
            loop {
                let d0 = j;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                if j == d0 {
                    break;
                }
                end = Some(j);
                if j + 1 < b.len() && b[j] == b'-' && b[j + 1].is_ascii_digit() {
                    j += 1;
                } else {
                    break;
                }
            }
            if let Some(e) = end {
                out.push(start..e);
                i = e;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// The user-profile folder names in `text`: the segment after `X:\Users\`,
/// `\Device\HarddiskVolumeN\Users\`, `\Documents and Settings\` or a Unix `/home/` (any run of
/// `\` or `/` counts as one separator, so JSON-escaped paths are found too).
fn find_profiles(text: &str) -> Vec<String> {
    let lower = fold(text);
    // `fold` maps one char to one char, so both vectors share indexes.
    let tc: Vec<char> = text.chars().collect();
    let lc: Vec<char> = lower.chars().collect();
    let mut out = Vec::new();
    let is_sep = |c: char| c == '\\' || c == '/';
    let starts = |at: usize, w: &str| -> bool {
        let w: Vec<char> = w.chars().collect();
        at + w.len() <= lc.len() && lc[at..at + w.len()] == w[..]
    };
    let mut i = 0;
    while i < lc.len() {
        if !is_sep(lc[i]) {
            i += 1;
            continue;
        }
        // the separator run starting at i
        let mut j = i;
        while j < lc.len() && is_sep(lc[j]) {
            j += 1;
        }
        let word = ["users", "documents and settings", "home"]
            .into_iter()
            .find(|w| starts(j, w) && lc.get(j + w.chars().count()).is_some_and(|&c| is_sep(c)));
        let Some(word) = word else {
            i = j;
            continue;
        };
        // what stands before the separator: a drive, a volume device, or (for /home) nothing
        let mut k = i;
        while k > 0 && !is_sep(lc[k - 1]) && !matches!(lc[k - 1], '"' | '\'' | ' ' | '=' | '(') {
            k -= 1;
        }
        let prev: String = lc[k..i].iter().collect();
        let rooted = (prev.len() == 2 && prev.ends_with(':'))
            || prev.starts_with("harddiskvolume")
            || prev == "%systemdrive%"
            || (word != "documents and settings"
                && prev.is_empty()
                && lc[i] == '/'
                && (k == 0 || !is_sep(lc[k - 1])));
        let mut n0 = j + word.chars().count();
        while n0 < lc.len() && is_sep(lc[n0]) {
            n0 += 1;
        }
        if !rooted {
            i = n0;
            continue;
        }
        let mut n1 = n0;
        while n1 < tc.len()
            && !is_sep(tc[n1])
            && !matches!(
                tc[n1],
                '"' | '\''
                    | '<'
                    | '>'
                    | '|'
                    | '*'
                    | '?'
                    | ':'
                    | ';'
                    | ','
                    | '='
                    | '\r'
                    | '\n'
                    | '\t'
                    | '\0'
            )
        {
            n1 += 1;
        }
        let mut name: String = tc[n0..n1].iter().collect();
        if !(n1 < tc.len() && is_sep(tc[n1])) {
            // not closed by a separator: a name with spaces cannot be told from the text after it
            if let Some(sp) = name.find(char::is_whitespace) {
                name.truncate(sp);
            }
        }
        let name = name.trim().to_string();
        if !name.is_empty() && !is_well_known_user(&name) {
            out.push(name);
        }
        i = n1.max(i + 1);
    }
    out
}

/// Gathers the sensitive names of one run's inputs; [`Collector::build`] makes the [`Redactor`].
#[derive(Clone, Debug, Default)]
pub struct Collector {
    hosts: BTreeSet<String>,
    domains: BTreeSet<String>,
    users: BTreeSet<String>,
    sids: BTreeSet<String>,
}

impl Collector {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// A computer name (PML header, evtx `Computer`); empty and `.` / `localhost` are ignored.
    pub fn computer(&mut self, name: &str) {
        let n = fold(name.trim());
        if !n.is_empty() && n != "." && n != "localhost" && !n.contains('\\') {
            self.hosts.insert(n);
        }
    }

    /// An account as Procmon shows it, `DOMAIN\name` (or a bare name, or a SID). Well-known
    /// domains keep both parts; a domain equal to a computer name is a `HOST`.
    pub fn account(&mut self, account: &str) {
        let a = account.trim();
        if a.is_empty() {
            return;
        }
        if !find_sids(a).is_empty() {
            self.observe(a);
            return;
        }
        let (domain, name) = match a.split_once('\\') {
            Some((d, n)) => (Some(d), n),
            None => (None, a),
        };
        if let Some(d) = domain {
            if is_well_known_domain(d) {
                return;
            }
            let d = fold(d.trim());
            if !d.is_empty() {
                self.domains.insert(d);
            }
        }
        if !is_well_known_user(name) {
            let n = fold(name.trim());
            if !n.is_empty() {
                self.users.insert(n);
            }
        }
    }

    /// Find account SIDs and user-profile folder names in free text (paths, details, command
    /// lines, log lines).
    pub fn observe(&mut self, text: &str) {
        if text.len() < 4 {
            return;
        }
        for r in find_sids(text) {
            let sid = &text[r];
            if is_account_sid(sid) {
                self.sids.insert(fold(sid));
            }
        }
        let lower_has = |w: &str| {
            text.as_bytes()
                .windows(w.len())
                .any(|x| x.eq_ignore_ascii_case(w.as_bytes()))
        };
        if lower_has("users") || lower_has("home") || lower_has("documents and settings") {
            for n in find_profiles(text) {
                self.users.insert(fold(&n));
            }
        }
    }

    /// Add everything `other` collected.
    pub fn merge(&mut self, other: Collector) {
        self.hosts.extend(other.hosts);
        self.domains.extend(other.domains);
        self.users.extend(other.users);
        self.sids.extend(other.sids);
    }

    /// Number the names and make the [`Redactor`]: within each kind the names in sorted order
    /// get `KIND-1`, `KIND-2` ...; a name of several kinds takes the first of HOST, DOMAIN, USER.
    pub fn build(self) -> Redactor {
        let mut seen: HashSet<String> = HashSet::new();
        let mut pats: Vec<(Vec<char>, String)> = Vec::new();
        let mut counts = [0usize; 4];
        for (k, set) in [&self.hosts, &self.domains, &self.users, &self.sids]
            .into_iter()
            .enumerate()
        {
            for name in set {
                if !seen.insert(name.clone()) {
                    continue;
                }
                counts[k] += 1;
                pats.push((
                    name.chars().collect(),
                    format!("{}-{}", KINDS[k], counts[k]),
                ));
            }
        }
        // longest first, so `bob.contoso` wins over `bob` at the same place
        pats.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        let first = pats
            .iter()
            .filter_map(|(p, _)| p.first().copied())
            .collect();
        Redactor {
            pats,
            first,
            summary: Summary {
                hosts: counts[0],
                domains: counts[1],
                users: counts[2],
                sids: counts[3],
            },
        }
    }
}

/// How many distinct names of each kind a run replaced (`verdict.json` `redaction`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Computer names (`HOST-n`).
    pub hosts: usize,
    /// Domain names (`DOMAIN-n`).
    pub domains: usize,
    /// User names and profile folders (`USER-n`).
    pub users: usize,
    /// Account SIDs (`SID-n`).
    pub sids: usize,
}

impl Summary {
    /// All names replaced.
    pub fn total(&self) -> usize {
        self.hosts + self.domains + self.users + self.sids
    }
}

/// Rewrites strings: every collected name becomes its token (see the module doc).
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    /// (folded name as chars, token), longest name first.
    pats: Vec<(Vec<char>, String)>,
    /// First characters of the names (folded), to skip positions quickly.
    first: HashSet<char>,
    summary: Summary,
}

impl Redactor {
    /// What was replaced, counted per kind.
    pub fn summary(&self) -> Summary {
        self.summary
    }

    /// The (lower-case name, token) pairs, longest name first: for tests and diagnostics, never
    /// written to an output.
    pub fn pairs(&self) -> Vec<(String, String)> {
        self.pats
            .iter()
            .map(|(p, t)| (p.iter().collect(), t.clone()))
            .collect()
    }

    /// The token of `name` (any case), if it was collected.
    pub fn token(&self, name: &str) -> Option<&str> {
        let f: Vec<char> = fold(name).chars().collect();
        self.pats
            .iter()
            .find(|(p, _)| *p == f)
            .map(|(_, t)| t.as_str())
    }

    /// `s` with every collected name that stands as a word replaced by its token; borrowed when
    /// nothing changed. A letter after a backslash escape (`\t`, `\n`, `\r` in JSON text) counts
    /// as a word boundary.
    pub fn rewrite<'a>(&self, s: &'a str) -> Cow<'a, str> {
        if self.pats.is_empty() || s.is_empty() {
            return Cow::Borrowed(s);
        }
        let chars: Vec<(usize, char)> = s.char_indices().collect();
        let mut out: Option<String> = None;
        let mut copied = 0; // byte offset of s copied into out
        let mut i = 0;
        while i < chars.len() {
            let (at, c) = chars[i];
            let c = fold_char(c);
            let boundary = i == 0 || {
                let p = chars[i - 1].1;
                !is_word(p)
                    || (i >= 2
                        && chars[i - 2].1 == '\\'
                        && matches!(p, 't' | 'n' | 'r' | 'b' | 'f'))
            };
            if !boundary || !self.first.contains(&c) {
                i += 1;
                continue;
            }
            let hit = self.pats.iter().find(|(p, _)| {
                i + p.len() <= chars.len()
                    && p.iter()
                        .zip(&chars[i..i + p.len()])
                        .all(|(a, (_, b))| *a == fold_char(*b))
                    && chars.get(i + p.len()).is_none_or(|(_, n)| !is_word(*n))
            });
            match hit {
                Some((p, tok)) => {
                    let o = out.get_or_insert_with(|| String::with_capacity(s.len() + 8));
                    o.push_str(&s[copied..at]);
                    o.push_str(tok);
                    let end = chars.get(i + p.len()).map_or(s.len(), |(b, _)| *b);
                    copied = end;
                    i += p.len();
                }
                None => i += 1,
            }
        }
        match out {
            None => Cow::Borrowed(s),
            Some(mut o) => {
                o.push_str(&s[copied..]);
                Cow::Owned(o)
            }
        }
    }

    /// Rewrite `s` in place.
    pub fn rewrite_in_place(&self, s: &mut String) {
        if let Cow::Owned(n) = self.rewrite(s) {
            *s = n;
        }
    }

    /// Overwrite every collected name inside a binary block (a PML event's detail, whose strings
    /// have fixed lengths) as UTF-16LE and as ASCII, keeping the length: the token padded with
    /// `_` when it fits, else `X`s. Returns the number of names overwritten.
    pub fn mask_bytes(&self, b: &mut [u8]) -> usize {
        let mut n = 0;
        for (p, tok) in &self.pats {
            if !p.iter().all(|c| c.is_ascii()) || p.is_empty() {
                continue;
            }
            let mask: Vec<u8> = if tok.len() <= p.len() {
                let mut m = tok.as_bytes().to_vec();
                m.resize(p.len(), b'_');
                m
            } else {
                vec![b'X'; p.len()]
            };
            let pat: Vec<u8> = p.iter().map(|&c| c as u8).collect();
            for wide in [true, false] {
                let w = if wide { 2 } else { 1 };
                let len = pat.len() * w;
                let unit = |b: &[u8], k: usize| -> u16 {
                    if wide {
                        u16::from_le_bytes([b[k], b[k + 1]])
                    } else {
                        b[k] as u16
                    }
                };
                let word_at = |b: &[u8], k: usize| -> bool {
                    char::from_u32(unit(b, k) as u32).is_some_and(is_word)
                };
                let mut k = 0;
                while k + len <= b.len() {
                    let same = (0..pat.len()).all(|x| {
                        let u = unit(b, k + x * w);
                        u < 128 && (u as u8).to_ascii_lowercase() == pat[x]
                    });
                    let before = k < w || !word_at(b, k - w);
                    let after = k + len + w > b.len() || !word_at(b, k + len);
                    if same && before && after {
                        for (x, &m) in mask.iter().enumerate() {
                            b[k + x * w] = m;
                            if wide {
                                b[k + x * w + 1] = 0;
                            }
                        }
                        n += 1;
                        k += len;
                    } else {
                        k += w;
                    }
                }
            }
        }
        n
    }

    /// Rewrite every String column of `df` (other columns are left alone).
    pub fn redact_frame(&self, df: &mut DataFrame) -> PolarsResult<()> {
        if self.pats.is_empty() {
            return Ok(());
        }
        let names: Vec<PlSmallStr> = df
            .columns()
            .iter()
            .filter(|c| c.dtype() == &DataType::String)
            .map(|c| c.name().clone())
            .collect();
        for name in names {
            let col = df.column(&name)?.str()?.clone();
            let new = col.apply_values(|s| self.rewrite(s));
            df.with_column(new.into_column())?;
        }
        Ok(())
    }

    /// Rewrite an evidence-only (or any) PML model: header computer name and system root, the
    /// process table (user, names, paths, command lines, module paths), host and port names,
    /// and the names inside event detail blocks ([`Redactor::mask_bytes`]).
    pub fn redact_model(&self, m: &mut crate::pml::writer::PmlModel) {
        let rw = |s: &mut String| self.rewrite_in_place(s);
        rw(&mut m.computer_name);
        rw(&mut m.system_root);
        for p in &mut m.processes {
            for s in [
                &mut p.user,
                &mut p.name,
                &mut p.image_path,
                &mut p.command_line,
                &mut p.company,
                &mut p.description,
            ] {
                rw(s);
            }
            for md in &mut p.modules {
                rw(&mut md.path);
                rw(&mut md.company);
                rw(&mut md.description);
            }
        }
        for h in &mut m.hosts {
            rw(&mut h.name);
        }
        for p in &mut m.ports {
            rw(&mut p.name);
        }
        for s in &mut m.string_order {
            rw(s);
        }
        m.events.par_iter_mut().for_each(|e| {
            self.mask_bytes(&mut e.detail);
            if let Some(x) = e.extra.as_mut() {
                self.mask_bytes(x);
            }
        });
    }
}

/// Observe every String value of `df` (and treat its `user` column as accounts).
pub fn observe_frame(c: &mut Collector, df: &DataFrame) {
    for col in df.columns() {
        let Ok(ca) = col.str() else { continue };
        let account = col.name().as_str() == "user";
        let mut seen: HashSet<&str> = HashSet::new();
        for s in ca.iter().flatten() {
            if seen.insert(s) {
                if account {
                    c.account(s);
                }
                c.observe(s);
            }
        }
    }
}

/// Collect the names of an incident's tables: the inputs' computer names, the `user` columns
/// as accounts, and SIDs and profile folders in every String value, input path, warning, log
/// file name and intake note.
pub fn collect_tables(t: &crate::tables::Tables) -> Collector {
    let mut c = Collector::new();
    for i in &t.inputs {
        c.computer(&i.computer);
        c.observe(&i.path);
        for w in &i.warnings {
            c.observe(w);
        }
    }
    let frames = [
        &t.events,
        &t.frames,
        &t.modules,
        &t.processes,
        &t.callbacks,
        &t.logs.log_lines,
    ];
    let parts: Vec<Collector> = frames
        .par_iter()
        .map(|df| {
            let mut c = Collector::new();
            observe_frame(&mut c, df);
            c
        })
        .collect();
    for p in parts {
        c.merge(p);
    }
    for f in &t.logs.files {
        c.observe(&f.path);
    }
    for n in &t.logs.notes {
        c.observe(n);
    }
    c
}

/// Collect the names of an incident's tables ([`collect_tables`]) and rewrite everything
/// `analyze` derives its outputs from ([`apply_tables`]). Returns the [`Redactor`] used (its
/// [`Redactor::summary`] goes into the verdict).
pub fn redact_tables(t: &mut crate::tables::Tables) -> PolarsResult<Redactor> {
    let r = collect_tables(t).build();
    apply_tables(&r, t)?;
    Ok(r)
}

/// Rewrite every String column of every table, the inputs' paths, computer names and
/// warnings, the log structs (failures, files, offset, fltmc names, intake notes) and the trace
/// notes with `r`.
pub fn apply_tables(r: &Redactor, t: &mut crate::tables::Tables) -> PolarsResult<()> {
    for df in [
        &mut t.events,
        &mut t.frames,
        &mut t.modules,
        &mut t.processes,
        &mut t.callbacks,
        &mut t.logs.log_lines,
    ] {
        r.redact_frame(df)?;
    }
    let rw = |s: &mut String| r.rewrite_in_place(s);
    let rwo = |s: &mut Option<String>| {
        if let Some(s) = s.as_mut() {
            r.rewrite_in_place(s)
        }
    };
    for i in &mut t.inputs {
        rw(&mut i.path);
        rw(&mut i.computer);
        i.warnings.iter_mut().for_each(rw);
    }
    for f in &mut t.logs.failures {
        rwo(&mut f.object);
        rwo(&mut f.object_key);
        rwo(&mut f.note);
        rw(&mut f.file);
        rw(&mut f.text);
        rw(&mut f.meaning);
        rw(&mut f.fix);
    }
    for f in &mut t.logs.files {
        rw(&mut f.path);
    }
    if let Some(o) = t.logs.offset.as_mut() {
        rw(&mut o.text);
        rw(&mut o.source);
    }
    for (name, _, _) in &mut t.logs.fltmc {
        rw(name);
    }
    t.logs.notes.iter_mut().for_each(rw);
    for tr in &mut t.traces {
        rw(&mut tr.source);
        rw(&mut tr.verdict);
    }
    Ok(())
}

/// `path` with its user-profile folder (`/home/<name>/`, `C:\Users\<name>\`) replaced by
/// `USER-1`: for paths shown outside any one machine's run (a fleet folder).
pub fn redact_path(path: &str) -> String {
    let mut c = Collector::new();
    c.observe(path);
    c.build().rewrite(path).into_owned()
}

/// Collect the names of a PML capture: the header's computer name, the process table (users,
/// image paths, command lines, module paths) and every event's rendered columns (path, detail
/// ...), read in parallel.
pub fn from_pml(pml: &Pml) -> Redactor {
    let mut c = Collector::new();
    c.computer(&pml.header.computer_name);
    c.observe(&pml.header.system_root);
    for p in &pml.processes {
        c.account(&p.user);
        c.observe(&p.image_path);
        c.observe(&p.command_line);
        for m in &p.modules {
            c.observe(&m.path);
        }
    }
    let first = pml.first_time();
    let n = pml.event_count();
    let parts: Vec<Collector> = (0..n.div_ceil(4096))
        .into_par_iter()
        .map(|k| {
            let mut c = Collector::new();
            for i in k * 4096..((k + 1) * 4096).min(n) {
                if let Some(ev) = pml.event(i) {
                    let row = crate::pml::row::render(pml, &ev, first);
                    for f in &row {
                        c.observe(f);
                    }
                }
            }
            c
        })
        .collect();
    for p in parts {
        c.merge(p);
    }
    c.build()
}

/// A sink that collects the names in the text written to it (line by line), for exports whose
/// text is made by code that knows nothing of redaction: write once into it, [`Collector::build`]
/// its [`ObserveWriter::collector`], then write again through a [`RewriteWriter`].
#[derive(Default)]
pub struct ObserveWriter {
    /// What was collected so far.
    pub collector: Collector,
    pending: Vec<u8>,
}

impl ObserveWriter {
    /// Observe the last unterminated line and return the collector.
    pub fn finish(mut self) -> Collector {
        let rest = std::mem::take(&mut self.pending);
        self.collector.observe(&String::from_utf8_lossy(&rest));
        self.collector
    }
}

impl Write for ObserveWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(end) = self.pending.iter().rposition(|&b| b == b'\n') {
            let lines: Vec<u8> = self.pending.drain(..=end).collect();
            for line in lines.split(|&b| b == b'\n') {
                self.collector.observe(&String::from_utf8_lossy(line));
            }
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A writer that rewrites each complete line ([`Redactor::rewrite`]) before passing it on.
/// Call [`RewriteWriter::finish`] (or flush) at the end for the last unterminated line.
pub struct RewriteWriter<'r, W: Write> {
    inner: W,
    redactor: &'r Redactor,
    pending: Vec<u8>,
}

impl<'r, W: Write> RewriteWriter<'r, W> {
    /// Wrap `inner`.
    pub fn new(inner: W, redactor: &'r Redactor) -> Self {
        RewriteWriter {
            inner,
            redactor,
            pending: Vec::new(),
        }
    }

    fn emit(&mut self, upto: usize) -> std::io::Result<()> {
        let chunk: Vec<u8> = self.pending.drain(..upto).collect();
        match std::str::from_utf8(&chunk) {
            Ok(s) => self.inner.write_all(self.redactor.rewrite(s).as_bytes()),
            Err(_) => self.inner.write_all(&chunk),
        }
    }

    /// Write the rest and flush; returns the inner writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        let n = self.pending.len();
        self.emit(n)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for RewriteWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(end) = self.pending.iter().rposition(|&b| b == b'\n') {
            self.emit(end + 1)?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let n = self.pending.len();
        self.emit(n)?;
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
        let mut c = Collector::new();
        c.computer("CONTOSO-PC");
        c.account("CONTOSO-PC\\alice");
        c.account("CORP\\bob");
        c.account("NT AUTHORITY\\SYSTEM");
        c.account("NT SERVICE\\TrustedInstaller");
        c.observe("HKU\\S-1-5-21-1-2-3-1001_Classes\\x and HKU\\S-1-5-18 S-1-16-12288");
        c.observe("\\Device\\HarddiskVolume2\\Users\\Carol Smith\\AppData");
        c.observe("C:\\Users\\Public\\x C:\\Users\\dave");
        c.build()
    }

    #[test]
    fn collects_and_numbers() {
        let r = redactor();
        assert_eq!(
            r.summary(),
            Summary {
                hosts: 1,
                domains: 1,
                users: 4,
                sids: 1
            }
        );
        assert_eq!(r.token("contoso-pc"), Some("HOST-1"));
        assert_eq!(r.token("CORP"), Some("DOMAIN-1"));
        assert_eq!(r.token("alice"), Some("USER-1"));
        assert_eq!(r.token("bob"), Some("USER-2"));
        assert_eq!(r.token("carol smith"), Some("USER-3"));
        assert_eq!(r.token("S-1-5-21-1-2-3-1001"), Some("SID-1"));
        assert_eq!(r.token("public"), None);
        assert_eq!(r.token("system"), None);
    }

    #[test]
    fn rewrites_words_case_insensitively() {
        let r = redactor();
        assert_eq!(r.rewrite("CONTOSO-PC\\Alice"), "HOST-1\\USER-1");
        assert_eq!(
            r.rewrite("HKU\\s-1-5-21-1-2-3-1001_Classes"),
            "HKU\\SID-1_Classes"
        );
        assert_eq!(
            r.rewrite("C:\\Users\\CAROL SMITH\\x malice bobcat"),
            "C:\\Users\\USER-3\\x malice bobcat"
        );
        assert_eq!(
            r.rewrite("NT AUTHORITY\\SYSTEM S-1-5-18"),
            "NT AUTHORITY\\SYSTEM S-1-5-18"
        );
        assert!(matches!(r.rewrite("nothing here"), Cow::Borrowed(_)));
        // JSON escapes are boundaries
        assert_eq!(r.rewrite("x\\tbob\\r"), "x\\tUSER-2\\r");
    }

    #[test]
    fn profiles_need_a_rooted_path() {
        assert_eq!(find_profiles("C:\\Users\\bob\\x"), vec!["bob"]);
        assert_eq!(find_profiles("C:\\\\Users\\\\bob\\\\x"), vec!["bob"]);
        assert_eq!(find_profiles("/home/eve/cap.pml"), vec!["eve"]);
        assert_eq!(
            find_profiles("\\Device\\HarddiskVolume3\\Users\\zed"),
            vec!["zed"]
        );
        assert!(find_profiles("HKLM\\SAM\\SAM\\Domains\\Account\\Users\\Names").is_empty());
        assert_eq!(find_profiles("C:\\Users\\bob and more"), vec!["bob"]);
    }

    #[test]
    fn masks_binary_strings_keeping_length() {
        let r = redactor();
        let mut b: Vec<u8> = "C:\\Users\\Alice\\x"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        let len = b.len();
        assert_eq!(r.mask_bytes(&mut b), 1);
        assert_eq!(b.len(), len);
        let s = String::from_utf16_lossy(
            &b.chunks(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect::<Vec<_>>(),
        );
        assert_eq!(s, "C:\\Users\\XXXXX\\x");
    }
}
