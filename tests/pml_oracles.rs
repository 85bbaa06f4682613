//! The reader against procmon-parser's oracles (`corpus/oracles/pml/<Name>.summary.json` and
//! `<Name>.stacks.jsonl.gz`): header facts, counts, and the module every stack frame resolves to.

mod common;

use common::*;
use fltblame::pml::Pml;
use std::io::BufRead;

fn oracle(stem: &str, ext: &str) -> std::path::PathBuf {
    shared_dir()
        .join("corpus/oracles/pml")
        .join(format!("{stem}.{ext}"))
}

#[test]
fn summary_matches_oracle() {
    for stem in PML_STEMS {
        let pml = Pml::open(&corpus_pml(stem)).unwrap();
        let s: serde_json::Value =
            serde_json::from_slice(&std::fs::read(oracle(stem, "summary.json")).unwrap()).unwrap();
        let info = fltblame::info::capture_info(&pml);
        assert_eq!(info.computer, s["computer_name"], "{stem}");
        assert_eq!(
            u64::from(info.os_build),
            s["os_build"].as_u64().unwrap(),
            "{stem}"
        );
        assert_eq!(
            u64::from(info.bitness),
            s["bitness"].as_u64().unwrap(),
            "{stem}"
        );
        assert_eq!(
            u64::from(info.cpus),
            s["logical_processors"].as_u64().unwrap(),
            "{stem}"
        );
        assert_eq!(info.ram_bytes, s["ram_bytes"].as_u64().unwrap(), "{stem}");
        assert_eq!(
            info.events as u64,
            s["event_count"].as_u64().unwrap(),
            "{stem}"
        );
        assert_eq!(
            info.processes as u64,
            s["process_count"].as_u64().unwrap(),
            "{stem}"
        );
        assert_eq!(
            info.first_event_utc.as_deref(),
            s["first_event_utc"].as_str(),
            "{stem}"
        );
        assert_eq!(
            info.last_event_utc.as_deref(),
            s["last_event_utc"].as_str(),
            "{stem}"
        );
        assert_eq!(
            pml.system_process().unwrap().modules.len() as u64,
            s["system_process_module_count"].as_u64().unwrap(),
            "{stem}"
        );
        let with_stack = (0..pml.event_count())
            .filter(|&i| pml.event(i).unwrap().stack_depth > 0)
            .count();
        assert_eq!(
            with_stack as u64,
            s["events_with_stack"].as_u64().unwrap(),
            "{stem}"
        );
        assert!(pml.warnings.is_empty(), "{stem}: {:?}", pml.warnings);
    }
}

#[test]
fn stack_frames_resolve_like_oracle() {
    for stem in PML_STEMS {
        let pml = Pml::open(&corpus_pml(stem)).unwrap();
        let raw = gunzip(&oracle(stem, "stacks.jsonl.gz"));
        let (mut frames, mut same, mut kernel_frames) = (0usize, 0usize, 0usize);
        for line in raw.lines() {
            let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
            let ev = pml.event(v["index"].as_u64().unwrap() as usize).unwrap();
            let p = pml.process(ev.process_index);
            let ours: Vec<u64> = ev.stack(pml.header.is_64bit).collect();
            let theirs = v["frames"].as_array().unwrap();
            assert_eq!(ours.len(), theirs.len(), "{stem} event {}", v["index"]);
            for (a, f) in ours.iter().zip(theirs) {
                let addr = u64::from_str_radix(
                    f["address"].as_str().unwrap().trim_start_matches("0x"),
                    16,
                )
                .unwrap();
                assert_eq!(*a, addr);
                assert_eq!(pml.is_kernel_address(*a), f["kernel"].as_bool().unwrap());
                let m = pml.resolve_frame(p, *a).map(|m| m.name().to_string());
                frames += 1;
                kernel_frames += usize::from(f["kernel"].as_bool().unwrap());
                if m.as_deref() == f["module"].as_str() {
                    same += 1;
                } else {
                    panic!(
                        "{stem} event {} frame 0x{a:x}: ours {m:?}, oracle {}",
                        v["index"], f["module"]
                    );
                }
            }
        }
        println!("{stem}: {same}/{frames} frames resolve to the oracle's module ({kernel_frames} kernel)");
        assert!(frames > 10_000, "{stem}: oracle too small? {frames}");
    }
}
