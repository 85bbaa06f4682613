//! `--redact`: a redacted `analyze` and redacted exports (csv, jsonl, parquet, evidence-only pml)
//! of each sample and of a corpus capture with a real user, computer and SID leave none of the
//! original names in any output file or on standard output; the verdict (conclusion, driver,
//! confidence) is the one of the plain run; tokens are stable from run to run.
//!
//! The original names are gathered by this test from the plain inputs, independently of
//! `src/redact.rs`: the PML header's computer name, the process users (`DOMAIN\name`, well-known
//! accounts left out), account SIDs (`S-1-5-21-...`) and `X:\Users\<name>` folders in every
//! rendered event column, in the plain ETL export and in the log files. A name "appears" when it
//! stands as a word (case-insensitive; its neighbours are not letters or digits): `test` is a
//! user of the corpus capture, `LatestVersion` is not a leak of it.

mod common;

use common::*;
use fltblame::pml::Pml;
use polars::prelude::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn ok(args: &[&str]) -> String {
    let (code, out, err) = fltblame(args);
    assert_eq!(code, 0, "fltblame {args:?}\n{out}\n{err}");
    out
}

fn manifest(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Account SIDs (`S-1-5-21-...`) in `text`, lower case.
fn sids_in(text: &str, out: &mut BTreeSet<String>) {
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("s-1-5-21-") {
        let at = from + i;
        let end = lower[at..]
            .find(|c: char| !(c.is_ascii_digit() || c == '-' || c == 's'))
            .map_or(lower.len(), |e| at + e);
        out.insert(lower[at..end].trim_end_matches('-').to_string());
        from = at + 9;
    }
}

/// Folder names after `:\Users\` in `text` (`\\` runs count as one), lower case, Windows' own
/// folders left out.
fn profiles_in(text: &str, out: &mut BTreeSet<String>) {
    let lower = text.to_ascii_lowercase().replace("\\\\", "\\");
    for part in lower.split(":\\users\\").skip(1) {
        let name: String = part
            .chars()
            .take_while(|c| !matches!(c, '\\' | '"' | ';' | ',' | '\r' | '\n' | '\t' | ':'))
            .collect();
        let name = name.trim();
        if !name.is_empty()
            && ![
                "public",
                "default",
                "all users",
                "default user",
                "desktop.ini",
            ]
            .contains(&name)
        {
            out.insert(name.to_string());
        }
    }
}

/// The names of a plain PML: header computer, non-well-known users and their domains, SIDs and
/// profile folders in every rendered column of every event.
fn pml_names(path: &Path, out: &mut BTreeSet<String>) {
    let pml = Pml::open(path).unwrap();
    out.insert(pml.header.computer_name.to_ascii_lowercase());
    for p in &pml.processes {
        if let Some((d, n)) = p.user.split_once('\\') {
            let d = d.to_ascii_lowercase();
            if ![
                "nt authority",
                "window manager",
                "nt service",
                "font driver host",
            ]
            .contains(&d.as_str())
            {
                out.insert(d);
                out.insert(n.to_ascii_lowercase());
            }
        }
        sids_in(&p.command_line, out);
        profiles_in(&p.command_line, out);
    }
    let first = pml.first_time();
    for i in 0..pml.event_count() {
        let ev = pml.event(i).unwrap();
        for f in fltblame::pml::row::render(&pml, &ev, first) {
            sids_in(&f, out);
            profiles_in(&f, out);
        }
    }
}

/// The original names of an input (a file or a folder of PML, ETL and logs).
fn original_names(input: &Path) -> BTreeSet<String> {
    let files: Vec<PathBuf> = if input.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(input)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    } else {
        vec![input.to_path_buf()]
    };
    let mut out = BTreeSet::new();
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        if bytes.starts_with(b"PML_") {
            pml_names(&f, &mut out);
        } else if f.extension().is_some_and(|e| e == "etl") {
            let text = ok(&["export", s(&f), "--format", "jsonl"]);
            sids_in(&text, &mut out);
            profiles_in(&text, &mut out);
        } else {
            let text = String::from_utf8_lossy(&bytes);
            sids_in(&text, &mut out);
            profiles_in(&text, &mut out);
        }
    }
    out.retain(|n| !n.is_empty());
    out
}

/// Where `name` stands as a word in `text` (both lower case), if anywhere: a short excerpt.
fn word_in(text: &str, name: &str) -> Option<String> {
    let mut from = 0;
    while let Some(i) = text[from..].find(name) {
        let at = from + i;
        let end = at + name.len();
        let before = text[..at].chars().next_back();
        let after = text[end..].chars().next();
        if !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric) {
            let lo = (0..=at.saturating_sub(60))
                .rev()
                .find(|&k| text.is_char_boundary(k))
                .unwrap_or(0);
            let hi = ((end + 60).min(text.len())..=text.len())
                .find(|&k| text.is_char_boundary(k))
                .unwrap_or(text.len());
            return Some(text[lo..hi].to_string());
        }
        from = at + 1;
    }
    None
}

fn assert_clean(what: &str, text: &str, names: &BTreeSet<String>) {
    let lower = text.to_lowercase();
    for n in names {
        if let Some(ctx) = word_in(&lower, n) {
            panic!("{what}: original name {n:?} survives: ...{ctx}...");
        }
    }
}

/// `report.html` without its embedded images (their base64 is not text).
fn without_data_uris(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find("data:image/") {
        out.push_str(&rest[..i]);
        let end = rest[i..]
            .find(['"', '\'', ')'])
            .map_or(rest.len(), |e| i + e);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Every String value of a Parquet file read back with polars, one per line.
fn parquet_text(path: &Path) -> (usize, String) {
    let df = ParquetReader::new(std::fs::File::open(path).unwrap())
        .finish()
        .unwrap();
    let mut text = String::new();
    for c in df.columns() {
        if let Ok(ca) = c.str() {
            for v in ca.iter().flatten() {
                text.push_str(v);
                text.push('\n');
            }
        }
    }
    (df.height(), text)
}

/// A PML read back with our reader: header computer, every process string, every event column;
/// plus the raw bytes as ASCII and as UTF-16LE.
fn pml_text(path: &Path) -> (usize, String) {
    let pml = Pml::open(path).unwrap();
    let mut text = format!("{}\n{}\n", pml.header.computer_name, pml.header.system_root);
    for p in &pml.processes {
        for f in [&p.user, &p.name, &p.image_path, &p.command_line] {
            text.push_str(f);
            text.push('\n');
        }
        for m in &p.modules {
            text.push_str(&m.path);
            text.push('\n');
        }
    }
    let first = pml.first_time();
    for i in 0..pml.event_count() {
        for f in fltblame::pml::row::render(&pml, &pml.event(i).unwrap(), first) {
            text.push_str(&f);
            text.push('\n');
        }
    }
    let bytes = std::fs::read(path).unwrap();
    text.push_str(&String::from_utf8_lossy(&bytes));
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    text.push_str(&String::from_utf16_lossy(&units));
    (pml.event_count(), text)
}

struct Case {
    input: PathBuf,
    /// The capture exported (a PML or ETL inside `input`, or `input` itself).
    capture: PathBuf,
    /// Names that must be among the originals found (guards the oracle itself).
    must_find: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            input: manifest("samples/case-a-amdk8"),
            capture: manifest("samples/case-a-amdk8/capture.pml"),
            must_find: &[
                "contoso-pc",
                "alice",
                "s-1-5-21-3623811015-3361044348-30300820-1013",
            ],
        },
        Case {
            input: manifest("samples/case-b-softwaredistribution"),
            capture: manifest("samples/case-b-softwaredistribution/trace.etl"),
            must_find: &[],
        },
        Case {
            input: corpus_pml("CompressedLogFileUTC64Registry"),
            capture: corpus_pml("CompressedLogFileUTC64Registry"),
            must_find: &[
                "desktop-6pciall",
                "test",
                "s-1-5-21-3706294487-1660119111-780260463-1001",
            ],
        },
    ]
}

fn verdict_of(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("verdict.json")).unwrap()).unwrap()
}

/// Conclusion, driver and the named suspect's confidence (rounded).
fn decision(v: &serde_json::Value) -> (String, String, String) {
    let conf = v["suspects"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["named"] == true))
        .map(|s| format!("{:.4}", s["confidence"].as_f64().unwrap()))
        .unwrap_or_default();
    (
        v["conclusion"].as_str().unwrap().to_string(),
        v["driver"].as_str().unwrap_or("").to_string(),
        conf,
    )
}

#[test]
fn redacted_outputs_hold_no_original_name() {
    for case in cases() {
        let names = original_names(&case.input);
        for n in case.must_find {
            assert!(
                names.contains(*n),
                "{}: oracle missed {n}: {names:?}",
                case.input.display()
            );
        }
        let tmp = tempfile::tempdir().unwrap();
        let t = |f: &str| tmp.path().join(f);

        // The plain run, for the verdict to compare with.
        ok(&["analyze", s(&case.input), "-o", s(&t("plain"))]);
        let plain = verdict_of(&t("plain"));
        // The check can fail: the plain verdict does name the machine or its user.
        let plain_text = std::fs::read_to_string(t("plain/verdict.json"))
            .unwrap()
            .to_lowercase();
        assert!(
            names.is_empty() || names.iter().any(|n| word_in(&plain_text, n).is_some()),
            "{names:?}"
        );

        // analyze --redact: every file written and the summary on stdout.
        let stdout = ok(&["analyze", s(&case.input), "-o", s(&t("red")), "--redact"]);
        assert!(
            stdout.contains("redacted: tokens replace names"),
            "{stdout}"
        );
        assert_clean("analyze stdout", &stdout, &names);
        let v = verdict_of(&t("red"));
        assert_eq!(v["redacted"], true);
        assert_eq!(decision(&v), decision(&plain), "{}", case.input.display());
        let mut files: Vec<PathBuf> = std::fs::read_dir(t("red"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let mut pngs = 0;
        for f in &files {
            let bytes = std::fs::read(f).unwrap();
            match f.extension().and_then(|e| e.to_str()) {
                Some("png") => {
                    // Pixels: their text is drawn from the redacted data (checked below).
                    assert!(bytes.starts_with(b"\x89PNG"));
                    pngs += 1;
                }
                Some("html") => {
                    let html = String::from_utf8(bytes).unwrap();
                    assert!(html.contains("data-redacted=\"true\""));
                    assert_clean(&f.display().to_string(), &without_data_uris(&html), &names);
                }
                _ => assert_clean(
                    &f.display().to_string(),
                    &String::from_utf8(bytes).unwrap(),
                    &names,
                ),
            }
        }
        assert!(pngs >= 3, "{files:?}");

        // The figures' inputs: the timeline, filter stack and evidence models of the same run.
        let mut tables = fltblame::input::load(std::slice::from_ref(&case.input)).unwrap();
        fltblame::redact::redact_tables(&mut tables).unwrap();
        let verdict = fltblame::verdict::analyze(&tables).unwrap();
        let tl = fltblame::report::model::timeline(&verdict, &tables, &Default::default()).unwrap();
        let fs = fltblame::report::model::filter_stack(&verdict, &[]);
        let figure_inputs = format!(
            "{}\n{}\n{}",
            serde_json::to_string(&tl).unwrap(),
            serde_json::to_string(&fs).unwrap(),
            serde_json::to_string(&verdict).unwrap()
        );
        assert_clean("figure inputs", &figure_inputs, &names);

        // --json on stdout: the same verdict, byte for byte, as the first redacted run's file
        // (tokens are stable from run to run).
        let json = ok(&[
            "analyze",
            s(&case.input),
            "-o",
            s(&t("red2")),
            "--redact",
            "--json",
        ]);
        assert_clean("analyze --json", &json, &names);
        assert_eq!(
            std::fs::read_to_string(t("red/verdict.json")).unwrap(),
            std::fs::read_to_string(t("red2/verdict.json")).unwrap(),
            "tokens differ between two runs"
        );

        // export csv / jsonl, twice each: no name, the same bytes.
        for fmt in ["csv", "jsonl"] {
            let a = t(&format!("x.{fmt}"));
            let b = t(&format!("y.{fmt}"));
            for o in [&a, &b] {
                ok(&[
                    "export",
                    s(&case.capture),
                    "--format",
                    fmt,
                    "--redact",
                    "-o",
                    s(o),
                ]);
            }
            let text = std::fs::read_to_string(&a).unwrap();
            assert!(text.lines().count() > 10);
            assert_clean(&a.display().to_string(), &text, &names);
            assert_eq!(text, std::fs::read_to_string(&b).unwrap(), "{fmt}");
        }

        // export parquet of every table, read back with polars.
        for table in ["events", "frames", "modules", "processes", "denials"] {
            let f = t(&format!("{table}.parquet"));
            ok(&[
                "export",
                s(&case.capture),
                "--format",
                "parquet",
                "--table",
                table,
                "--redact",
                "-o",
                s(&f),
            ]);
            let (rows, text) = parquet_text(&f);
            assert!(rows > 0 || table == "denials", "{table}");
            assert_clean(&f.display().to_string(), &text, &names);
        }

        // the evidence-only PML, read back with our reader and scanned as raw bytes.
        if std::fs::read(&case.capture).unwrap().starts_with(b"PML_") {
            let f = t("evidence.pml");
            let (code, out, err) = fltblame(&[
                "export",
                s(&case.capture),
                "--format",
                "pml",
                "--evidence",
                s(&t("red/verdict.json")),
                "--redact",
                "-o",
                s(&f),
            ]);
            assert_eq!(code, 0, "{out}{err}");
            let (events, text) = pml_text(&f);
            assert!(events > 0);
            assert_clean(&f.display().to_string(), &text, &names);
        }
        println!(
            "{}: {} original name(s) absent from every redacted output: {names:?}",
            case.input.display(),
            names.len()
        );
    }
}

#[test]
fn same_name_same_token_across_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let input = manifest("samples/case-a-amdk8");
    ok(&["analyze", s(&input), "-o", s(tmp.path()), "--redact"]);
    let v = verdict_of(tmp.path());
    let users: Vec<&str> = v["denials"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["user"].as_str())
        .collect();
    // The ACL-plausible denial's CONTOSO-PC\alice; SYSTEM stays as evidence.
    assert!(users.contains(&"HOST-1\\USER-1"), "{users:?}");
    assert!(users.contains(&"NT AUTHORITY\\SYSTEM"), "{users:?}");
    assert_eq!(v["inputs"][0]["computer"], "HOST-1");
    assert_eq!(
        v["redaction"],
        serde_json::json!({"hosts": 1, "domains": 0, "users": 1, "sids": 1})
    );
    let csv = ok(&[
        "export",
        s(&input.join("capture.pml")),
        "--format",
        "csv",
        "--redact",
    ]);
    assert!(csv.contains("\"HOST-1\\USER-1\""));
    assert!(csv.contains("SID-1:HOST-1\\USER-1:Password"));
    assert!(csv.contains("\"NT AUTHORITY\\SYSTEM\""));
    assert!(csv.contains("C:\\Users\\USER-1\\AppData"));
}

#[test]
fn redacted_fleet_hides_machine_names_that_are_names() {
    let fleet = tempfile::tempdir().unwrap();
    let a = manifest("samples/case-a-amdk8");
    // A collector named the machine's folder after the computer.
    let m = fleet.path().join("CONTOSO-PC");
    std::fs::create_dir(&m).unwrap();
    for f in ["capture.pml", "CBS.log", "setupapi.dev.log"] {
        std::fs::copy(a.join(f), m.join(f)).unwrap();
    }
    std::fs::copy(
        corpus_pml("CompressedLogFileUTC64Registry"),
        fleet.path().join("pc-022.pml"),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let stdout = ok(&[
        "analyze",
        "--fleet",
        s(fleet.path()),
        "-o",
        s(out.path()),
        "--redact",
    ]);
    let mut names = original_names(&m);
    names.extend(original_names(&fleet.path().join("pc-022.pml")));
    assert!(names.contains("contoso-pc") && names.contains("test"));
    assert_clean("fleet stdout", &stdout, &names);
    let (_, text) = parquet_text(&out.path().join("fleet.parquet"));
    assert_clean("fleet.parquet", &text, &names);
    assert!(
        text.contains("machine-1") && text.contains("pc-022"),
        "{text}"
    );
    let html = std::fs::read_to_string(out.path().join("fleet.html")).unwrap();
    assert_clean("fleet.html", &html, &names);
    for sub in ["machine-1", "pc-022"] {
        let v = verdict_of(&out.path().join(sub));
        assert_eq!(v["redacted"], true);
        assert_clean(sub, &v.to_string(), &names);
        let report = std::fs::read_to_string(out.path().join(sub).join("report.html")).unwrap();
        assert_clean(sub, &without_data_uris(&report), &names);
    }
    assert!(!out.path().join("CONTOSO-PC").exists());
}
