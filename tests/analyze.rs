//! `analyze` end to end: the case-A sample names krnlmgr.sys; the real corpus captures, whose
//! denials are ordinary ACL ones, never conclude `filter`; the outputs are written and readable.

mod common;

use common::*;
use fltblame::pml::Pml;
use fltblame::tables::{from_pml, Tables};
use fltblame::verdict::{analyze, Conclusion, Verdict};
use std::path::PathBuf;

fn tables_of(path: &std::path::Path) -> Tables {
    let pml = Pml::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    from_pml(&pml).expect("tables")
}

/// The committed case-A sample, or the generator's bytes when the file is not there yet.
fn case_a_tables() -> Tables {
    let committed =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/case-a-amdk8/capture.pml");
    if committed.exists() {
        return tables_of(&committed);
    }
    let (_, bytes) = fltblame::samples::generate_all()
        .into_iter()
        .find(|(rel, _)| rel == "case-a-amdk8/capture.pml")
        .expect("case A generator");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("capture.pml");
    std::fs::write(&p, bytes).unwrap();
    tables_of(&p)
}

#[test]
fn case_a_names_krnlmgr() {
    let t = case_a_tables();
    let v = analyze(&t).unwrap();
    eprintln!("{}", fltblame::report::summary_text(&v));
    assert_eq!(v.conclusion, Conclusion::Filter, "{}", v.reason);
    assert_eq!(v.driver.as_deref(), Some("krnlmgr.sys"));
    let s = v.named().unwrap();
    assert!(s.confidence >= fltblame::verdict::NAME_CONFIDENCE);
    assert!(
        s.altitude.is_none(),
        "krnlmgr.sys is not in Microsoft's list"
    );
    assert!(s
        .evidence
        .iter()
        .any(|e| e.kind == "nested_io" && e.key == "nested_io" && e.events.len() >= 2));
    assert!(s.evidence.iter().any(|e| e.key == "self_protection_listed"
        && e.detail.contains("krnlmgr\\Parameters\\ProtectedKeys")));
    assert!(s
        .evidence
        .iter()
        .any(|e| e.key == "altitude_bracket_registry"));
    assert!(s.evidence.iter().any(|e| e.key == "acl_implausible"));
    // Confidence is the logistic of the listed items.
    let sum: f64 = s.evidence.iter().map(|e| e.weight).sum();
    assert!((fltblame::verdict::logistic(sum) - s.confidence).abs() < 1e-12);

    let denied = v
        .denials
        .iter()
        .find(|d| d.path == r"HKLM\System\CurrentControlSet\Services\AmdK8\Start")
        .expect("the AmdK8 Start denial");
    assert_eq!(denied.process, "TrustedInstaller.exe");
    assert_eq!(denied.operation, "RegSetValue");
    assert_eq!(denied.status, "0xC0000022");
    assert_eq!(denied.status_name, "ACCESS DENIED");
    assert!(denied.servicing_relevant && !denied.acl_plausible);
    assert_eq!(denied.suspects, ["krnlmgr.sys"]);
    assert_eq!(s.denials, [denied.event_id]);

    let benign = v
        .denials
        .iter()
        .find(|d| d.path == r"HKLM\SOFTWARE\Policies\Contoso\Inventory")
        .expect("the benign denial");
    assert_eq!(benign.integrity, "Medium");
    assert!(benign.acl_plausible && !benign.servicing_relevant);
    assert!(benign.suspects.is_empty());
    assert_eq!(v.counts.denials, 2);
    assert_eq!(v.counts.acl_plausible, 1);

    // Third-party drivers that deny nothing are candidates, never suspects; observers never.
    assert_eq!(v.suspects.len(), 1);
    for d in ["krnlmgr.sys", "nvlddmkm.sys", "amdxata.sys"] {
        assert!(v.drivers.get(d).is_some(), "{d} is a candidate");
    }
    assert!(v
        .drivers
        .candidates
        .iter()
        .all(|c| !c.driver.to_lowercase().starts_with("procmon")));
    assert!(v
        .drivers
        .excluded
        .iter()
        .any(|e| e.driver.eq_ignore_ascii_case("fltmgr.sys")));
    assert!(v
        .vendor_todo
        .iter()
        .any(|t| t.contains("TrustedInstaller.exe") && t.contains("AmdK8")));
}

/// (stem, conclusion, denials, ACL-plausible denials).
const CORPUS: [(&str, Conclusion, usize, usize); 5] = [
    (
        "CompressedLogFileUTC32Filesystem",
        Conclusion::Undetermined,
        0,
        0,
    ),
    (
        "CompressedLogFileUTC64Process",
        Conclusion::Undetermined,
        0,
        0,
    ),
    (
        "CompressedLogFileUTC64Registry",
        Conclusion::NoFilter,
        10,
        10,
    ),
    (
        "CompressedLogfileTests32bitUTC",
        Conclusion::Undetermined,
        0,
        0,
    ),
    (
        "CompressedLogfileTests64bitUTC",
        Conclusion::NoFilter,
        32,
        32,
    ),
];

#[test]
fn corpus_denials_are_ordinary_acls() {
    for (stem, conclusion, denials, acl) in CORPUS {
        let v = analyze(&tables_of(&corpus_pml(stem))).unwrap();
        eprintln!("== {stem}\n{}", fltblame::report::summary_text(&v));
        assert_eq!(v.conclusion, conclusion, "{stem}: {}", v.reason);
        assert!(v.driver.is_none() && v.named().is_none(), "{stem}");
        assert_eq!(v.counts.denials, denials, "{stem}");
        assert_eq!(v.counts.acl_plausible, acl, "{stem}");
        assert_eq!(v.counts.servicing_relevant, 0, "{stem}");
        assert!(v.suspects.iter().all(|s| s.confidence < 0.5), "{stem}");
        assert!(!v.advice.is_empty(), "{stem}");
        assert!(v.drivers.candidates.iter().all(|c| !c
            .driver
            .to_lowercase()
            .starts_with("procmon")
            && !c.driver.eq_ignore_ascii_case("fltmgr.sys")));
    }
}

#[test]
fn corpus_registry_denials_by_actor() {
    let v = analyze(&tables_of(&corpus_pml("CompressedLogFileUTC64Registry"))).unwrap();
    let by_user = |u: &str| v.denials.iter().filter(|d| d.user == u).count();
    assert_eq!(by_user(r"NT AUTHORITY\NETWORK SERVICE"), 8);
    assert_eq!(by_user(r"DESKTOP-6PCIALL\test"), 2);
    assert!(v.denials.iter().all(|d| d.acl_plausible
        && d.status == "0xC0000022"
        && d.operation == "RegCreateKey"
        && d.object
            .to_lowercase()
            .starts_with(r"hklm\software\microsoft\securitymanager\capauthz")));
}

fn check_outputs(v: &Verdict, t: &Tables) {
    let dir = tempfile::tempdir().unwrap();
    let json = fltblame::report::write_json(v, dir.path()).unwrap();
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(j["schema"], "fltblame.verdict/1");
    assert_eq!(j["conclusion"], v.conclusion.as_str());
    assert_eq!(j["denials"].as_array().unwrap().len(), v.counts.denials);
    for key in ["inputs", "suspects", "advice", "counts"] {
        assert!(!j[key].is_null(), "{key}");
    }
    for d in j["denials"].as_array().unwrap() {
        for key in [
            "event_id",
            "time_utc",
            "process",
            "pid",
            "user",
            "integrity",
            "operation",
            "path",
            "status",
            "status_name",
            "servicing_relevant",
            "acl_plausible",
            "object",
        ] {
            assert!(!d[key].is_null(), "denial.{key}");
        }
        assert!(d["time_utc"].as_str().unwrap().ends_with('Z'));
    }
    for s in j["suspects"].as_array().unwrap() {
        for key in [
            "driver",
            "vendor",
            "version",
            "altitude",
            "load_order_group",
            "confidence",
            "evidence",
        ] {
            assert!(s.get(key).is_some(), "suspect.{key}");
        }
        for e in s["evidence"].as_array().unwrap() {
            for key in ["kind", "weight", "detail", "events"] {
                assert!(!e[key].is_null(), "evidence.{key}");
            }
        }
    }
    let html = fltblame::report::write_html(v, t, dir.path()).unwrap();
    let html = std::fs::read_to_string(html).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script") && !html.contains("<link"));
    // Every source is an embedded figure: nothing is fetched.
    assert!(html
        .match_indices(" src=\"")
        .all(|(i, _)| html[i + 6..].starts_with("data:image/png;base64,")));
    assert!(html.contains("CC BY 4.0"), "knowledge attribution");
    if let Some(s) = v.named() {
        assert!(html.contains(&s.driver));
        assert!(html.contains("class=\"named\""), "suspect frames marked");
    }
}

#[test]
fn outputs_of_the_sample_and_a_corpus_capture() {
    let t = case_a_tables();
    let v = analyze(&t).unwrap();
    check_outputs(&v, &t);
    let t = tables_of(&corpus_pml("CompressedLogFileUTC64Registry"));
    let v = analyze(&t).unwrap();
    check_outputs(&v, &t);
}
