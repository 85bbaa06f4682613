//! `fltblame query`: polars SQL over the tables of some inputs, printed as a table, CSV or JSON.
//!
//! The tables registered ([`Catalog`]) are those of `tables/mod.rs` (`events`, `frames`,
//! `modules`, `processes`) plus `denials`, derived by the analyzer ([`crate::evidence::denials`]):
//!
//! | column | type | what |
//! |---|---|---|
//! | `event_id` | UInt64 | `events.event_id` of the denied operation |
//! | `source` | String | input file name |
//! | `time_utc` | Datetime(ns, UTC) | start of the operation |
//! | `duration_ns` | Int64 | duration |
//! | `pid`, `tid` | UInt32 | process and thread |
//! | `process_name`, `image` | String | process name and image path (empty when unknown) |
//! | `user`, `integrity` | String | `DOMAIN\name`, integrity level |
//! | `class`, `operation`, `path`, `detail` | String | as in `events` |
//! | `status` | UInt32 | NTSTATUS |
//! | `status_name` | String | Procmon's Result text |
//! | `status_class` | String | `denial` or `filter_only` |
//! | `servicing_relevant`, `servicing_reason` | Boolean, String | servicing actor or object, and why |
//! | `acl_plausible`, `acl_reason` | Boolean, String | an ordinary ACL plausibly produced it, and why |
//! | `trustedinstaller` | Boolean | the actor holds the TrustedInstaller token |
//! | `actor`, `target` | String | actor class, target class (`classify.rs`) |
//! | `write_intent` | Boolean | the operation asks to change its target |
//! | `object` | String | normalised object name (`HKLM\...`, `CurrentControlSet`) |
//! | `stack_id` | UInt64 | `events.stack_id` (null without stack) |
//!
//! `log_lines` (log inputs) and `callbacks` (ETL inputs) are registered when such inputs were
//! given. Tables that DESIGN.md names but these inputs cannot give (`log_lines`, `callbacks`,
//! `drivers`) are [`KNOWN_TABLES`]: a query naming one of them fails with [`QueryError::Absent`]
//! (`check` reports it as skipped).

use crate::evidence::denials::{self, Denial};
use crate::tables::Tables;
use anyhow::{bail, Context, Result};
use polars::prelude::*;
use polars::sql::SQLContext;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// Every table name of DESIGN.md's "Tables" section (and the derived `denials`).
pub const KNOWN_TABLES: [&str; 8] = [
    "events",
    "frames",
    "modules",
    "processes",
    "callbacks",
    "log_lines",
    "drivers",
    "denials",
];

/// Named tables a query can read.
#[derive(Clone, Default)]
pub struct Catalog {
    tables: BTreeMap<String, DataFrame>,
}

impl Catalog {
    /// The tables of `t` plus the derived `denials`.
    pub fn from_tables(t: &Tables) -> Result<Catalog> {
        let found = denials::find(t)?;
        let mut c = Catalog::default();
        c.insert("events", t.events.clone());
        c.insert("frames", t.frames.clone());
        c.insert("modules", t.modules.clone());
        c.insert("processes", t.processes.clone());
        c.insert("denials", denials_table(&found)?);
        if !t.logs.is_empty() {
            c.insert("log_lines", t.logs.log_lines.clone());
        }
        if !t.traces.is_empty() {
            c.insert("callbacks", t.callbacks.clone());
        }
        Ok(c)
    }

    /// Load `inputs` ([`crate::input::load`]) and build their catalog.
    pub fn load(inputs: &[std::path::PathBuf]) -> Result<Catalog> {
        Catalog::load_with(inputs, &crate::input::LoadOptions::default())
    }

    /// [`Catalog::load`] with options (archive limits, UTC offset).
    pub fn load_with(
        inputs: &[std::path::PathBuf],
        opts: &crate::input::LoadOptions,
    ) -> Result<Catalog> {
        let t = crate::input::load_with(inputs, opts)?;
        Catalog::from_tables(&t)
    }

    /// As [`Catalog::load_with`] for running `sql`: the `frames` table (a row per return
    /// address, tens of millions on a multi-GB capture) is only built when one of the
    /// statements names it; otherwise it is registered empty. `opts.frames` is ignored.
    pub fn load_for(
        inputs: &[std::path::PathBuf],
        sql: &[&str],
        opts: &crate::input::LoadOptions,
    ) -> Result<Catalog> {
        use crate::input::{load_with, Frames, LoadOptions};
        let opts = LoadOptions {
            frames: if sql.iter().any(|q| names_frames(q)) {
                Frames::All
            } else {
                Frames::None
            },
            ..opts.clone()
        };
        Catalog::from_tables(&load_with(inputs, &opts)?)
    }

    /// Add or replace a table.
    pub fn insert(&mut self, name: &str, df: DataFrame) {
        self.tables.insert(name.to_string(), df);
    }

    /// A table by name.
    pub fn get(&self, name: &str) -> Option<&DataFrame> {
        self.tables.get(name)
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.tables.keys().map(String::as_str).collect()
    }

    /// Tables of [`KNOWN_TABLES`] that `sql` reads but this catalog lacks. Errors when the SQL
    /// does not parse.
    pub fn absent_tables(&self, sql: &str) -> Result<Vec<String>> {
        let ids = polars::sql::extract_table_identifiers(sql, false, true)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(ids
            .into_iter()
            .map(|s| s.to_ascii_lowercase())
            .filter(|s| KNOWN_TABLES.contains(&s.as_str()) && !self.tables.contains_key(s))
            .collect())
    }

    /// Run one SQL statement over the tables.
    pub fn run(&self, sql: &str) -> std::result::Result<DataFrame, QueryError> {
        let absent = self
            .absent_tables(sql)
            .map_err(|e| QueryError::Sql(format!("{e:#}")))?;
        if !absent.is_empty() {
            return Err(QueryError::Absent(absent));
        }
        let mut ctx = SQLContext::new();
        for (name, df) in &self.tables {
            ctx.register(name, df.clone().lazy());
        }
        ctx.execute(sql)
            .and_then(|lf| lf.collect())
            .map_err(|e| QueryError::Sql(e.to_string()))
    }
}

/// Why a query gave no table.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// It reads tables these inputs do not give (a log or ETL table before such inputs exist).
    #[error("{}", absent_text(.0))]
    Absent(Vec<String>),
    /// Polars refused or failed it.
    #[error("{0}")]
    Sql(String),
}

/// Where a table absent from the inputs would come from.
pub fn table_source(name: &str) -> &'static str {
    match name {
        "log_lines" => "CBS.log, setupapi.dev.log, WindowsUpdate.log or event log inputs",
        "callbacks" => "an ETL trace with Minifilter I/O",
        "drivers" => "fltmc output or an ETL trace",
        _ => "other inputs",
    }
}

fn absent_text(tables: &[String]) -> String {
    tables
        .iter()
        .map(|t| {
            format!(
                "table {t} is not in these inputs (it comes from {})",
                table_source(t)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Does SQL text name the `frames` table (the word in any case, split at non-identifier
/// characters; a comment naming it also counts, which only costs time)?
fn names_frames(sql: &str) -> bool {
    sql.to_ascii_lowercase()
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|w| w == "frames")
}

/// The derived `denials` table (schema in the module doc) of the analyzer's denials.
pub fn denials_table(ds: &[Denial]) -> Result<DataFrame> {
    fn text<T: serde::Serialize>(v: &T) -> String {
        serde_json::to_value(v)
            .ok()
            .and_then(|j| j.as_str().map(str::to_string))
            .unwrap_or_default()
    }
    macro_rules! col {
        ($name:expr, $f:expr) => {
            Column::new($name.into(), ds.iter().map($f).collect::<Vec<_>>())
        };
    }
    let time = Series::new(
        "time_utc".into(),
        ds.iter().map(|d| d.time_ns).collect::<Vec<i64>>(),
    )
    .cast(&DataType::Datetime(
        TimeUnit::Nanoseconds,
        Some(TimeZone::UTC),
    ))?;
    let df = DataFrame::new(
        ds.len(),
        vec![
            col!("event_id", |d: &Denial| d.event_id),
            col!("source", |d: &Denial| d.source.clone()),
            time.into(),
            col!("duration_ns", |d: &Denial| d.duration_ns),
            col!("pid", |d: &Denial| d.pid),
            col!("tid", |d: &Denial| d.tid),
            col!("process_name", |d: &Denial| d.process.clone()),
            col!("image", |d: &Denial| d.image.clone()),
            col!("user", |d: &Denial| d.user.clone()),
            col!("integrity", |d: &Denial| d.integrity.clone()),
            col!("class", |d: &Denial| d.class.clone()),
            col!("operation", |d: &Denial| d.operation.clone()),
            col!("path", |d: &Denial| d.path.clone()),
            col!("detail", |d: &Denial| d.detail.clone()),
            col!("status", |d: &Denial| d.status),
            col!("status_name", |d: &Denial| d.status_name.clone()),
            col!("status_class", |d: &Denial| text(&d.status_class)),
            col!("servicing_relevant", |d: &Denial| d.servicing_relevant),
            col!("servicing_reason", |d: &Denial| d.servicing_reason.clone()),
            col!("acl_plausible", |d: &Denial| d.acl_plausible),
            col!("acl_reason", |d: &Denial| d.acl_reason.clone()),
            col!("trustedinstaller", |d: &Denial| d.trustedinstaller),
            col!("actor", |d: &Denial| text(&d.actor)),
            col!("target", |d: &Denial| text(&d.target)),
            col!("write_intent", |d: &Denial| d.write),
            col!("object", |d: &Denial| d.object.clone()),
            col!("stack_id", |d: &Denial| d.stack_id),
        ],
    )?;
    Ok(df)
}

/// The SQL of a `query` argument: the text of a `.sql` file when the argument names one, else
/// the argument itself.
pub fn sql_text(arg: &str) -> Result<String> {
    let p = Path::new(arg);
    let is_sql_file = p.extension().is_some_and(|e| e.eq_ignore_ascii_case("sql"));
    if is_sql_file {
        return std::fs::read_to_string(p).with_context(|| format!("{arg}: cannot read"));
    }
    if p.is_file() && !arg.contains(char::is_whitespace) {
        bail!("{arg}: a file, but not a .sql file; give SQL text or a FILE.sql");
    }
    Ok(arg.to_string())
}

/// Output formats of `query`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// polars' table text.
    Table,
    /// CSV with a header row (RFC 4180 quoting, LF line ends).
    Csv,
    /// A JSON array, one object per row (columns in order), one row per line.
    Json,
}

/// Let polars' table text show `rows` rows and long strings in full, and not wrap cells when
/// standard output is not a terminal, unless the user set the `POLARS_FMT_*` /
/// `POLARS_TABLE_WIDTH` variables. Call before any other thread starts (it sets environment
/// variables).
pub fn configure_table_text(rows: usize) {
    let width = if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        None
    } else {
        Some("-1".to_string())
    };
    let settings = [
        ("POLARS_FMT_MAX_ROWS", Some(rows.to_string())),
        ("POLARS_FMT_MAX_COLS", Some("64".to_string())),
        ("POLARS_FMT_STR_LEN", Some("160".to_string())),
        ("POLARS_TABLE_WIDTH", width),
    ];
    for (k, v) in settings.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))) {
        if std::env::var_os(k).is_none() {
            std::env::set_var(k, v);
        }
    }
}

/// Write `df` in `format`.
pub fn write(df: &DataFrame, format: Format, out: &mut dyn Write) -> Result<()> {
    match format {
        Format::Table => writeln!(out, "{df}")?,
        Format::Csv => write_csv(df, out)?,
        Format::Json => write_json(df, out)?,
    }
    Ok(())
}

/// ISO 8601 UTC text of a time in `unit`: 7 fractional digits (Procmon's 100 ns) when exact,
/// else 9.
fn iso_time(v: i64, unit: TimeUnit) -> String {
    let ns = match unit {
        TimeUnit::Nanoseconds => v,
        TimeUnit::Microseconds => v.saturating_mul(1_000),
        TimeUnit::Milliseconds => v.saturating_mul(1_000_000),
    };
    if ns.rem_euclid(100) == 0 {
        denials::iso_ns(ns)
    } else {
        chrono::DateTime::from_timestamp_nanos(ns)
            .format("%Y-%m-%dT%H:%M:%S%.9fZ")
            .to_string()
    }
}

/// A cell as text (null: `None`). Times are ISO 8601 UTC.
pub fn cell_text(v: &AnyValue) -> Option<String> {
    Some(match v {
        AnyValue::Null => return None,
        AnyValue::String(s) => s.to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        AnyValue::Boolean(b) => b.to_string(),
        AnyValue::Datetime(t, u, _) => iso_time(*t, *u),
        AnyValue::DatetimeOwned(t, u, _) => iso_time(*t, *u),
        other => other.to_string(),
    })
}

/// A cell as JSON: numbers and booleans as such, times as ISO 8601 text, null as null.
pub fn cell_json(v: &AnyValue) -> serde_json::Value {
    use serde_json::Value;
    match v {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => Value::Bool(*b),
        AnyValue::UInt8(x) => Value::from(*x),
        AnyValue::UInt16(x) => Value::from(*x),
        AnyValue::UInt32(x) => Value::from(*x),
        AnyValue::UInt64(x) => Value::from(*x),
        AnyValue::Int8(x) => Value::from(*x),
        AnyValue::Int16(x) => Value::from(*x),
        AnyValue::Int32(x) => Value::from(*x),
        AnyValue::Int64(x) => Value::from(*x),
        AnyValue::Float32(x) => {
            serde_json::Number::from_f64(f64::from(*x)).map_or(Value::Null, Value::Number)
        }
        AnyValue::Float64(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
        other => cell_text(other).map_or(Value::Null, Value::String),
    }
}

/// The rows of `df` as text cells (null: `None`), `limit` rows at most.
pub fn rows_text(df: &DataFrame, limit: usize) -> Result<Vec<Vec<Option<String>>>> {
    let n = df.height().min(limit);
    let cols = df.columns();
    let mut rows = Vec::with_capacity(n);
    for i in 0..n {
        let mut row = Vec::with_capacity(cols.len());
        for c in cols {
            row.push(cell_text(&c.get(i)?));
        }
        rows.push(row);
    }
    Ok(rows)
}

/// CSV with a header row; nulls are empty fields.
pub fn write_csv(df: &DataFrame, out: &mut dyn Write) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(df.get_column_names().iter().map(|s| s.as_str()))?;
    let cols = df.columns();
    let mut rec: Vec<String> = Vec::with_capacity(cols.len());
    for i in 0..df.height() {
        rec.clear();
        for c in cols {
            rec.push(cell_text(&c.get(i)?).unwrap_or_default());
        }
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

/// A JSON array of row objects (keys in column order), one row per line.
pub fn write_json(df: &DataFrame, out: &mut dyn Write) -> Result<()> {
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| serde_json::to_string(s.as_str()))
        .collect::<std::result::Result<_, _>>()?;
    let cols = df.columns();
    out.write_all(b"[")?;
    for i in 0..df.height() {
        let mut line = String::from(if i == 0 { "\n{" } else { ",\n{" });
        for (k, (name, c)) in names.iter().zip(cols).enumerate() {
            if k > 0 {
                line.push(',');
            }
            line.push_str(name);
            line.push(':');
            line.push_str(&serde_json::to_string(&cell_json(&c.get(i)?))?);
        }
        line.push('}');
        out.write_all(line.as_bytes())?;
    }
    out.write_all(if df.height() == 0 { b"]\n" } else { b"\n]\n" })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_named_only_as_a_word() {
        assert!(names_frames(
            "SELECT module, COUNT(*) FROM frames GROUP BY 1"
        ));
        assert!(names_frames(
            "select * from FRAMES f join events e on f.stack_id=e.stack_id"
        ));
        assert!(names_frames("SELECT 1 FROM \"frames\""));
        assert!(!names_frames("SELECT frames_seen, keyframes FROM events"));
        assert!(!names_frames("SELECT COUNT(*) FROM denials"));
    }

    fn sample() -> DataFrame {
        let t = Series::new("t".into(), [1_725_936_283_951_241_800i64, 5])
            .cast(&DataType::Datetime(
                TimeUnit::Nanoseconds,
                Some(TimeZone::UTC),
            ))
            .unwrap();
        DataFrame::new(
            2,
            vec![
                Column::new("id".into(), [408u64, 7]),
                Column::new("name".into(), [Some("a,\"b\""), None]),
                Column::new("ok".into(), [true, false]),
                t.into(),
            ],
        )
        .unwrap()
    }

    #[test]
    fn csv_and_json() {
        let df = sample();
        let mut csv = Vec::new();
        write_csv(&df, &mut csv).unwrap();
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            "id,name,ok,t\n408,\"a,\"\"b\"\"\",true,2024-09-10T02:44:43.9512418Z\n7,,false,1970-01-01T00:00:00.000000005Z\n"
        );
        let mut js = Vec::new();
        write_json(&df, &mut js).unwrap();
        let text = String::from_utf8(js).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v[0]["id"], 408);
        assert_eq!(v[0]["name"], "a,\"b\"");
        assert_eq!(v[1]["name"], serde_json::Value::Null);
        assert_eq!(v[1]["ok"], false);
        assert!(text.starts_with("[\n{\"id\":408,\"name\""), "{text}");
        let mut empty = Vec::new();
        write_json(&df.head(Some(0)), &mut empty).unwrap();
        assert_eq!(empty, b"[]\n");
    }

    #[test]
    fn absent_tables_are_named() {
        let mut c = Catalog::default();
        c.insert("denials", sample());
        let e = c
            .run("SELECT * FROM log_lines WHERE level = 'Error'")
            .unwrap_err();
        assert!(
            matches!(&e, QueryError::Absent(t) if t == &["log_lines"]),
            "{e}"
        );
        let df = c
            .run("WITH x AS (SELECT id FROM denials WHERE ok) SELECT * FROM x")
            .unwrap();
        assert_eq!(df.height(), 1);
        assert!(matches!(c.run("SELEC 1").unwrap_err(), QueryError::Sql(_)));
    }
}
