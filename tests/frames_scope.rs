//! `analyze` builds only the frames the verdict reads (`FrameScope::Focused`: whole stacks of
//! denials and of what their threads did while they ran, candidate drivers' frames
//! everywhere). These tests hold it to the full build: the same verdict, to the last evidence
//! item, supporting event and confidence, on the case-A sample and every corpus capture.

mod common;

use fltblame::input::{load_with, Frames, LoadOptions};
use std::path::PathBuf;

fn load(path: PathBuf, focused: bool) -> fltblame::tables::Tables {
    let opts = LoadOptions {
        frames: if focused {
            Frames::Focused
        } else {
            Frames::All
        },
        ..Default::default()
    };
    load_with(std::slice::from_ref(&path), &opts)
        .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()))
}

/// Verdict JSON and the named/first suspect's activity (the report's timeline), both ways.
fn compare(path: PathBuf) -> (usize, usize) {
    let all = load(path.clone(), false);
    let focused = load(path.clone(), true);
    assert_eq!(all.events.height(), focused.events.height());
    let v_all = fltblame::verdict::analyze(&all).unwrap();
    let v_focused = fltblame::verdict::analyze(&focused).unwrap();
    assert_eq!(
        serde_json::to_value(&v_all).unwrap(),
        serde_json::to_value(&v_focused).unwrap(),
        "{}: verdicts differ",
        path.display()
    );
    for s in &v_all.suspects {
        let a = fltblame::report::model::driver_activity(&all, &s.driver).unwrap();
        let f = fltblame::report::model::driver_activity(&focused, &s.driver).unwrap();
        let ids = |v: &[fltblame::report::model::Activity]| {
            v.iter().map(|a| a.event_id).collect::<Vec<_>>()
        };
        assert_eq!(
            ids(&a),
            ids(&f),
            "{}: activity of {}",
            path.display(),
            s.driver
        );
    }
    (all.frames.height(), focused.frames.height())
}

#[test]
fn case_a_same_verdict_with_focused_frames() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/case-a-amdk8");
    let (all, focused) = compare(dir);
    assert!(focused < all, "{focused} of {all} frames kept");
}

#[test]
fn corpus_same_verdict_with_focused_frames() {
    let mut kept = Vec::new();
    for stem in common::PML_STEMS {
        let (all, focused) = compare(common::corpus_pml(stem));
        assert!(focused <= all, "{stem}: {focused} of {all} frames kept");
        kept.push(format!("{stem}: {focused}/{all}"));
    }
    // Tests64bitUTC has 32 denials and ~1.9 M frames: far fewer rows are kept.
    let (all, focused) = compare(common::corpus_pml("CompressedLogfileTests64bitUTC"));
    assert!(focused * 10 < all, "{focused} of {all}: {kept:?}");
}

/// Every focused frame row is a row of the full table (a subset, never an invention).
#[test]
fn focused_frames_are_a_subset() {
    use polars::prelude::*;
    let path = common::corpus_pml("CompressedLogfileTests64bitUTC");
    let all = load(path.clone(), false).frames;
    let focused = load(path, true).frames;
    let keys = ["stack_id", "depth"];
    let joined = focused
        .clone()
        .lazy()
        .join(
            all.lazy(),
            keys.map(col),
            keys.map(col),
            JoinArgs::new(JoinType::Inner),
        )
        .filter(col("address").eq(col("address_right")))
        .collect()
        .unwrap();
    assert_eq!(joined.height(), focused.height());
}

/// The same rule in the ETL builder: both case-B samples (the named gscfmgr.sys, its chain
/// stop and nested I/O; the control) and every corpus trace give the identical verdict.
#[test]
fn etl_same_verdict_with_focused_frames() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut paths = vec![
        root.join("samples/case-b-softwaredistribution/trace.etl"),
        root.join("samples/case-b-control/trace.etl"),
    ];
    let dir = common::shared_dir().join("corpus/etl");
    let mut corpus: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "etl"))
        .collect();
    corpus.sort();
    assert_eq!(corpus.len(), 16);
    paths.extend(corpus);
    let (mut all, mut kept) = (0, 0);
    for p in paths {
        let (a, f) = compare(p.clone());
        assert!(f <= a, "{}: {f} of {a}", p.display());
        all += a;
        kept += f;
    }
    // Kernel traces with stacks but no denial keep only candidate-driver frames.
    assert!(kept * 2 < all, "{kept} of {all} frames kept");
}
