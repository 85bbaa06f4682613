//! `fltblame analyze --fleet DIR`: many machines at once. Each entry of DIR is one machine: a
//! folder (nested folders too) or an archive (`.zip`, `.gz`, `.zst`) of what `analyze` reads
//! ([`crate::intake`]: PML captures, ETL traces, servicing logs, event logs, fltmc output), or a
//! single such file. Machines are analyzed in parallel (rayon); each gets its own `verdict.json`
//! and `report.html` under `OUT/<machine>/`, and the fleet gets `fleet.parquet` (one row per
//! machine, for DuckDB, Spark, DataFusion) and `fleet.html` (a self-contained summary table).
//!
//! With [`FleetOptions::redact`] every machine is redacted as `analyze --redact` does (tokens
//! are per machine: each machine is its own run); a machine name holding one of its names
//! becomes `machine-N` (N its place in the sorted list), and the fleet folder's profile segment
//! and skipped file names are rewritten too.
//!
//! `fleet.parquet` columns: `machine` (String), `inputs` (UInt32, input files read: captures,
//! traces and logs, archive members counted one by one), `events`
//! (UInt64), `conclusion` (String: `filter`, `no_filter`, `undetermined`, or `error` when the
//! machine's inputs could not be read), `driver` (String, null unless `filter`), `vendor`
//! (String, null unless `filter`), `confidence` (Float64, the named driver's; null unless
//! `filter`), `first_failure` (Datetime(ns, UTC), the first denial; null without denials),
//! `denials` (UInt32), `servicing_denials` (UInt32, servicing-relevant and not ACL-plausible),
//! `reason` (String: the verdict's one-line reason, or the error).

use crate::verdict::{Conclusion, Verdict};
use anyhow::{bail, Context, Result};
use polars::prelude::*;
use rayon::prelude::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One machine of a fleet folder.
#[derive(Clone, Debug)]
pub struct Machine {
    /// Name: the folder name, or the file stem of a single capture or archive.
    pub name: String,
    /// What is read for it: its folder, or its one file (a capture, trace, log or archive),
    /// expanded by [`crate::intake`]. Empty for a folder with no file inside.
    pub inputs: Vec<PathBuf>,
}

/// How [`run_with`] treats the machines.
#[derive(Clone, Debug, Default)]
pub struct FleetOptions {
    /// Redact every output (`--redact`, [`crate::redact`]).
    pub redact: bool,
    /// Archive limits for every machine's bundle (`--max-extract-bytes`, `--max-ratio`,
    /// `--max-depth`).
    pub intake: crate::intake::IntakeOptions,
}

/// One machine's result.
#[derive(Clone, Debug, serde::Serialize)]
pub struct MachineRow {
    /// Machine name.
    pub machine: String,
    /// Capture files read.
    pub inputs: u32,
    /// Events read.
    pub events: u64,
    /// `filter`, `no_filter`, `undetermined` or `error`.
    pub conclusion: String,
    /// The named driver.
    pub driver: Option<String>,
    /// The named driver's vendor.
    pub vendor: Option<String>,
    /// The named driver's confidence.
    pub confidence: Option<f64>,
    /// First denial, ns since the Unix epoch (UTC).
    pub first_failure_ns: Option<i64>,
    /// Denials found.
    pub denials: u32,
    /// Servicing-relevant denials ordinary ACLs do not explain.
    pub servicing_denials: u32,
    /// The verdict's reason, or the error.
    pub reason: String,
    /// `verdict.json` / `report.html` folder, relative to the output folder (empty on error).
    pub report_dir: String,
}

/// What `analyze --fleet` did.
#[derive(Clone, Debug)]
pub struct FleetResult {
    /// The fleet folder.
    pub dir: PathBuf,
    /// One row per machine, by name.
    pub rows: Vec<MachineRow>,
    /// Files of the folder that are not machines (not a capture).
    pub skipped: Vec<String>,
    /// `fleet.parquet`.
    pub parquet: PathBuf,
    /// `fleet.html`.
    pub html: PathBuf,
    /// Seconds taken.
    pub seconds: f64,
}

/// A file that is a machine of its own: anything [`crate::intake`] reads, judged by content
/// (a PML capture, an ETL trace, a servicing log / event log / fltmc listing, a `.zip` / `.gz` /
/// `.zst` archive), or named `.pml` / `.pmb` / `.etl` (so that a damaged capture or a raw boot
/// log is reported with its machine rather than ignored).
fn is_input(p: &Path) -> bool {
    if !p.is_file() {
        return false;
    }
    if p.extension().is_some_and(|e| {
        ["pml", "pmb", "etl"]
            .iter()
            .any(|x| e.eq_ignore_ascii_case(x))
    }) {
        return true;
    }
    let mut head = Vec::with_capacity(crate::logs::SNIFF_BYTES);
    let read = std::fs::File::open(p).and_then(|f| {
        use std::io::Read;
        f.take(crate::logs::SNIFF_BYTES as u64)
            .read_to_end(&mut head)
    });
    if read.is_err() {
        return false;
    }
    let archive = head.starts_with(b"PK\x03\x04")
        || head.starts_with(b"PK\x05\x06")
        || head.starts_with(&[0x1F, 0x8B])
        || head.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]);
    archive || crate::intake::kind_of(&p.display().to_string(), &head).is_some()
}

/// True when `dir` holds a file somewhere below it (hidden entries aside).
fn has_file(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|rd| {
        rd.filter_map(|e| e.ok().map(|e| e.path())).any(|p| {
            let hidden = p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            !hidden && (p.is_file() || (p.is_dir() && has_file(&p)))
        })
    })
}

/// The machines of `dir` (sorted by name) and the entries skipped. Every subfolder is a machine
/// (one with no capture inside gets an `error` row); a capture file is a machine of its own;
/// other files and hidden entries are skipped. `exclude` (the output folder, when it lies inside
/// `dir`) is never a machine.
pub fn machines(dir: &Path, exclude: Option<&Path>) -> Result<(Vec<Machine>, Vec<String>)> {
    if !dir.is_dir() {
        bail!(
            "{}: not a folder; --fleet takes a folder with one capture file or one folder of captures per machine",
            dir.display()
        );
    }
    let exclude = exclude.and_then(|p| p.canonicalize().ok());
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot list", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    let (mut out, mut skipped) = (Vec::new(), Vec::new());
    for p in entries {
        let fname = p
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if fname.starts_with('.') || (exclude.is_some() && p.canonicalize().ok() == exclude) {
            continue;
        }
        if p.is_dir() {
            let inputs = if has_file(&p) { vec![p] } else { Vec::new() };
            out.push(Machine {
                name: fname,
                inputs,
            });
        } else if is_input(&p) {
            let stem = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            // `pc1.pml` beside a folder `pc1/` keeps its file name.
            let clash = stem.is_empty()
                || out
                    .iter()
                    .any(|m: &Machine| m.name.eq_ignore_ascii_case(&stem))
                || dir.join(&stem).is_dir();
            let name = if clash { fname } else { stem };
            out.push(Machine {
                name,
                inputs: vec![p],
            });
        } else {
            skipped.push(format!("{fname} (not a capture)"));
        }
    }
    Ok((out, skipped))
}

fn parse_iso_ns(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
}

/// The fleet row of one machine's verdict; `inputs` is the number of input files read.
pub fn row_of(machine: &Machine, v: &Verdict, inputs: u32, report_dir: String) -> MachineRow {
    let named = v.named();
    let filter = v.conclusion == Conclusion::Filter;
    MachineRow {
        machine: machine.name.clone(),
        inputs,
        events: v.counts.events as u64,
        conclusion: v.conclusion.as_str().to_string(),
        driver: if filter { v.driver.clone() } else { None },
        vendor: named
            .filter(|_| filter)
            .map(|s| s.vendor.clone())
            .filter(|s| !s.is_empty()),
        confidence: named.filter(|_| filter).map(|s| s.confidence),
        first_failure_ns: v
            .denials
            .iter()
            .filter_map(|d| parse_iso_ns(&d.time_utc))
            .min(),
        denials: v.denials.len() as u32,
        servicing_denials: v
            .denials
            .iter()
            .filter(|d| d.servicing_relevant && !d.acl_plausible)
            .count() as u32,
        reason: v.reason.clone(),
        report_dir,
    }
}

impl FleetResult {
    /// Machines whose inputs could not be read.
    pub fn errors(&self) -> usize {
        self.rows.iter().filter(|r| r.conclusion == "error").count()
    }
}

fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Analyze one machine; write its `verdict.json` and `report.html` under `out/<machine>/`.
/// With `redact`, a machine name holding one of the machine's own names (computer, user) becomes
/// `machine-N` (N = `index` + 1), and the machine's collected names are returned for the
/// fleet-level strings.
fn analyze_machine(
    m: &Machine,
    index: usize,
    out: &Path,
    fleet: &FleetOptions,
) -> (MachineRow, Option<crate::redact::Collector>) {
    let redact = fleet.redact;
    let mut names = None;
    let mut shown = m.name.clone();
    let mut run = || -> Result<MachineRow> {
        if m.inputs.is_empty() {
            bail!("no capture inside (expected .pml / .etl captures, servicing logs, or an archive of them)");
        }
        // What `analyze` reads, with the frames the verdict needs (bounded on big captures).
        let opts = crate::input::LoadOptions {
            frames: crate::input::Frames::Focused,
            intake: fleet.intake.clone(),
            ..Default::default()
        };
        let mut tables = crate::input::load_with(&m.inputs, &opts).map_err(|e| {
            if format!("{e}").starts_with("no input found") {
                anyhow::anyhow!("no capture inside: {e:#}")
            } else {
                e
            }
        })?;
        let mut redaction = None;
        if redact {
            let c = crate::redact::collect_tables(&tables);
            let r = c.clone().build();
            crate::redact::apply_tables(&r, &mut tables)?;
            redaction = Some(r.summary());
            if r.rewrite(&m.name) != m.name {
                shown = format!("machine-{}", index + 1);
            }
            names = Some(c);
        }
        let mut v = crate::verdict::analyze(&tables)?;
        v.redacted = redact;
        v.redaction = redaction;
        let sub = safe_name(&shown);
        let dir = out.join(&sub);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("{}: cannot create folder", dir.display()))?;
        crate::report::write_json(&v, &dir)?;
        crate::report::write_html(&v, &tables, &dir)?;
        let read = (tables.inputs.len() + tables.logs.files.len()) as u32;
        let mut row = row_of(m, &v, read, sub);
        row.machine = shown.clone();
        Ok(row)
    };
    let row = run().unwrap_or_else(|e| MachineRow {
        machine: shown.clone(),
        inputs: 0,
        events: 0,
        conclusion: "error".into(),
        driver: None,
        vendor: None,
        confidence: None,
        first_failure_ns: None,
        denials: 0,
        servicing_denials: 0,
        reason: format!("{e:#}"),
        report_dir: String::new(),
    });
    (row, names)
}

/// `fleet.parquet`'s table (schema in the module doc).
pub fn fleet_frame(rows: &[MachineRow]) -> PolarsResult<DataFrame> {
    macro_rules! col {
        ($name:expr, $f:expr) => {
            Column::new($name.into(), rows.iter().map($f).collect::<Vec<_>>())
        };
    }
    let first = Series::new(
        "first_failure".into(),
        rows.iter().map(|r| r.first_failure_ns).collect::<Vec<_>>(),
    )
    .cast(&DataType::Datetime(
        TimeUnit::Nanoseconds,
        Some(TimeZone::UTC),
    ))?;
    DataFrame::new(
        rows.len(),
        vec![
            col!("machine", |r: &MachineRow| r.machine.clone()),
            col!("inputs", |r: &MachineRow| r.inputs),
            col!("events", |r: &MachineRow| r.events),
            col!("conclusion", |r: &MachineRow| r.conclusion.clone()),
            col!("driver", |r: &MachineRow| r.driver.clone()),
            col!("vendor", |r: &MachineRow| r.vendor.clone()),
            col!("confidence", |r: &MachineRow| r.confidence),
            first.into(),
            col!("denials", |r: &MachineRow| r.denials),
            col!("servicing_denials", |r: &MachineRow| r.servicing_denials),
            col!("reason", |r: &MachineRow| r.reason.clone()),
        ],
    )
}

fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn iso(ns: Option<i64>) -> String {
    ns.map(crate::evidence::denials::iso_ns).unwrap_or_default()
}

/// Counts per conclusion, in a fixed order.
pub fn conclusion_counts(rows: &[MachineRow]) -> Vec<(&'static str, usize)> {
    ["filter", "no_filter", "undetermined", "error"]
        .into_iter()
        .map(|c| (c, rows.iter().filter(|r| r.conclusion == c).count()))
        .collect()
}

/// Named drivers and on how many machines, most machines first.
pub fn driver_counts(rows: &[MachineRow]) -> Vec<(String, usize)> {
    let mut m: std::collections::BTreeMap<String, usize> = Default::default();
    for d in rows.iter().filter_map(|r| r.driver.as_ref()) {
        *m.entry(d.clone()).or_default() += 1;
    }
    let mut v: Vec<(String, usize)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// `fleet.html`: one self-contained page (inline CSS, no script), a table row per machine
/// linking to its report.
pub fn render_html(r: &FleetResult) -> String {
    let mut s = String::new();
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>fltblame fleet</title>\n<style>\nbody{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em;color:#222}\ntable{border-collapse:collapse;font-size:14px}\nth,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}\nth{background:#f0f0f0}\ntd.n{text-align:right}\ntr.filter td.c{background:#fde2e1;font-weight:bold}\ntr.error td.c{background:#eee;color:#a00}\ntr.no_filter td.c{background:#e3f4e1}\ntr.undetermined td.c{background:#fff6d6}\n.reason{max-width:40em;font-size:12px;color:#555}\n</style>\n</head>\n<body>\n");
    let _ = writeln!(
        s,
        "<h1>fltblame fleet: {}</h1>",
        html_escape(&r.dir.display().to_string())
    );
    let counts: Vec<String> = conclusion_counts(&r.rows)
        .into_iter()
        .map(|(c, n)| format!("{n} {c}"))
        .collect();
    let _ = writeln!(
        s,
        "<p>{} machine(s): {}.</p>",
        r.rows.len(),
        counts.join(", ")
    );
    let drivers = driver_counts(&r.rows);
    if !drivers.is_empty() {
        s.push_str("<p>Drivers named: ");
        let parts: Vec<String> = drivers
            .iter()
            .map(|(d, n)| format!("<b>{}</b> on {n} machine(s)", html_escape(d)))
            .collect();
        s.push_str(&parts.join(", "));
        s.push_str(".</p>\n");
    }
    s.push_str("<table>\n<tr><th>machine</th><th>inputs</th><th>events</th><th>conclusion</th><th>driver</th><th>vendor</th><th>confidence</th><th>first failure (UTC)</th><th>denials</th><th>servicing denials</th><th>reason</th></tr>\n");
    for m in &r.rows {
        let name = if m.report_dir.is_empty() {
            html_escape(&m.machine)
        } else {
            format!(
                "<a href=\"{}/report.html\">{}</a>",
                html_escape(&m.report_dir),
                html_escape(&m.machine)
            )
        };
        let _ = writeln!(
            s,
            "<tr class=\"{}\"><td>{name}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"c\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"reason\">{}</td></tr>",
            html_escape(&m.conclusion),
            m.inputs,
            m.events,
            html_escape(&m.conclusion),
            html_escape(m.driver.as_deref().unwrap_or("")),
            html_escape(m.vendor.as_deref().unwrap_or("")),
            m.confidence.map(|c| format!("{c:.2}")).unwrap_or_default(),
            iso(m.first_failure_ns),
            m.denials,
            m.servicing_denials,
            html_escape(&m.reason)
        );
    }
    s.push_str("</table>\n");
    if !r.skipped.is_empty() {
        s.push_str("<p>Not machines (skipped):</p>\n<ul>\n");
        for k in &r.skipped {
            let _ = writeln!(s, "<li>{}</li>", html_escape(k));
        }
        s.push_str("</ul>\n");
    }
    let _ = writeln!(
        s,
        "<p><small>fltblame {} &middot; {:.1} s &middot; one row per machine also in fleet.parquet</small></p>\n</body>\n</html>",
        env!("CARGO_PKG_VERSION"),
        r.seconds
    );
    s
}

/// The terminal summary.
pub fn render_text(r: &FleetResult) -> String {
    let mut s = String::new();
    let counts: Vec<String> = conclusion_counts(&r.rows)
        .into_iter()
        .map(|(c, n)| format!("{n} {c}"))
        .collect();
    let _ = writeln!(
        s,
        "fltblame fleet {}: {} machine(s) — {} ({:.1} s)",
        r.dir.display(),
        r.rows.len(),
        counts.join(", "),
        r.seconds
    );
    for (d, n) in driver_counts(&r.rows) {
        let _ = writeln!(s, "  driver named: {d} on {n} machine(s)");
    }
    let w = r
        .rows
        .iter()
        .map(|m| m.machine.chars().count())
        .max()
        .unwrap_or(7)
        .max(7);
    let _ = writeln!(
        s,
        "\n  {:<w$}  {:>6}  {:>8}  {:<12}  {:<16}  {:>4}  {:<28}  {:>7}",
        "machine",
        "inputs",
        "events",
        "conclusion",
        "driver",
        "conf",
        "first failure (UTC)",
        "denials"
    );
    for m in &r.rows {
        let _ = writeln!(
            s,
            "  {:<w$}  {:>6}  {:>8}  {:<12}  {:<16}  {:>4}  {:<28}  {:>7}",
            m.machine,
            m.inputs,
            m.events,
            m.conclusion,
            m.driver.as_deref().unwrap_or("-"),
            m.confidence
                .map(|c| format!("{c:.2}"))
                .unwrap_or_else(|| "-".into()),
            if m.first_failure_ns.is_some() {
                iso(m.first_failure_ns)
            } else {
                "-".into()
            },
            m.denials
        );
        if m.conclusion == "error" {
            let _ = writeln!(s, "      error: {}", m.reason);
        }
    }
    for k in &r.skipped {
        let _ = writeln!(s, "  skipped: {k}");
    }
    let _ = writeln!(
        s,
        "Wrote {} and {} (and verdict.json, report.html per machine)",
        r.parquet.display(),
        r.html.display()
    );
    s
}

/// Analyze every machine of `dir` in parallel; write `out/fleet.parquet`, `out/fleet.html` and
/// each machine's report. Errors: `dir` is not a folder or holds no machine, `out` cannot be
/// written. A machine whose captures cannot be read is a row with conclusion `error`.
pub fn run(dir: &Path, out: &Path) -> Result<FleetResult> {
    run_with(dir, out, &FleetOptions::default())
}

/// [`run`] with options (redaction).
pub fn run_with(dir: &Path, out: &Path, opts: &FleetOptions) -> Result<FleetResult> {
    let t0 = std::time::Instant::now();
    std::fs::create_dir_all(out)
        .with_context(|| format!("{}: cannot create folder", out.display()))?;
    let (ms, skipped) = machines(dir, Some(out))?;
    if ms.is_empty() {
        bail!(
            "{}: no machine found (expected one .pml capture, or one folder of .pml captures, per machine)",
            dir.display()
        );
    }
    let mut skipped = skipped;
    let done: Vec<(MachineRow, Option<crate::redact::Collector>)> = ms
        .par_iter()
        .enumerate()
        .map(|(i, m)| analyze_machine(m, i, out, opts))
        .collect();
    let mut all = crate::redact::Collector::new();
    let mut rows = Vec::with_capacity(done.len());
    for (row, names) in done {
        all.merge(names.unwrap_or_default());
        rows.push(row);
    }
    if opts.redact {
        let r = all.build();
        for k in &mut skipped {
            r.rewrite_in_place(k);
        }
        for row in rows.iter_mut().filter(|r| r.conclusion == "error") {
            let reason = crate::redact::redact_path(&r.rewrite(&row.reason));
            row.reason = reason;
        }
    }
    let parquet = out.join("fleet.parquet");
    let mut df = fleet_frame(&rows)?;
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(&parquet)
            .with_context(|| format!("{}: cannot create", parquet.display()))?,
    );
    crate::export::write_parquet(&mut df, &mut f)
        .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", parquet.display()))?;
    std::io::Write::flush(&mut f)?;
    let shown_dir = if opts.redact {
        PathBuf::from(crate::redact::redact_path(&dir.display().to_string()))
    } else {
        dir.to_path_buf()
    };
    let mut res = FleetResult {
        dir: shown_dir,
        rows,
        skipped,
        parquet,
        html: out.join("fleet.html"),
        seconds: 0.0,
    };
    res.seconds = t0.elapsed().as_secs_f64();
    std::fs::write(&res.html, render_html(&res))
        .with_context(|| format!("{}: cannot write", res.html.display()))?;
    Ok(res)
}
