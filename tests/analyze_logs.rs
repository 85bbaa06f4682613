//! `analyze` with servicing logs: one UTC timeline (`log_lines`), log failures corroborating the
//! trace denial on the same object (`log_corroboration`), capture diagnostics, and the logs-only
//! conclusions (`undetermined` for a denial kind, `no_filter` for store corruption).

mod common;

use common::*;
use fltblame::input::{load_with, LoadOptions};
use fltblame::verdict::{analyze, Conclusion, Verdict};
use polars::prelude::*;
use std::path::PathBuf;

fn case_a_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/case-a-amdk8")
}

/// The case-A sample files, written fresh from the generator into a temp folder (so the test
/// does not depend on the committed copies being current; `samples_up_to_date` checks those).
fn case_a_generated() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = fltblame::samples::generate_all()
        .into_iter()
        .filter(|(rel, _)| rel.starts_with("case-a-amdk8/"))
        .map(|(rel, bytes)| {
            let name = rel.trim_start_matches("case-a-amdk8/").to_string();
            std::fs::write(dir.path().join(&name), bytes).unwrap();
            name
        })
        .collect();
    for n in ["capture.pml", "CBS.log", "setupapi.dev.log"] {
        assert!(names.iter().any(|x| x == n), "generator makes {n}");
    }
    dir
}

fn run(paths: &[PathBuf], utc_offset: Option<i32>) -> (fltblame::tables::Tables, Verdict) {
    let t = load_with(
        paths,
        &LoadOptions {
            utc_offset,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    let v = analyze(&t).unwrap();
    (t, v)
}

#[test]
fn case_a_folder_logs_corroborate_the_krnlmgr_verdict() {
    let (t, v) = run(&[case_a_dir()], None);
    assert_eq!(v.conclusion, Conclusion::Filter);
    assert_eq!(v.driver.as_deref(), Some("krnlmgr.sys"));

    // The offset comes from the CBS CSI `@` stamps: UTC+08:00.
    let off = v.log_utc_offset.as_ref().expect("offset");
    assert_eq!((off.minutes, off.text.as_str()), (480, "+08:00"));
    assert!(off.source.contains("CSI @"), "{}", off.source);
    assert_eq!(v.log_files.len(), 2);
    assert!(
        v.intake_notes
            .iter()
            .any(|n| n.contains("1 file(s) skipped") && n.contains("README.md")),
        "{:?}",
        v.intake_notes
    );

    // The setupapi line inside {Add Service: AmdK8} corroborates the denied RegSetValue.
    let c = v
        .log_corroboration
        .iter()
        .find(|c| c.line == 38)
        .unwrap_or_else(|| panic!("{:#?}", v.log_corroboration));
    assert_eq!(c.event_id, 408);
    assert!(c.file.ends_with("setupapi.dev.log"));
    assert_eq!(c.text, "Failed to set Start Type. Error = 0x00000005");
    assert_eq!(
        c.object,
        r"HKLM\SYSTEM\CurrentControlSet\Services\AmdK8\Start"
    );
    assert_eq!(
        c.path,
        r"HKLM\System\CurrentControlSet\Services\AmdK8\Start"
    );
    assert_eq!(c.time_utc, "2024-09-10T02:44:43.949000Z");
    assert!((c.delta_ms - -2.2418).abs() < 0.001, "{}", c.delta_ms);
    assert_eq!((c.kind.as_str(), c.weight), ("log_corroboration", 0.0));
    assert!(c.detail.contains("says nothing about which driver"));
    // Only the denial's object corroborates: the ACL-plausible Policies denial has no log line,
    // and CBS's cpu.inf lines name another object.
    assert!(v.log_corroboration.iter().all(|c| c.event_id == 408));
    assert!(v
        .log_corroboration
        .iter()
        .all(|c| c.file.ends_with("setupapi.dev.log")));
    // It corroborates the denial, not the driver: no driver's score contains it.
    for s in &v.suspects {
        assert!(s.evidence.iter().all(|e| e.kind != "log_corroboration"));
    }
    let named = v.named().unwrap();
    assert!(
        (named.confidence - 0.96).abs() < 0.01,
        "{}",
        named.confidence
    );

    // The classified failures, on UTC.
    let install = v
        .log_failures
        .iter()
        .find(|f| f.file.ends_with("CBS.log") && f.line == 33)
        .expect("CBS INSTALL line");
    assert_eq!(install.signature, "driver_queue_denied");
    assert_eq!(install.object.as_deref(), Some("cpu.inf"));
    assert_eq!(install.code.as_deref(), Some("0x80070005"));
    assert_eq!(
        install.time_utc.as_deref(),
        Some("2024-09-10T02:44:44.000000Z")
    );
    assert_eq!(
        install.time_local.as_deref(),
        Some("2024-09-10 10:44:44.000")
    );
    assert!(install.filter_possible);
    assert!(install.fix.contains("boot log"), "{}", install.fix);
    let marked = v
        .log_failures
        .iter()
        .find(|f| f.signature == "package_failed")
        .unwrap();
    assert_eq!(
        marked.object.as_deref(),
        Some("Package_63_for_KB4474419~31bf3856ad364e35~x86~~6.1.3.2")
    );
    // A boot capture that spans the failure and touches its objects: nothing to diagnose.
    assert!(v.diagnostics.is_empty(), "{:#?}", v.diagnostics);

    // log_lines: one row per parsed line, UTC times, signature and object of the classifier.
    let ll = &t.logs.log_lines;
    let names: Vec<&str> = ll.get_column_names().iter().map(|n| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "time_utc",
            "source",
            "line",
            "component",
            "level",
            "text",
            "hresult",
            "signature",
            "object"
        ]
    );
    assert_eq!(
        ll.column("time_utc").unwrap().dtype(),
        &DataType::Datetime(TimeUnit::Nanoseconds, Some(TimeZone::UTC))
    );
    let row = ll
        .clone()
        .lazy()
        .filter(
            col("source")
                .eq(lit("setupapi.dev.log"))
                .and(col("line").eq(lit(38u64))),
        )
        .collect()
        .unwrap();
    assert_eq!(row.height(), 1);
    let s = |c: &str| {
        row.column(c)
            .unwrap()
            .str()
            .unwrap()
            .get(0)
            .map(str::to_string)
    };
    assert_eq!(s("component").as_deref(), Some("sto"));
    assert_eq!(s("level").as_deref(), Some("Error"));
    assert_eq!(s("signature").as_deref(), Some("driver_queue_denied"));
    assert_eq!(
        s("object").as_deref(),
        Some(r"HKLM\SYSTEM\CurrentControlSet\Services\AmdK8\Start")
    );
    let tn = row
        .column("time_utc")
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap()
        .i64()
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(
        chrono::DateTime::from_timestamp_nanos(tn).to_rfc3339(),
        "2024-09-10T02:44:43.949+00:00"
    );
    let hr = row.column("hresult").unwrap().u32().unwrap().get(0);
    assert_eq!(hr, Some(0x8007_0005));
    // CBS rows: 40 lines, each with a time (every entry has one), component CBS or CSI.
    let cbs = ll
        .clone()
        .lazy()
        .filter(col("source").eq(lit("CBS.log")))
        .collect()
        .unwrap();
    assert_eq!(cbs.height(), 40);
    assert_eq!(cbs.column("time_utc").unwrap().null_count(), 0);

    // The standard query over log_lines finds the CBS driver-queue line.
    let sql = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("queries/driver_queue_result_5.sql"),
    )
    .unwrap();
    let df = fltblame::query::Catalog::from_tables(&t)
        .unwrap()
        .run(&sql)
        .unwrap();
    assert_eq!(df.height(), 1);
    assert_eq!(
        df.column("text").unwrap().str().unwrap().get(0),
        Some("INSTALL index: 0, phase: 2, result 5, inf: cpu.inf")
    );
    assert_eq!(
        df.column("object").unwrap().str().unwrap().get(0),
        Some("cpu.inf")
    );
}

#[test]
fn generated_case_a_matches_and_report_shows_logs_beside_the_denial() {
    let dir = case_a_generated();
    let (t, v) = run(&[dir.path().to_path_buf()], None);
    assert_eq!(v.driver.as_deref(), Some("krnlmgr.sys"));
    assert_eq!(v.log_corroboration.len(), 2);
    let html = fltblame::report::render_html(&v, &t).unwrap();
    assert!(html.contains(r#"<section id="logs">"#));
    assert!(html.contains(r#"data-log-line="38""#));
    assert!(html.contains("Failed to set Start Type. Error = 0x00000005"));
    // The corroborating row sits in the denial's own table body, right after its rows.
    let body = html.find(r#"data-log-line="38""#).unwrap();
    let denial = html[..body].rfind(r#"<tbody class="denial"#).unwrap();
    assert!(html[denial..body].contains("<td class=\"num\">408</td>"));
    assert!(!html.contains("the servicing logs (CBS.log, setupapi.dev.log)"));
    let zh = fltblame::report::render_report(
        &v,
        &t,
        &fltblame::report::ReportOptions {
            lang: "zh-CN".parse().unwrap(),
            ..Default::default()
        },
    )
    .unwrap()
    .html;
    assert!(zh.contains("维护日志") && zh.contains(r#"data-log-line="38""#));
    let json = serde_json::to_value(&v).unwrap();
    let lf = json["log_failures"].as_array().unwrap();
    assert_eq!(lf.len(), 8);
    for k in [
        "signature",
        "object",
        "time_utc",
        "file",
        "line",
        "text",
        "filter_possible",
        "fix",
    ] {
        assert!(lf[0].get(k).is_some(), "log_failures[] has {k}");
    }
    assert!(json["diagnostics"].as_array().unwrap().is_empty());
}

#[test]
fn utc_offset_option_overrides_the_inferred_offset() {
    // With +00:00 the log failures move 8 hours away from the capture: no corroboration, and
    // the diagnostics say the capture missed them.
    let (_, v) = run(&[case_a_dir()], Some(0));
    let off = v.log_utc_offset.as_ref().unwrap();
    assert_eq!((off.minutes, off.source.as_str()), (0, "--utc-offset"));
    let st = v
        .log_failures
        .iter()
        .find(|f| f.line == 38 && f.file.ends_with("setupapi.dev.log"))
        .unwrap();
    assert_eq!(st.time_utc.as_deref(), Some("2024-09-10T10:44:43.949000Z"));
    assert!(v.log_corroboration.is_empty());
    assert!(v
        .diagnostics
        .iter()
        .any(|d| d.code == "capture_missed_window"));
    // The trace evidence still names the driver.
    assert_eq!(v.driver.as_deref(), Some("krnlmgr.sys"));
}

#[test]
fn logs_only_give_the_classification_and_the_capture_to_take() {
    let d = case_a_dir();
    let (t, v) = run(&[d.join("CBS.log"), d.join("setupapi.dev.log")], None);
    assert_eq!(t.events.height(), 0);
    assert!(v.inputs.is_empty());
    assert_eq!(v.conclusion, Conclusion::Undetermined);
    assert!(
        v.reason.contains("access denial a filter driver can cause")
            && v.reason.contains("No trace was given"),
        "{}",
        v.reason
    );
    assert_eq!(v.log_failures.len(), 8);
    assert!(v.log_failures.iter().all(|f| f.filter_possible));
    let diag = &v.diagnostics[0];
    assert_eq!(diag.code, "logs_only");
    assert!(diag.advice.contains("boot log"), "{}", diag.advice);
    assert!(
        v.advice.iter().any(|a| a.contains("Registry I/O")),
        "{:?}",
        v.advice
    );
}

#[test]
fn store_corruption_alone_is_not_a_filter_problem() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("CBS.log");
    std::fs::write(
        &p,
        "2023-12-13 10:00:00, Info                  CSI    00000122@2023/12/13:02:00:00.120 WcpInitialize (wcp.dll version 0.0.0.6) called\r\n\
         2023-12-13 10:00:01, Error                 CBS    Failed to resolve package [HRESULT = 0x80073712 - ERROR_SXS_COMPONENT_STORE_CORRUPT]\r\n",
    )
    .unwrap();
    let (_, v) = run(&[p], None);
    assert_eq!(v.conclusion, Conclusion::NoFilter);
    assert!(v.reason.starts_with("Not a filter problem"), "{}", v.reason);
    assert!(v.reason.contains("store_corruption"), "{}", v.reason);
    assert_eq!(v.log_failures.len(), 1);
    let f = &v.log_failures[0];
    assert!(!f.filter_possible);
    assert_eq!(f.time_utc.as_deref(), Some("2023-12-13T02:00:01.000000Z"));
    assert!(
        v.advice.iter().any(|a| a.contains("chkdsk")),
        "{:?}",
        v.advice
    );
    assert!(v.diagnostics.is_empty());
}

#[test]
fn diagnostics_say_a_capture_from_another_time_missed_the_failure() {
    let pml = corpus_pml("CompressedLogFileUTC64Process");
    if !pml.exists() {
        eprintln!("corpus not available: skipped");
        return;
    }
    let d = case_a_dir();
    let (t, v) = run(
        &[pml.clone(), d.join("CBS.log"), d.join("setupapi.dev.log")],
        None,
    );
    let first = t.inputs[0].first_utc.clone().unwrap();
    assert!(first.starts_with("2020"), "{first}");
    assert!(v.log_corroboration.is_empty());
    let missed: Vec<_> = v
        .diagnostics
        .iter()
        .filter(|d| d.code == "capture_missed_window")
        .collect();
    assert!(!missed.is_empty(), "{:#?}", v.diagnostics);
    let m = &missed[0];
    assert!(
        m.message.contains("2024-09-10 02:44")
            && m.message.contains("outside the capture")
            && m.message.contains("2020-"),
        "{}",
        m.message
    );
    assert!(m.advice.contains("boot"), "{}", m.advice);
    // The driver-queue failure happens at reboot and this capture does not start at boot.
    assert!(
        v.diagnostics.iter().any(|d| d.code == "not_a_boot_log"),
        "{:#?}",
        v.diagnostics
    );
    assert!(v.advice.iter().any(|a| a.contains("ConvertBootLog")));
}

#[test]
fn cli_takes_the_folder_and_utc_offset() {
    let out = tempfile::tempdir().unwrap();
    let o = fltblame_cmd()
        .args(["analyze", "--utc-offset", "+08:00", "-o"])
        .arg(out.path())
        .arg(case_a_dir())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("FILTER: krnlmgr.sys"), "{text}");
    assert!(
        text.contains("log times: UTC+08:00 from --utc-offset"),
        "{text}"
    );
    assert!(
        text.contains("#408 <- setupapi.dev.log:38 2024-09-10T02:44:43.949000Z (-2 ms): Failed to set Start Type. Error = 0x00000005"),
        "{text}"
    );
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("verdict.json")).unwrap()).unwrap();
    assert_eq!(v["log_corroboration"][0]["event_id"], 408);
    let bad = fltblame_cmd()
        .args(["analyze", "--utc-offset", "+25:00"])
        .arg(case_a_dir())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no UTC offset"));
}

#[test]
fn diagnostics_say_the_capture_holds_no_operation_on_the_failing_object() {
    // A cab extraction denied (case B's CBS line) inside case A's capture window: the capture
    // spans the time but never touches the cab, as when the files were already expanded.
    let dir = tempfile::tempdir().unwrap();
    let cbs = dir.path().join("CBS.log");
    std::fs::write(
        &cbs,
        "2024-09-10 10:44:40, Info                  CSI    00000005@2024/9/10:02:44:40.100 CSI Transaction @0x2c1d3f0 destroyed\r\n\
         2024-09-10 10:44:40, Info                  CBS    Failed to extract files from cabinet \\\\?\\C:\\WINDOWS\\SoftwareDistribution\\Download\\0d0a8a4c61ea8935e1c01bdac8bbb7d1\\inst\\_Windows10.0-KB5015811-x64.cab_\\Cab_3_for_KB5015811_PSFX.cab [HRESULT = 0x80070005 - E_ACCESSDENIED]\r\n",
    )
    .unwrap();
    let (_, v) = run(&[case_a_dir().join("capture.pml"), cbs], None);
    let f = &v.log_failures[0];
    assert_eq!(f.signature, "file_extract_denied");
    assert_eq!(f.time_utc.as_deref(), Some("2024-09-10T02:44:40.000000Z"));
    assert!(f
        .object
        .as_deref()
        .unwrap()
        .starts_with(r"C:\WINDOWS\SoftwareDistribution"));
    assert!(v.log_corroboration.is_empty());
    let d = v
        .diagnostics
        .iter()
        .find(|d| d.code == "object_not_captured")
        .unwrap_or_else(|| panic!("{:#?}", v.diagnostics));
    assert!(
        d.message.contains("Cab_3_for_KB5015811_PSFX.cab")
            && d.message.contains("holds no operation on that object"),
        "{}",
        d.message
    );
    assert!(
        d.advice
            .contains("rename C:\\Windows\\SoftwareDistribution"),
        "{}",
        d.advice
    );
    assert!(v
        .diagnostics
        .iter()
        .all(|d| d.code != "capture_missed_window"));
    // The trace's own verdict is unchanged.
    assert_eq!(v.driver.as_deref(), Some("krnlmgr.sys"));
}

#[test]
fn fltmc_output_in_the_folder_becomes_the_reports_filter_stack() {
    let dir = case_a_generated();
    std::fs::write(
        dir.path().join("fltmc.txt"),
        "\r\nFilter Name                     Num Instances    Altitude    Frame\r\n\
         ------------------------------  -------------  ------------  -----\r\n\
         PROCMON24                               2       385200         0\r\n\
         FileInfo                                2       45000          0\r\n",
    )
    .unwrap();
    let (t, v) = run(&[dir.path().to_path_buf()], None);
    assert_eq!(
        t.logs.fltmc,
        vec![
            ("PROCMON24".to_string(), Some("385200".to_string()), Some(2)),
            ("FileInfo".to_string(), Some("45000".to_string()), Some(2)),
        ]
    );
    assert!(v.log_files.iter().any(|f| f.kind == "fltmc"));
    assert_eq!(v.driver.as_deref(), Some("krnlmgr.sys"));
    let html = fltblame::report::render_html(&v, &t).unwrap();
    assert!(html.contains("Altitudes and instances from the machine"));
    assert!(html.contains("385200"));
}
