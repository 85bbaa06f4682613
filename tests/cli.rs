//! The command line on good and bad input: exit codes, messages naming the file and what to do,
//! and the outputs' formats.

mod common;

use common::*;

#[test]
fn empty_file_is_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("empty.pml");
    std::fs::write(&p, b"").unwrap();
    let (code, _, err) = fltblame(&["info", p.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("empty.pml") && err.contains("not a Process Monitor log"),
        "{err}"
    );
}

#[test]
fn wrong_format_is_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("notes.pml");
    // Neither a capture nor a log of any kind fltblame reads.
    std::fs::write(&p, b"\x7fELF\x02\x01\x01 this is not a capture\n").unwrap();
    for cmd in ["info", "export", "analyze"] {
        let (code, _, err) = fltblame(&[cmd, p.to_str().unwrap()]);
        assert_eq!(code, 2, "{cmd}");
        assert!(err.contains("notes.pml"), "{cmd}: {err}");
    }
}

#[test]
fn raw_boot_log_gets_the_conversion_command() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("procmon.pmb");
    std::fs::write(&p, [0x11u8; 4096]).unwrap();
    let (code, _, err) = fltblame(&["analyze", p.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("/ConvertBootLog"), "{err}");
}

#[test]
fn missing_file_exit_2() {
    let (code, _, err) = fltblame(&["info", "/nonexistent/x.pml"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/x.pml"), "{err}");
}

#[test]
fn header_only_file_is_truncated_not_a_panic() {
    let src = std::fs::read(corpus_pml(PML_STEMS[1])).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut.pml");
    std::fs::write(&p, &src[..0x100]).unwrap();
    let (code, _, err) = fltblame(&["info", p.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("truncated"), "{err}");
}

#[test]
fn capture_cut_mid_events_recovers_the_events_before_the_cut() {
    // The tables of a PML sit after the events; a file cut in the middle of its events has
    // header offsets that point past the end, so the reader walks the records (format-pml.md §12).
    let stem = PML_STEMS[1];
    let src = std::fs::read(corpus_pml(stem)).unwrap();
    let full = fltblame::pml::Pml::open(&corpus_pml(stem)).unwrap();
    let cut_at = full.event_offsets[1000] as usize + 10; // inside event 1000
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut.pml");
    std::fs::write(&p, &src[..cut_at]).unwrap();
    let cut = fltblame::pml::Pml::open(&p).unwrap();
    assert_eq!(cut.event_count(), 1000);
    assert!(
        cut.warnings
            .iter()
            .any(|w| w.contains("not closed cleanly")),
        "{:?}",
        cut.warnings
    );
    for i in [0, 1, 500, 999] {
        let (a, b) = (full.event(i).unwrap(), cut.event(i).unwrap());
        assert_eq!(
            (a.time, a.tid, a.operation, a.result),
            (b.time, b.tid, b.operation, b.result)
        );
    }
    let (code, out, err) = fltblame(&["export", p.to_str().unwrap(), "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("\r\n").count(), 1001);
    assert!(err.contains("not closed cleanly"), "{err}");
}

#[test]
fn export_csv_is_procmons_format() {
    let (code, out, _) = fltblame(&[
        "export",
        corpus_pml(PML_STEMS[1]).to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0);
    assert!(out.starts_with("\u{FEFF}\"Time of Day\",\"Process Name\",\"PID\",\"Operation\""));
    assert!(out.ends_with("\r\n"));
    let theirs = gunzip(
        &shared_dir()
            .join("corpus/pml")
            .join(format!("{}.csv.gz", PML_STEMS[1])),
    );
    // Same column order as this file's Procmon export: compare the whole text.
    assert_eq!(out.len(), String::from_utf8(theirs.clone()).unwrap().len());
    assert!(
        out.as_bytes() == theirs.as_slice(),
        "export differs from Procmon's own CSV"
    );
}

#[test]
fn export_jsonl_has_resolved_stacks() {
    let (code, out, _) = fltblame(&[
        "export",
        corpus_pml(PML_STEMS[1]).to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3400);
    let first = &lines[0];
    assert_eq!(first["stack"][0]["module"], "ntoskrnl.exe");
    assert_eq!(first["stack"][0]["kernel"], true);
    assert!(first["time_utc"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn info_json_fields() {
    let (code, out, _) = fltblame(&["info", corpus_pml(PML_STEMS[4]).to_str().unwrap(), "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["computer"], "DESKTOP-6PCIALL");
    assert_eq!(v["events"], 53214);
    assert_eq!(v["bitness"], 64);
    let tp = v["third_party_kernel_modules"].as_array().unwrap();
    assert!(tp
        .iter()
        .any(|m| m["name"] == "vmhgfs.sys" && m["company"] == "VMware, Inc."));
    assert!(!tp
        .iter()
        .any(|m| m["company"].as_str().unwrap().contains("Microsoft")));
}
