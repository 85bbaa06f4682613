//! Evidence-only PML (`export --format pml --evidence verdict.json`): the case-A excerpt holds the
//! denied RegSetValue, the events its evidence rests on and the window around them, nothing from
//! outside that window, and reads back with our reader and with procmon-parser.

mod common;

use common::fltblame;
use fltblame::pml::row::render;
use fltblame::pml::Pml;
use std::process::Command;

#[test]
fn case_a_excerpt_holds_the_evidence_and_its_window_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/samples/case-a-amdk8/capture.pml"
    );
    assert_eq!(
        fltblame(&["analyze", sample, "-o", out.to_str().unwrap()]).0,
        0
    );
    let verdict_path = out.join("verdict.json");
    let ev_pml = dir.path().join("evidence.pml");
    let (code, _, err) = fltblame(&[
        "export",
        sample,
        "--format",
        "pml",
        "--evidence",
        verdict_path.to_str().unwrap(),
        "--window-ms",
        "200",
        "-o",
        ev_pml.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");

    let full = Pml::open(std::path::Path::new(sample)).unwrap();
    let small = Pml::open(&ev_pml).unwrap();
    assert!(small.warnings.is_empty(), "{:?}", small.warnings);
    let verdict: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&verdict_path).unwrap()).unwrap();
    let ids = fltblame::pml::excerpt::evidence_events(&verdict, "capture.pml").unwrap();
    assert!(ids.len() >= 10, "{ids:?}");
    // Rows as Procmon prints them (time, process, pid, operation, path, result, detail).
    let rows = |p: &Pml, i: usize| {
        let r = render(p, &p.event(i).unwrap(), p.first_time());
        r[..7].to_vec()
    };
    let small_rows: Vec<Vec<String>> = (0..small.event_count()).map(|i| rows(&small, i)).collect();
    // Every evidence event is there, identical.
    for &i in &ids {
        assert!(
            small_rows.contains(&rows(&full, i)),
            "evidence event {i} missing"
        );
    }
    // The denied RegSetValue of case A.
    assert!(small_rows.iter().any(|r| r[1] == "TrustedInstaller.exe"
        && r[3] == "RegSetValue"
        && r[4] == r"HKLM\System\CurrentControlSet\Services\AmdK8\Start"
        && r[5] == "ACCESS DENIED"));
    // Nothing from outside the windows: each kept event lies within 200 ms of an evidence event.
    let anchors: Vec<u64> = ids.iter().map(|&i| full.event(i).unwrap().time).collect();
    for i in 0..small.event_count() {
        let t = small.event(i).unwrap().time;
        assert!(
            anchors.iter().any(|&a| a.abs_diff(t) <= 2_000_000),
            "event {i} outside every window"
        );
    }
    let outside = (0..full.event_count())
        .filter(|&i| {
            let t = full.event(i).unwrap().time;
            anchors.iter().all(|&a| a.abs_diff(t) > 2_000_000)
        })
        .count();
    assert!(outside > 0 && small.event_count() + outside == full.event_count());
    // Only the processes the kept events name (and System).
    assert!(small.processes.len() < full.processes.len());
    assert!(small.system_process().is_some());

    // procmon-parser reads it back with the same events (when the oracle venv is there).
    let Some(py) = std::env::var_os("FLTBLAME_PYTHON") else {
        println!("procmon-parser read-back skipped: FLTBLAME_PYTHON not set");
        return;
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/read_pml.py");
    let o = Command::new(py).arg(script).arg(&ev_pml).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    let mut lines = text.lines();
    let head: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(
        head["event_count"].as_u64().unwrap() as usize,
        small.event_count()
    );
    for (i, l) in lines.enumerate() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["operation"], small_rows[i][3].as_str(), "event {i}");
        assert_eq!(v["path"], small_rows[i][4].as_str(), "event {i}");
        assert_eq!(v["pid"].to_string(), small_rows[i][2], "event {i}");
    }
}
