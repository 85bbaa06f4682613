//! `fltblame check`: run every `.sql` of a query folder over some inputs; a query returning rows
//! is a finding. Results print as text and as JUnit XML, for CI.
//!
//! A query's header comment (its leading `--` lines) says what it finds and why it matters; it is
//! printed with each finding. A query reading a table the inputs cannot give (`log_lines` before
//! log inputs, `callbacks` before ETL inputs) is skipped, not failed.

use crate::query::{self, Catalog, QueryError};
use anyhow::{bail, Context, Result};
use polars::prelude::DataFrame;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Rows of a finding shown in the text output.
pub const SHOW_ROWS: usize = 5;
/// Rows of a finding written into the JUnit `<failure>` body.
pub const JUNIT_ROWS: usize = 100;

/// One `.sql` file.
#[derive(Clone, Debug)]
pub struct Query {
    /// File stem, e.g. `servicing_denied`.
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// The leading `--` comment lines, without the dashes.
    pub header: String,
    /// The whole text.
    pub sql: String,
}

impl Query {
    /// The header comment's first sentence, on one line (the query name when there is none).
    pub fn summary(&self) -> String {
        let flat = self
            .header
            .split('\n')
            .take_while(|l| !l.trim().is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let end = flat
            .match_indices(". ")
            .next()
            .map_or(flat.len(), |(i, _)| i + 1);
        let first = flat[..end].trim();
        if first.is_empty() {
            self.name.clone()
        } else {
            first.to_string()
        }
    }
}

/// What one query gave.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// No rows.
    Passed,
    /// Rows: a finding.
    Finding(DataFrame),
    /// Reads tables these inputs lack.
    Skipped(String),
    /// The query is broken (bad SQL, unknown column).
    Error(String),
}

/// One query's result.
#[derive(Clone, Debug)]
pub struct QueryResult {
    /// The query.
    pub query: Query,
    /// What it gave.
    pub outcome: Outcome,
    /// Seconds it took.
    pub seconds: f64,
}

/// The results of one `check`.
#[derive(Clone, Debug)]
pub struct Report {
    /// The query folder.
    pub dir: PathBuf,
    /// The inputs, as given.
    pub inputs: Vec<PathBuf>,
    /// Events read.
    pub events: usize,
    /// Denials found.
    pub denials: usize,
    /// One per query, by name.
    pub results: Vec<QueryResult>,
    /// Seconds for everything (reading included).
    pub seconds: f64,
}

impl Report {
    /// Queries that found rows.
    pub fn findings(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Finding(_)))
    }
    /// Queries skipped.
    pub fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Skipped(_)))
    }
    /// Broken queries.
    pub fn errors(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Error(_)))
    }
    /// Queries with no rows.
    pub fn passed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Passed))
    }
    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.results.iter().filter(|r| f(&r.outcome)).count()
    }
    /// Exit code: 2 when a query is broken, 1 when one found something, else 0.
    pub fn exit_code(&self) -> u8 {
        if self.errors() > 0 {
            2
        } else if self.findings() > 0 {
            1
        } else {
            0
        }
    }
}

/// Whether `p` is a folder holding at least one `.sql` file.
pub fn is_query_dir(p: &Path) -> bool {
    p.is_dir() && sql_files(p).is_ok_and(|v| !v.is_empty())
}

fn sql_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot list", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("sql")))
        .collect();
    v.sort();
    Ok(v)
}

/// Split `check`'s arguments: the first is the query folder when it is a folder holding `.sql`
/// files, else `default_dir` is used and every argument is an input.
pub fn split_args(args: &[PathBuf], default_dir: &Path) -> Result<(PathBuf, Vec<PathBuf>)> {
    let (dir, inputs) = match args.split_first() {
        Some((first, rest)) if is_query_dir(first) => (first.clone(), rest.to_vec()),
        _ => (default_dir.to_path_buf(), args.to_vec()),
    };
    if inputs.is_empty() {
        bail!("no input given: fltblame check [QUERIES_DIR] INPUTS... (e.g. fltblame check queries/ capture.pml)");
    }
    if !is_query_dir(&dir) {
        bail!(
            "{}: no folder of .sql queries here; give the query folder first (fltblame check QUERIES_DIR INPUTS...)",
            dir.display()
        );
    }
    Ok((dir, inputs))
}

/// The leading comment of a query: its first `--` lines (blank lines between them allowed).
pub fn header_comment(sql: &str) -> String {
    let mut out = Vec::new();
    for line in sql.lines() {
        let t = line.trim();
        if let Some(c) = t.strip_prefix("--") {
            out.push(c.strip_prefix(' ').unwrap_or(c).trim_end().to_string());
        } else if t.is_empty() {
            continue;
        } else {
            break;
        }
    }
    out.join("\n")
}

/// Read every `.sql` of `dir`, by file name.
pub fn load_queries(dir: &Path) -> Result<Vec<Query>> {
    sql_files(dir)?
        .into_iter()
        .map(|path| {
            let sql = std::fs::read_to_string(&path)
                .with_context(|| format!("{}: cannot read", path.display()))?;
            Ok(Query {
                name: path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                header: header_comment(&sql),
                path,
                sql,
            })
        })
        .collect()
}

/// Run `queries` over `catalog`.
pub fn run_queries(catalog: &Catalog, queries: &[Query]) -> Vec<QueryResult> {
    queries
        .iter()
        .map(|q| {
            let t0 = Instant::now();
            let outcome = match catalog.run(&q.sql) {
                Ok(df) if df.height() == 0 => Outcome::Passed,
                Ok(df) => Outcome::Finding(df),
                Err(e @ QueryError::Absent(_)) => Outcome::Skipped(e.to_string()),
                Err(QueryError::Sql(e)) => Outcome::Error(e),
            };
            QueryResult {
                query: q.clone(),
                outcome,
                seconds: t0.elapsed().as_secs_f64(),
            }
        })
        .collect()
}

/// Read `inputs`, run the queries of `dir` over them.
pub fn check(dir: &Path, inputs: &[PathBuf]) -> Result<Report> {
    check_with(dir, inputs, &crate::input::LoadOptions::default())
}

/// [`check`] with options for reading the inputs (archive limits, UTC offset).
pub fn check_with(
    dir: &Path,
    inputs: &[PathBuf],
    opts: &crate::input::LoadOptions,
) -> Result<Report> {
    let t0 = Instant::now();
    let queries = load_queries(dir)?;
    let texts: Vec<&str> = queries.iter().map(|q| q.sql.as_str()).collect();
    let catalog = Catalog::load_for(inputs, &texts, opts)?;
    let height = |n: &str| catalog.get(n).map_or(0, DataFrame::height);
    let results = run_queries(&catalog, &queries);
    Ok(Report {
        dir: dir.to_path_buf(),
        inputs: inputs.to_vec(),
        events: height("events"),
        denials: height("denials"),
        results,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

fn indent(text: &str, pad: &str) -> String {
    text.lines()
        .map(|l| format!("{pad}{l}\n"))
        .collect::<String>()
}

/// The text report: each finding with its header comment and first rows, then one line per
/// other query and a summary line.
pub fn render_text(r: &Report) -> String {
    let mut s = String::new();
    let inputs: Vec<String> = r.inputs.iter().map(|p| p.display().to_string()).collect();
    let _ = writeln!(
        s,
        "fltblame check: {} queries of {} over {} ({} events, {} denials)",
        r.results.len(),
        r.dir.display(),
        inputs.join(", "),
        r.events,
        r.denials
    );
    for res in &r.results {
        let q = &res.query;
        match &res.outcome {
            Outcome::Finding(df) => {
                let _ = writeln!(s, "\nFINDING  {}: {} row(s)", q.name, df.height());
                s.push_str(&indent(&q.header, "  | "));
                let shown = df.head(Some(SHOW_ROWS));
                s.push_str(&indent(&shown.to_string(), "  "));
                if df.height() > SHOW_ROWS {
                    let _ = writeln!(
                        s,
                        "  ... {} more row(s): fltblame query {} INPUTS",
                        df.height() - SHOW_ROWS,
                        q.path.display()
                    );
                }
            }
            Outcome::Error(e) => {
                let _ = writeln!(s, "\nERROR    {}: {e}", q.name);
            }
            _ => {}
        }
    }
    s.push('\n');
    let w = r
        .results
        .iter()
        .map(|x| x.query.name.chars().count())
        .max()
        .unwrap_or(0);
    for res in &r.results {
        let (tag, what) = match &res.outcome {
            Outcome::Passed => ("pass", "no rows".to_string()),
            Outcome::Finding(df) => ("FINDING", format!("{} row(s)", df.height())),
            Outcome::Skipped(why) => ("skipped", why.clone()),
            Outcome::Error(_) => ("ERROR", "the query is broken (above)".to_string()),
        };
        let _ = writeln!(s, "  {tag:<8} {:<w$}  {what}", res.query.name);
    }
    let _ = writeln!(
        s,
        "{} finding(s), {} passed, {} skipped, {} broken ({:.2} s)",
        r.findings(),
        r.passed(),
        r.skipped(),
        r.errors(),
        r.seconds
    );
    s
}

/// Text safe in XML 1.0 character data and attribute values: markup characters escaped,
/// characters XML 1.0 forbids replaced by U+FFFD.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || matches!(c, '\u{FFFE}' | '\u{FFFF}') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Text safe as XML 1.0 element content: `&`, `<`, `>` escaped, line breaks and tabs kept,
/// forbidden characters replaced by U+FFFD.
pub fn xml_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\t' | '\n' => out.push(c),
            '\r' => {}
            c if (c as u32) < 0x20 || matches!(c, '\u{FFFE}' | '\u{FFFF}') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The rows of a finding as CSV text (header row first), [`JUNIT_ROWS`] rows at most.
pub fn rows_csv(df: &DataFrame, limit: usize) -> Result<String> {
    let head = df.head(Some(limit));
    let mut buf = Vec::new();
    query::write_csv(&head, &mut buf)?;
    let mut s = String::from_utf8(buf)?;
    if df.height() > limit {
        let _ = writeln!(s, "... {} more row(s)", df.height() - limit);
    }
    Ok(s)
}

/// JUnit XML of a report: one `<testsuite>` (inside `<testsuites>`), one `<testcase>` per query;
/// a finding is a `<failure>` holding its header comment and rows (CSV), a skipped query a
/// `<skipped>`, a broken one an `<error>`.
pub fn junit_xml(r: &Report) -> Result<String> {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let counts = format!(
        "tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\"",
        r.results.len(),
        r.findings(),
        r.errors(),
        r.skipped(),
        r.seconds
    );
    let _ = writeln!(s, "<testsuites name=\"fltblame check\" {counts}>");
    let _ = writeln!(
        s,
        "  <testsuite name=\"{}\" {counts} timestamp=\"{}\">",
        xml_escape(&format!("fltblame check {}", r.dir.display())),
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S")
    );
    s.push_str("    <properties>\n");
    for p in &r.inputs {
        let _ = writeln!(
            s,
            "      <property name=\"input\" value=\"{}\"/>",
            xml_escape(&p.display().to_string())
        );
    }
    let _ = writeln!(
        s,
        "      <property name=\"events\" value=\"{}\"/>\n      <property name=\"denials\" value=\"{}\"/>\n      <property name=\"fltblame_version\" value=\"{}\"/>",
        r.events,
        r.denials,
        env!("CARGO_PKG_VERSION")
    );
    s.push_str("    </properties>\n");
    for res in &r.results {
        let q = &res.query;
        let _ = write!(
            s,
            "    <testcase name=\"{}\" classname=\"fltblame.check\" file=\"{}\" time=\"{:.3}\"",
            xml_escape(&q.name),
            xml_escape(&q.path.display().to_string()),
            res.seconds
        );
        match &res.outcome {
            Outcome::Passed => s.push_str("/>\n"),
            Outcome::Finding(df) => {
                let first = q.summary();
                let _ = writeln!(
                    s,
                    ">\n      <failure type=\"finding\" message=\"{}\">{}\n\n{}</failure>\n    </testcase>",
                    xml_escape(&format!("{} row(s): {first}", df.height())),
                    xml_text(&q.header),
                    xml_text(&rows_csv(df, JUNIT_ROWS)?)
                );
            }
            Outcome::Skipped(why) => {
                let _ = writeln!(
                    s,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                    xml_escape(why)
                );
            }
            Outcome::Error(e) => {
                let _ = writeln!(
                    s,
                    ">\n      <error type=\"query\" message=\"{}\">{}</error>\n    </testcase>",
                    xml_escape(e.lines().next().unwrap_or("")),
                    xml_text(e)
                );
            }
        }
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_escape() {
        let sql =
            "-- First line.\n--   indented\n\n-- after blank\nSELECT 1 -- not header\n-- nor this";
        assert_eq!(header_comment(sql), "First line.\n  indented\nafter blank");
        assert_eq!(
            xml_escape("a<b>&\"'\u{1}\n"),
            "a&lt;b&gt;&amp;&quot;&apos;\u{FFFD}&#10;"
        );
        assert_eq!(xml_text("x\"\ny\u{0}<"), "x\"\ny\u{FFFD}&lt;");
        let q = Query {
            name: "q".into(),
            path: "q.sql".into(),
            header: "A thing was denied.\nWhy it matters: X. Y.\n\nMore.".into(),
            sql: String::new(),
        };
        assert_eq!(q.summary(), "A thing was denied.");
    }
}
