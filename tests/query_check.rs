//! `query`, `check` and `export --format parquet`: SQL over the tables of real captures, the
//! standard checks of `queries/` (findings, skips, exit codes, JUnit XML that parses), and the
//! Parquet tables read back by DuckDB (when `FLTBLAME_PYTHON` names a Python with `duckdb`).

mod common;

use common::*;
use fltblame::check::{self, Outcome};
use fltblame::query::{Catalog, QueryError};
use polars::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sample() -> PathBuf {
    root().join("samples/case-a-amdk8/capture.pml")
}

fn queries() -> PathBuf {
    root().join("queries")
}

/// Run the binary in the crate folder: (exit code, stdout, stderr).
fn fltblame(args: &[&str]) -> (i32, String, String) {
    outcome(fltblame_cmd().current_dir(root()).args(args))
}

/// A Python to parse XML with: `FLTBLAME_PYTHON`, else `python3`.
fn python() -> String {
    std::env::var("FLTBLAME_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Parse a JUnit file with Python's XML parser; per testcase: (name, kind, message, text) where
/// kind is `pass`, `failure`, `skipped` or `error`. Also the testsuite's attributes.
fn parse_junit(path: &Path) -> (serde_json::Value, Vec<(String, String, String, String)>) {
    let script = r#"
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
suites = root.findall("testsuite")
assert len(suites) == 1, len(suites)
cases = []
for tc in suites[0].findall("testcase"):
    kind, msg, text = "pass", "", ""
    for k in ("failure", "skipped", "error"):
        el = tc.find(k)
        if el is not None:
            kind, msg, text = k, el.get("message", ""), el.text or ""
    cases.append([tc.get("name"), kind, msg, text])
print(json.dumps({"suite": dict(suites[0].attrib), "cases": cases}))
"#;
    let out = Command::new(python())
        .args(["-c", script, s(path)])
        .output()
        .expect("python3 runs (it parses the JUnit XML)");
    assert!(
        out.status.success(),
        "JUnit XML does not parse: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(path).unwrap_or_default()
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cases = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let f = |i: usize| c[i].as_str().unwrap_or_default().to_string();
            (f(0), f(1), f(2), f(3))
        })
        .collect();
    (v["suite"].clone(), cases)
}

#[test]
fn query_denials_of_case_a_as_csv_json_and_table() {
    let sql = "SELECT event_id, time_utc, process_name, operation, object, status, status_name, servicing_relevant, acl_plausible FROM denials ORDER BY event_id";
    let (code, out, err) = fltblame(&["query", sql, s(&sample()), "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "event_id,time_utc,process_name,operation,object,status,status_name,servicing_relevant,acl_plausible\n\
         355,2024-09-10T02:44:38.2274571Z,invagent.exe,RegCreateKey,HKLM\\SOFTWARE\\Policies\\Contoso\\Inventory,3221225506,ACCESS DENIED,false,true\n\
         408,2024-09-10T02:44:43.9512418Z,TrustedInstaller.exe,RegSetValue,HKLM\\System\\CurrentControlSet\\Services\\AmdK8\\Start,3221225506,ACCESS DENIED,true,false\n"
    );
    let (code, out, err) = fltblame(&["query", sql, s(&sample()), "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["event_id"], 408);
    assert_eq!(rows[1]["status"], 0xC000_0022u32);
    assert_eq!(rows[1]["servicing_relevant"], true);
    assert_eq!(rows[1]["time_utc"], "2024-09-10T02:44:43.9512418Z");
    // The table text of polars, every column named.
    let (code, out, _) = fltblame(&["query", sql, s(&sample())]);
    assert_eq!(code, 0);
    assert!(out.starts_with("shape: (2, 9)"), "{out}");
    assert!(out.contains("TrustedInstaller.exe") && out.contains("acl_plausible"));
}

#[test]
fn query_file_and_the_other_tables() {
    // A .sql file is read; a GROUP BY over events agrees with `info`.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("count.sql");
    std::fs::write(
        &f,
        "-- events per class\nSELECT class, count(*) AS n FROM events GROUP BY class ORDER BY class",
    )
    .unwrap();
    let (code, out, err) = fltblame(&["query", s(&f), s(&sample()), "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let total: u64 = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["n"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 455);
    // frames join events: the nested RegOpenKey inside the denied write (event 409) has three
    // krnlmgr.sys frames; modules and processes are there.
    let (code, out, err) = fltblame(&[
        "query",
        "SELECT count(*) AS n FROM frames f JOIN events e ON f.stack_id = e.stack_id WHERE e.event_id = 409 AND f.module = 'krnlmgr.sys' AND f.kernel",
        s(&sample()),
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "n\n3\n");
    let (code, out, _) = fltblame(&[
        "query",
        "SELECT name, company FROM modules WHERE name = 'krnlmgr.sys'",
        s(&sample()),
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0);
    assert_eq!(out, "name,company\nkrnlmgr.sys,TMS\n");
    let (code, out, _) = fltblame(&[
        "query",
        "SELECT count(*) AS n FROM processes",
        s(&sample()),
        "--format",
        "csv",
    ]);
    assert_eq!((code, out.as_str()), (0, "n\n11\n"));
}

#[test]
fn query_errors_exit_2() {
    let (code, _, err) = fltblame(&["query", "SELECT * FROM log_lines", s(&sample())]);
    assert_eq!(code, 2);
    assert!(err.contains("log_lines is not in these inputs"), "{err}");
    let (code, _, err) = fltblame(&["query", "SELECT nope FROM events", s(&sample())]);
    assert_eq!(code, 2);
    assert!(err.contains("nope"), "{err}");
    let (code, _, err) = fltblame(&["query", "/nonexistent/q.sql", s(&sample())]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/q.sql"), "{err}");
    let (code, _, err) = fltblame(&["query", "SELECT 1", "/nonexistent/x.pml"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/x.pml"), "{err}");
}

#[test]
fn check_case_a_finds_and_writes_junit() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("check.xml");
    let (code, out, err) = fltblame(&[
        "check",
        "queries/",
        "samples/case-a-amdk8/capture.pml",
        "--junit",
        s(&junit),
    ]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("FINDING  servicing_process_denied: 1 row(s)"),
        "{out}"
    );
    assert!(out.contains("FINDING  trustedinstaller_services_key_denied: 1 row(s)"));
    // The header comment is printed with the finding, and the row.
    assert!(out
        .contains("  | A servicing operation was denied where an ordinary ACL would not deny it."));
    assert!(out.contains("HKLM\\System\\CurrentControlSet\\Services\\AmdK8\\Start"));
    assert!(
        out.contains("2 finding(s), 1 passed, 2 skipped, 0 broken"),
        "{out}"
    );
    let (suite, cases) = parse_junit(&junit);
    assert_eq!(suite["tests"], "5");
    assert_eq!(suite["failures"], "2");
    assert_eq!(suite["skipped"], "2");
    assert_eq!(suite["errors"], "0");
    let kinds: Vec<(&str, &str)> = cases.iter().map(|c| (c.0.as_str(), c.1.as_str())).collect();
    assert_eq!(
        kinds,
        [
            ("cab_extraction_denied", "pass"),
            ("driver_queue_result_5", "skipped"),
            ("minifilter_access_denied", "skipped"),
            ("servicing_process_denied", "failure"),
            ("trustedinstaller_services_key_denied", "failure"),
        ]
    );
    let f = &cases[3];
    assert_eq!(
        f.2,
        "1 row(s): A servicing operation was denied where an ordinary ACL would not deny it."
    );
    assert!(f.3.contains("event_id,time_utc,process_name"), "{}", f.3);
    assert!(
        f.3.contains("408,2024-09-10T02:44:43.9512418Z,TrustedInstaller.exe,1432,RegSetValue,HKLM\\System\\CurrentControlSet\\Services\\AmdK8\\Start,ACCESS DENIED"),
        "{}",
        f.3
    );
    assert!(cases[1].2.contains("log_lines"));
    assert!(cases[2].2.contains("callbacks"));
}

#[test]
fn check_corpus_process_capture_passes() {
    let pml = corpus_pml("CompressedLogFileUTC64Process");
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("j.xml");
    let (code, out, err) = fltblame(&["check", "queries/", s(&pml), "--junit", s(&junit)]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("0 finding(s), 3 passed, 2 skipped, 0 broken"),
        "{out}"
    );
    let (suite, cases) = parse_junit(&junit);
    assert_eq!(suite["failures"], "0");
    assert_eq!(cases.len(), 5);
    assert!(cases.iter().all(|c| c.1 == "pass" || c.1 == "skipped"));
}

#[test]
fn check_uses_queries_folder_by_default_and_refuses_bad_input() {
    // No query folder given: `queries/` of the working folder.
    let (code, out, _) = fltblame(&["check", "samples/case-a-amdk8/capture.pml"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("queries of queries over samples/case-a-amdk8/capture.pml"),
        "{out}"
    );
    let (code, _, err) = fltblame(&["check", "queries/"]);
    assert_eq!(code, 2);
    assert!(err.contains("no input given"), "{err}");
    let (code, _, err) = fltblame(&["check", "queries/", "/nonexistent/x.pml"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/x.pml"), "{err}");
    // A folder without .sql files is not a query folder, and `queries/` is not in a temp dir.
    let empty = tempfile::tempdir().unwrap();
    let out = fltblame_cmd()
        .current_dir(empty.path())
        .args(["check", s(&sample())])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no folder of .sql queries"));
}

#[test]
fn check_escapes_xml_and_reports_broken_queries() {
    let dir = tempfile::tempdir().unwrap();
    let q = dir.path().join("q");
    std::fs::create_dir(&q).unwrap();
    std::fs::write(
        q.join("a_markup.sql"),
        "-- Rows with <markup> & \"quotes\" ]]> in them.\nSELECT '<b>&amp;</b> \"x\" ]]>' AS text, event_id FROM denials WHERE event_id = 408",
    )
    .unwrap();
    std::fs::write(
        q.join("b_broken.sql"),
        "-- Broken.\nSELECT no_such_column FROM events",
    )
    .unwrap();
    std::fs::write(q.join("notes.txt"), "not a query").unwrap();
    let junit = dir.path().join("j.xml");
    let (code, out, _) = fltblame(&["check", s(&q), s(&sample()), "--junit", s(&junit)]);
    assert_eq!(code, 2, "a broken query is bad input: {out}");
    assert!(out.contains("ERROR    b_broken:"), "{out}");
    let (suite, cases) = parse_junit(&junit);
    assert_eq!(
        (suite["tests"].as_str(), suite["errors"].as_str()),
        (Some("2"), Some("1"))
    );
    assert_eq!(cases[0].1, "failure");
    assert_eq!(
        cases[0].2,
        "1 row(s): Rows with <markup> & \"quotes\" ]]> in them."
    );
    assert!(
        cases[0].3.contains("\"<b>&amp;</b> \"\"x\"\" ]]>\",408"),
        "{}",
        cases[0].3
    );
    assert_eq!(cases[1].1, "error");
    assert!(cases[1].3.contains("no_such_column"), "{}", cases[1].3);
}

/// Synthetic `log_lines` and `callbacks` rows (the tables the readers will give): the two
/// skipped standard queries find exactly the case lines and nothing else.
#[test]
fn skipped_queries_find_their_case_in_the_absent_tables() {
    let mut catalog = Catalog::load(&[sample()]).unwrap();
    let texts = [
        "Doqe: [Forward] Installing driver updates, Count 1",
        "INSTALL index: 0, phase: 1, result 0, inf: cpu.inf",
        "INSTALL index: 0, phase: 2, result 5, inf: cpu.inf",
        "UNSTAGE index: 265, phase: 1, result 5, inf: cpu.inf",
        "INSTALL index: 0, phase: 2, result 50, inf: cpu.inf",
        "DriverUpdateInstallUpdates failed [HRESULT = 0x80070005 - E_ACCESSDENIED]",
    ];
    let n = texts.len();
    let t = |v: Vec<i64>| -> Column {
        Series::new("time_utc".into(), v)
            .cast(&DataType::Datetime(
                TimeUnit::Nanoseconds,
                Some(TimeZone::UTC),
            ))
            .unwrap()
            .into()
    };
    let log_lines = DataFrame::new(
        n,
        vec![
            t((0..n as i64)
                .map(|i| 1_725_936_275_000_000_000 + i)
                .collect()),
            Column::new("source".into(), vec!["cbs"; n]),
            Column::new("line".into(), (1..=n as u32).collect::<Vec<_>>()),
            Column::new("component".into(), vec!["CBS"; n]),
            Column::new("level".into(), vec!["Info"; n]),
            Column::new("text".into(), texts.to_vec()),
            Column::new("hresult".into(), vec![None::<u32>; n]),
            Column::new("signature".into(), vec![None::<&str>; n]),
            Column::new("object".into(), vec!["cpu.inf"; n]),
        ],
    )
    .unwrap();
    catalog.insert("log_lines", log_lines);
    let callbacks = DataFrame::new(
        3,
        vec![
            t(vec![1, 2, 3]),
            Column::new("irp".into(), [1u64, 1, 2]),
            Column::new("callback_data".into(), [10u64, 11, 12]),
            Column::new("file_object".into(), [100u64, 100, 101]),
            Column::new("path".into(), ["C:\\a\\wpdmtp.dll"; 3]),
            Column::new("major_function".into(), ["IRP_MJ_CREATE"; 3]),
            Column::new("phase".into(), ["pre"; 3]),
            Column::new(
                "driver".into(),
                ["PROCMON24.SYS", "gscfmgr.sys", "TmPreFlt.sys"],
            ),
            Column::new("routine".into(), [0xfffff800u64, 0xfffff900, 0xfffffa00]),
            Column::new("status".into(), [0u32, 0xC000_0022, 0]),
            Column::new("duration_ns".into(), [1500i64, 1600, 1300]),
            Column::new("pid".into(), [4u32; 3]),
            Column::new("tid".into(), [8u32; 3]),
        ],
    )
    .unwrap();
    catalog.insert("callbacks", callbacks);
    let qs = check::load_queries(&queries()).unwrap();
    let results = check::run_queries(&catalog, &qs);
    let by = |name: &str| {
        results
            .iter()
            .find(|r| r.query.name == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    match &by("driver_queue_result_5").outcome {
        Outcome::Finding(df) => {
            assert_eq!(df.height(), 2);
            let text: Vec<String> = df
                .column("text")
                .unwrap()
                .str()
                .unwrap()
                .iter()
                .map(|v| v.unwrap_or_default().to_string())
                .collect();
            assert_eq!(text, [texts[2], texts[3]]);
        }
        o => panic!("{o:?}"),
    }
    match &by("minifilter_access_denied").outcome {
        Outcome::Finding(df) => {
            assert_eq!(df.height(), 1);
            let d = df.column("driver").unwrap().str().unwrap().get(0);
            assert_eq!(d, Some("gscfmgr.sys"));
        }
        o => panic!("{o:?}"),
    }
    // Every standard query has a header comment saying what it finds and why it matters.
    assert_eq!(qs.len(), 5);
    for q in &qs {
        assert!(
            q.header.contains("Why it matters"),
            "{}: {}",
            q.name,
            q.header
        );
    }
    assert!(matches!(
        Catalog::default().run("SELECT * FROM callbacks"),
        Err(QueryError::Absent(_))
    ));
}

#[test]
fn cab_extraction_query_finds_a_denied_expansion() {
    // A denial table with one case-B row and two that must not match.
    let mut catalog = Catalog::default();
    let df = df!(
        "event_id" => [1u64, 2, 3],
        "class" => ["File System", "File System", "File System"],
        "acl_plausible" => [false, true, false],
        "process_name" => ["TiWorker.exe", "notepad.exe", "TiWorker.exe"],
        "pid" => [900u32, 901, 900],
        "operation" => ["CreateFile", "CreateFile", "CreateFile"],
        "path" => [
            "C:\\Windows\\SoftwareDistribution\\Download\\126a\\inst\\_Windows10.0-KB5016623-x64.cab_\\amd64_dual_wpdmtp.inf\\r\\wpdmtp.dll",
            "C:\\Windows\\SoftwareDistribution\\Download\\x.cab",
            "C:\\Windows\\Temp\\y.cab",
        ],
        "status_name" => ["ACCESS DENIED", "ACCESS DENIED", "ACCESS DENIED"],
        "time_utc" => [1i64, 2, 3],
    )
    .unwrap();
    catalog.insert("denials", df);
    let sql = std::fs::read_to_string(queries().join("cab_extraction_denied.sql")).unwrap();
    let out = catalog.run(&sql).unwrap();
    assert_eq!(
        out.column("event_id").unwrap().u64().unwrap().get(0),
        Some(1)
    );
    assert_eq!(out.height(), 1);
}

#[test]
fn parquet_tables_read_back_with_the_same_counts() {
    let pml = corpus_pml("CompressedLogFileUTC64Registry");
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::load(std::slice::from_ref(&pml)).unwrap();
    let (code, info, err) = fltblame(&["info", s(&pml), "--json"]);
    assert_eq!(code, 0, "{err}");
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    let events = info["events"].as_u64().unwrap();
    assert_eq!(catalog.get("events").unwrap().height() as u64, events);
    let tables = ["events", "frames", "modules", "processes", "denials"];
    let mut expected = Vec::new();
    for t in tables {
        let f = dir.path().join(format!("{t}.parquet"));
        let (code, _, err) = fltblame(&[
            "export",
            s(&pml),
            "--format",
            "parquet",
            "--table",
            t,
            "-o",
            s(&f),
        ]);
        assert_eq!(code, 0, "{t}: {err}");
        let want = catalog.get(t).unwrap().height();
        assert!(want > 0, "{t} is empty in this capture");
        // polars reads it back: same rows and schema.
        let back = ParquetReader::new(std::fs::File::open(&f).unwrap())
            .finish()
            .unwrap();
        assert_eq!(back.height(), want, "{t}");
        assert_eq!(back.schema(), catalog.get(t).unwrap().schema(), "{t}");
        expected.push((t, want, f));
    }
    let Some(py) = duckdb_python() else {
        println!("skipped DuckDB read-back: set FLTBLAME_PYTHON to a python with duckdb (python3 -m venv .venv && .venv/bin/pip install duckdb)");
        return;
    };
    let script = r#"
import duckdb, json, sys
con = duckdb.connect()
out = {}
for t, f in zip(sys.argv[1::2], sys.argv[2::2]):
    out[t] = con.execute(f"SELECT count(*) FROM read_parquet('{f}')").fetchone()[0]
out["events_time_type"] = con.execute(f"SELECT typeof(time_utc) FROM read_parquet('{sys.argv[2]}') LIMIT 1").fetchone()[0]
out["access_denied"] = con.execute(f"SELECT count(*) FROM read_parquet('{sys.argv[2]}') WHERE status = 3221225506").fetchone()[0]
print(json.dumps(out))
"#;
    let mut args = vec!["-c".to_string(), script.to_string()];
    for (t, _, f) in &expected {
        args.push(t.to_string());
        args.push(f.display().to_string());
    }
    let out = Command::new(&py).args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for (t, want, _) in &expected {
        assert_eq!(v[*t].as_u64(), Some(*want as u64), "DuckDB rows of {t}");
    }
    assert_eq!(v["events"].as_u64(), Some(events));
    assert!(
        v["events_time_type"]
            .as_str()
            .unwrap()
            .starts_with("TIMESTAMP"),
        "{v}"
    );
    let denied = catalog
        .run("SELECT count(*) AS n FROM events WHERE status = 3221225506")
        .unwrap();
    let n = denied.column("n").unwrap().get(0).unwrap();
    assert_eq!(
        v["access_denied"].as_u64(),
        Some(n.extract::<u64>().unwrap())
    );
    println!("DuckDB read the 5 Parquet tables back with the same counts: {v}");
}

#[test]
fn export_parquet_refuses_unknown_table_and_terminal() {
    let (code, _, err) = fltblame(&[
        "export",
        s(&sample()),
        "--format",
        "parquet",
        "--table",
        "nope",
        "-o",
        "/tmp/never-written.parquet",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains(
            "--table nope: no such table (tables: denials, events, frames, modules, processes)"
        ),
        "{err}"
    );
    let (code, _, err) = fltblame(&["export", s(&sample()), "--table", "frames"]);
    assert_eq!(code, 2);
    assert!(err.contains("--table is for --format parquet"), "{err}");
}
