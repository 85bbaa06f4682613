//! `analyze --fleet`: a folder of machines (a folder of captures, single capture files) is
//! analyzed in parallel into `fleet.parquet`, `fleet.html` and a report per machine; the Parquet
//! reads back (polars, and DuckDB when `FLTBLAME_PYTHON` names a Python with `duckdb`) with the
//! same counts.

mod common;

use common::*;
use polars::prelude::*;
use std::path::PathBuf;
use std::process::Command;

/// The fleet: `pc-017/` holds the case-A sample, `pc-021.pml` and `pc-022.pml` are corpus
/// captures, `notes.txt` is not a machine.
fn fleet_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/case-a-amdk8/capture.pml");
    std::fs::create_dir(d.path().join("pc-017")).unwrap();
    std::fs::copy(&sample, d.path().join("pc-017/capture.pml")).unwrap();
    std::fs::copy(
        corpus_pml("CompressedLogFileUTC64Process"),
        d.path().join("pc-021.pml"),
    )
    .unwrap();
    std::fs::copy(
        corpus_pml("CompressedLogFileUTC64Registry"),
        d.path().join("pc-022.pml"),
    )
    .unwrap();
    std::fs::write(d.path().join("notes.txt"), "collected 2024-09-10").unwrap();
    d
}

#[test]
fn fleet_of_three_machines() {
    let fleet = fleet_dir();
    let out = tempfile::tempdir().unwrap();
    let (code, stdout, err) =
        fltblame(&["analyze", "--fleet", s(fleet.path()), "-o", s(out.path())]);
    assert_eq!(code, 0, "{stdout}\n{err}");
    assert!(
        stdout.contains("3 machine(s) — 1 filter, 1 no_filter, 1 undetermined, 0 error"),
        "{stdout}"
    );
    assert!(
        stdout.contains("driver named: krnlmgr.sys on 1 machine(s)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("skipped: notes.txt (not a capture)"),
        "{stdout}"
    );

    // fleet.parquet, read by polars: one row per machine, in name order.
    let pq = out.path().join("fleet.parquet");
    let df = ParquetReader::new(std::fs::File::open(&pq).unwrap())
        .finish()
        .unwrap();
    assert_eq!(df.height(), 3);
    let strs = |c: &str| -> Vec<Option<String>> {
        df.column(c)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    };
    let u = |c: &str| -> Vec<u64> {
        df.column(c)
            .unwrap()
            .cast(&DataType::UInt64)
            .unwrap()
            .u64()
            .unwrap()
            .iter()
            .map(Option::unwrap_or_default)
            .collect()
    };
    assert_eq!(
        strs("machine"),
        [
            Some("pc-017".into()),
            Some("pc-021".into()),
            Some("pc-022".into())
        ]
    );
    assert_eq!(
        strs("conclusion"),
        [
            Some("filter".into()),
            Some("undetermined".into()),
            Some("no_filter".into())
        ]
    );
    assert_eq!(strs("driver"), [Some("krnlmgr.sys".into()), None, None]);
    assert_eq!(strs("vendor"), [Some("TMS".into()), None, None]);
    assert_eq!(u("inputs"), [1, 1, 1]);
    assert_eq!(u("events"), [455, 3400, 28240]);
    assert_eq!(u("denials"), [2, 0, 10]);
    assert_eq!(u("servicing_denials"), [1, 0, 0]);
    let conf = df.column("confidence").unwrap().f64().unwrap();
    assert!((conf.get(0).unwrap() - 0.964).abs() < 0.001);
    assert_eq!(conf.get(1), None);
    let first = df.column("first_failure").unwrap();
    assert_eq!(
        first.dtype(),
        &DataType::Datetime(TimeUnit::Nanoseconds, Some(TimeZone::UTC))
    );
    let first_ns = first.cast(&DataType::Int64).unwrap();
    let first_ns = first_ns.i64().unwrap();
    // Case A's first denial: invagent.exe's RegCreateKey, event 355.
    assert_eq!(
        fltblame::evidence::denials::iso_ns(first_ns.get(0).unwrap()),
        "2024-09-10T02:44:38.2274571Z"
    );
    assert_eq!(first_ns.get(1), None);

    // Each machine's own verdict and report; the summary page links them.
    for m in ["pc-017", "pc-021", "pc-022"] {
        let v: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.path().join(m).join("verdict.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(v["schema"], "fltblame.verdict/1");
        assert!(out.path().join(m).join("report.html").is_file());
    }
    let html = std::fs::read_to_string(out.path().join("fleet.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<a href=\"pc-017/report.html\">pc-017</a>"));
    assert!(html.contains("<b>krnlmgr.sys</b> on 1 machine(s)"));
    assert!(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"));
    assert_eq!(html.matches("<tr class=").count(), 3);

    let Some(py) = duckdb_python() else {
        println!("skipped DuckDB read-back: set FLTBLAME_PYTHON to a python with duckdb");
        return;
    };
    let script = r#"
import duckdb, json, sys
con = duckdb.connect()
q = lambda sql: con.execute(sql.replace("{T}", "read_parquet('" + sys.argv[1] + "')")).fetchall()
print(json.dumps({
    "rows": q("SELECT count(*) FROM {T}")[0][0],
    "denials": q("SELECT sum(denials) FROM {T}")[0][0],
    "events": q("SELECT sum(events) FROM {T}")[0][0],
    "by": q("SELECT conclusion, count(*) FROM {T} GROUP BY 1 ORDER BY 1"),
    "driver": q("SELECT machine, driver FROM {T} WHERE driver IS NOT NULL"),
    "first": q("SELECT strftime(first_failure AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%f') FROM {T} WHERE machine = 'pc-017'")[0][0],
}))
"#;
    let o = Command::new(&py)
        .args(["-c", script, s(&pq)])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["rows"], 3);
    assert_eq!(v["denials"], 12);
    assert_eq!(v["events"], 455 + 3400 + 28240);
    assert_eq!(
        v["by"],
        serde_json::json!([["filter", 1], ["no_filter", 1], ["undetermined", 1]])
    );
    assert_eq!(v["driver"], serde_json::json!([["pc-017", "krnlmgr.sys"]]));
    assert_eq!(v["first"], "2024-09-10T02:44:38.227457");
    println!("DuckDB read fleet.parquet with the same counts: {v}");
}

#[test]
fn fleet_reports_unreadable_machines_and_bad_folders() {
    let fleet = tempfile::tempdir().unwrap();
    std::fs::create_dir(fleet.path().join("pc-empty")).unwrap();
    std::fs::write(fleet.path().join("pc-bad.pml"), b"not a capture at all").unwrap();
    std::fs::copy(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/case-a-amdk8/capture.pml"),
        fleet.path().join("pc-ok.pml"),
    )
    .unwrap();
    // The output folder inside the fleet folder is not a machine.
    let out = fleet.path().join("out");
    let (code, stdout, err) = fltblame(&["analyze", "--fleet", s(fleet.path()), "-o", s(&out)]);
    assert_eq!(code, 2, "{stdout}");
    assert!(
        err.contains("2 machine(s)") && err.contains("could not be read"),
        "{err}"
    );
    assert!(
        stdout.contains("3 machine(s) — 1 filter, 0 no_filter, 0 undetermined, 2 error"),
        "{stdout}"
    );
    assert!(stdout.contains("error: no capture inside"), "{stdout}");
    assert!(stdout.contains("pc-bad.pml"), "{stdout}");
    let df = ParquetReader::new(std::fs::File::open(out.join("fleet.parquet")).unwrap())
        .finish()
        .unwrap();
    assert_eq!(df.height(), 3);

    let (code, _, err) = fltblame(&["analyze", "--fleet", "/nonexistent/fleet"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/fleet: not a folder"), "{err}");
    let empty = tempfile::tempdir().unwrap();
    let (code, _, err) = fltblame(&[
        "analyze",
        "--fleet",
        s(empty.path()),
        "-o",
        s(&empty.path().join("o")),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("no machine found"), "{err}");
    // --fleet and inputs do not mix.
    let (code, _, _) = fltblame(&["analyze", "--fleet", s(fleet.path()), "x.pml"]);
    assert_eq!(code, 2);
}

/// A machine is anything `analyze` reads: a folder of a PML capture and its logs, a single ETL
/// trace, a zip of the folder.
#[test]
fn fleet_of_every_input_kind() {
    use std::io::Write;
    let fleet = tempfile::tempdir().unwrap();
    let a = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/case-a-amdk8");
    let pc_a = fleet.path().join("pc-a");
    std::fs::create_dir(&pc_a).unwrap();
    let mut bundle = ::zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for f in ["capture.pml", "CBS.log", "setupapi.dev.log", "README.md"] {
        std::fs::copy(a.join(f), pc_a.join(f)).unwrap();
        bundle
            .start_file(
                format!("bundle/{f}"),
                ::zip::write::SimpleFileOptions::default()
                    .compression_method(::zip::CompressionMethod::Deflated),
            )
            .unwrap();
        bundle
            .write_all(&std::fs::read(a.join(f)).unwrap())
            .unwrap();
    }
    std::fs::write(
        fleet.path().join("pc-c.zip"),
        bundle.finish().unwrap().into_inner(),
    )
    .unwrap();
    std::fs::copy(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("samples/case-b-softwaredistribution/trace.etl"),
        fleet.path().join("pc-b.etl"),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let (code, stdout, err) =
        fltblame(&["analyze", "--fleet", s(fleet.path()), "-o", s(out.path())]);
    assert_eq!(code, 0, "{stdout}\n{err}");
    assert!(
        stdout.contains("3 machine(s) — 3 filter, 0 no_filter, 0 undetermined, 0 error"),
        "{stdout}"
    );
    let df = ParquetReader::new(std::fs::File::open(out.path().join("fleet.parquet")).unwrap())
        .finish()
        .unwrap();
    let strs = |c: &str| -> Vec<String> {
        df.column(c)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(strs("machine"), ["pc-a", "pc-b", "pc-c"]);
    assert_eq!(strs("conclusion"), ["filter", "filter", "filter"]);
    assert_eq!(
        strs("driver"),
        ["krnlmgr.sys", "gscfmgr.sys", "krnlmgr.sys"]
    );
    let inputs: Vec<u32> = df
        .column("inputs")
        .unwrap()
        .u32()
        .unwrap()
        .iter()
        .map(Option::unwrap_or_default)
        .collect();
    // capture.pml, CBS.log and setupapi.dev.log (README.md is no input); the trace alone.
    assert_eq!(inputs, [3, 1, 3]);
    let events: Vec<u64> = df
        .column("events")
        .unwrap()
        .u64()
        .unwrap()
        .iter()
        .map(Option::unwrap_or_default)
        .collect();
    assert_eq!(events, [455, 32, 455]);
    // The zipped bundle gives the folder's verdict, and the logs reached it.
    let va: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("pc-a/verdict.json")).unwrap(),
    )
    .unwrap();
    let vc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("pc-c/verdict.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        va["suspects"][0]["confidence"],
        vc["suspects"][0]["confidence"]
    );
    assert_eq!(va["log_failures"].as_array().unwrap().len(), 8);
    assert_eq!(vc["log_failures"].as_array().unwrap().len(), 8);
    assert!(vc["inputs"][0]["path"]
        .as_str()
        .unwrap()
        .ends_with("pc-c.zip!bundle/capture.pml"));
}
