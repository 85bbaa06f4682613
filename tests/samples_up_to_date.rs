//! The committed samples equal what their generators make now (a stale sample fails CI), and
//! the case A sample holds what its README promises, read back with our own reader.

use fltblame::pml::{Pml, Process};
use fltblame::samples::{self, case_a};
use std::path::PathBuf;

fn samples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples")
}

#[test]
fn committed_samples_match_their_generators() {
    let dir = samples_dir();
    for (rel, generated) in samples::generate_all() {
        let path = dir.join(&rel);
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run `cargo run --release --bin gen-samples`",
                path.display()
            )
        });
        assert!(
            on_disk == generated,
            "{} is stale ({} bytes committed, {} generated): run `cargo run --release --bin gen-samples` and commit it",
            path.display(),
            on_disk.len(),
            generated.len()
        );
    }
    assert_eq!(samples::check_all(&dir), Vec::<String>::new());
}

#[test]
fn generation_is_deterministic() {
    assert!(case_a::capture() == case_a::capture());
}

fn open_case_a() -> Pml {
    let path = samples_dir().join("case-a-amdk8/capture.pml");
    Pml::open(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// File name of the module a frame resolves to, and its company.
fn frame_module(pml: &Pml, process: Option<&Process>, addr: u64) -> Option<(String, String)> {
    pml.resolve_frame(process, addr)
        .map(|m| (m.name().to_ascii_lowercase(), m.company.clone()))
}

#[test]
fn case_a_header_processes_and_every_frame_resolve() {
    let pml = open_case_a();
    assert!(pml.warnings.is_empty(), "{:?}", pml.warnings);
    let h = &pml.header;
    assert!(!h.is_64bit);
    assert_eq!(
        (h.os_major, h.os_minor, h.os_build, h.service_pack.as_str()),
        (6, 1, 7601, "Service Pack 1")
    );
    assert_eq!(h.computer_name, "CONTOSO-PC");
    assert_eq!(h.max_user_address, 0x7FFE_FFFF);

    let system = pml.system_process().expect("System (PID 4)");
    let km = system
        .modules
        .iter()
        .find(|m| m.name().eq_ignore_ascii_case(case_a::SUSPECT_DRIVER))
        .expect("krnlmgr.sys is loaded");
    assert_eq!(km.company, "TMS");
    assert!(
        fltblame::knowledge::altitudes("krnlmgr.sys").is_empty(),
        "krnlmgr.sys has no allocated altitude"
    );
    for name in [
        "ntkrnlpa.exe",
        "fltmgr.sys",
        "procmon24.sys",
        "fileinfo.sys",
        "ntfs.sys",
        "nvlddmkm.sys",
        "amdxata.sys",
    ] {
        assert!(
            system
                .modules
                .iter()
                .any(|m| m.name().eq_ignore_ascii_case(name)),
            "{name} missing from the System process"
        );
    }
    // kernel modules do not overlap
    let mut kernel: Vec<_> = system
        .modules
        .iter()
        .filter(|m| pml.is_kernel_address(m.base))
        .collect();
    kernel.sort_by_key(|m| m.base);
    for w in kernel.windows(2) {
        assert!(
            w[0].base + u64::from(w[0].size) <= w[1].base,
            "{} overlaps {}",
            w[0].path,
            w[1].path
        );
    }

    let expected = case_a::expected_events();
    assert_eq!(pml.event_count(), expected.len());
    let mut last = (0u64, 0u32);
    for (i, want) in expected.iter().enumerate() {
        let ev = pml.event(i).expect("event");
        let p = pml.process(ev.process_index);
        assert!(
            p.is_some(),
            "event {i}: unknown process key {}",
            ev.process_index
        );
        assert!(ev.stack_depth > 0, "event {i} has no stack");
        for addr in ev.stack(false) {
            assert!(
                frame_module(&pml, p, addr).is_some(),
                "event {i}: frame 0x{addr:X} resolves to no module"
            );
        }
        assert!(
            (ev.time, ev.sequence) > last,
            "event {i}: times or sequence numbers go backwards"
        );
        last = (ev.time, ev.sequence);
        // our reader agrees with what the generator meant
        let p = p.expect("process");
        assert_eq!(
            (p.name.as_str(), p.pid, ev.tid, ev.result),
            (want.process_name, want.pid, want.tid, want.result),
            "event {i}"
        );
        let d = fltblame::pml::detail::decode(&pml, &ev);
        assert_eq!(
            (d.operation.as_ref(), d.path.as_str()),
            (want.operation, want.path.as_str()),
            "event {i}"
        );
    }
}

#[test]
fn case_a_denied_write_with_krnlmgr_frames_nested_on_the_same_thread() {
    let pml = open_case_a();
    let denied: Vec<_> = (0..pml.event_count())
        .filter_map(|i| pml.event(i))
        .filter(|e| e.class == 2 && e.operation == 4 && e.result == 0xC000_0022)
        .collect();
    assert_eq!(denied.len(), 1, "one denied RegSetValue");
    let d = &denied[0];
    let p = pml.process(d.process_index).expect("process");
    assert_eq!(
        (
            p.name.as_str(),
            p.pid,
            p.user.as_str(),
            p.integrity.as_str()
        ),
        (
            "TrustedInstaller.exe",
            1432,
            "NT AUTHORITY\\SYSTEM",
            "System"
        )
    );
    assert_eq!(p.image_path, r"C:\Windows\servicing\TrustedInstaller.exe");
    assert_eq!(
        fltblame::pml::detail::decode(&pml, d).path,
        case_a::DENIED_PATH
    );
    assert_eq!(
        fltblame::pml::detail::decode(&pml, d).detail,
        "Type: REG_DWORD, Length: 4, Data: 3"
    );
    assert_eq!(
        (d.tid, d.time, d.duration),
        (
            case_a::DOQE_TID,
            case_a::DENIED_TIME,
            case_a::DENIED_DURATION
        )
    );
    assert!(
        (10_000..100_000).contains(&d.duration),
        "a few milliseconds"
    );
    // the denied request's own stack: ntkrnlpa, then user frames in TrustedInstaller's modules,
    // no krnlmgr.sys (Procmon's callback sees the request before krnlmgr's)
    let own: Vec<_> = d
        .stack(false)
        .map(|a| frame_module(&pml, Some(p), a).expect("resolves"))
        .collect();
    assert_eq!(own[0].0, "ntkrnlpa.exe");
    assert!(own.iter().all(|(m, _)| m != "krnlmgr.sys"));
    assert!(
        own.iter().any(|(m, _)| m == "setupapi.dll")
            && own.iter().any(|(m, _)| m == "trustedinstaller.exe")
    );

    // the nested events: same process and thread, starting inside the denied request
    let nested: Vec<_> = (0..pml.event_count())
        .filter_map(|i| pml.event(i))
        .filter(|e| {
            e.process_index == d.process_index
                && e.tid == d.tid
                && e.time > d.time
                && e.time < d.time + d.duration
        })
        .collect();
    assert!(nested.len() >= 8, "{} nested events", nested.len());
    let classes: std::collections::BTreeSet<u32> = nested.iter().map(|e| e.class).collect();
    assert_eq!(
        classes.into_iter().collect::<Vec<_>>(),
        vec![2, 3],
        "registry and file-system I/O nested"
    );
    for e in &nested {
        assert!(
            e.time + e.duration <= d.time + d.duration,
            "nested event ends inside the window"
        );
        let frames: Vec<_> = e
            .stack(false)
            .map(|a| frame_module(&pml, Some(p), a).expect("resolves"))
            .collect();
        let first_km = frames
            .iter()
            .position(|(m, _)| m == "krnlmgr.sys")
            .expect("a krnlmgr.sys frame");
        assert_eq!(frames[first_km].1, "TMS");
        // the nested request's own kernel frames first (ntkrnlpa or fltmgr) ...
        assert!(
            first_km > 0
                && frames[..first_km]
                    .iter()
                    .all(|(m, _)| m == "ntkrnlpa.exe" || m == "fltmgr.sys")
        );
        // ... then krnlmgr.sys, then the outer RegSetValue's ntkrnlpa frames, then user mode
        let after: Vec<_> = frames[first_km..]
            .iter()
            .skip_while(|(m, _)| m == "krnlmgr.sys")
            .collect();
        assert_eq!(after[0].0, "ntkrnlpa.exe");
        assert!(after.iter().any(|(m, _)| m == "trustedinstaller.exe"));
    }
    let expected = case_a::expected_events();
    assert_eq!(
        expected.iter().filter(|e| e.nested_in_denial).count(),
        nested.len()
    );
    // krnlmgr.sys frames appear nowhere else in TrustedInstaller
    let elsewhere = (0..pml.event_count())
        .filter_map(|i| pml.event(i))
        .filter(|e| {
            e.process_index == d.process_index
                && !(e.tid == d.tid && e.time > d.time && e.time < d.time + d.duration)
        })
        .filter(|e| {
            e.stack(false)
                .any(|a| frame_module(&pml, Some(p), a).is_some_and(|(m, _)| m == "krnlmgr.sys"))
        })
        .count();
    assert_eq!(elsewhere, 0);
}

#[test]
fn case_a_benign_denial_is_a_medium_il_user_without_third_party_kernel_frames() {
    let pml = open_case_a();
    let denied: Vec<_> = (0..pml.event_count())
        .filter_map(|i| pml.event(i))
        .filter(|e| e.result == 0xC000_0022 && e.operation != 4)
        .collect();
    assert_eq!(denied.len(), 1);
    let d = &denied[0];
    let p = pml.process(d.process_index).expect("process");
    assert_eq!(
        (
            p.name.as_str(),
            p.pid,
            p.user.as_str(),
            p.integrity.as_str()
        ),
        (
            "invagent.exe",
            case_a::BENIGN_PID,
            "CONTOSO-PC\\alice",
            "Medium"
        )
    );
    let decoded = fltblame::pml::detail::decode(&pml, d);
    assert_eq!(
        (decoded.operation.as_ref(), decoded.path.as_str()),
        ("RegCreateKey", case_a::BENIGN_DENIED_PATH)
    );
    for a in d.stack(false).filter(|&a| pml.is_kernel_address(a)) {
        let (m, company) = frame_module(&pml, Some(p), a).expect("resolves");
        assert_eq!(company, "Microsoft Corporation", "kernel frame in {m}");
    }
    // nothing runs on that thread while it is denied
    let during = (0..pml.event_count())
        .filter_map(|i| pml.event(i))
        .filter(|e| e.tid == d.tid && e.time > d.time && e.time < d.time + d.duration)
        .count();
    assert_eq!(during, 0);
}

// ---------------------------------------------------------------------------------------------
// Case B (ETL traces), read back with our own ETL reader.

use fltblame::etl::kernel::KernelEvent;
use fltblame::samples::case_b;

#[test]
fn case_b_generation_is_deterministic() {
    assert!(case_b::trace() == case_b::trace());
    assert!(case_b::control() == case_b::control());
}

/// Every record of a case-B trace decodes; every minifilter routine lies in one of the four
/// filters of the chain and every stack frame in a module; per-CPU time never goes back.
fn check_case_b(rel: &str, cpus: u32, compressed: bool) -> Vec<(u8, String, Option<u32>)> {
    let path = samples_dir().join(rel);
    let etl = fltblame::etl::Etl::open(&path).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(etl.open_problems().is_empty());
    let h = etl.header();
    assert_eq!(
        (h.os_major, h.os_build, h.cpus, h.pointer_size),
        (10, 17763, cpus, 8)
    );
    assert_eq!(h.compressed_mode(), compressed);
    assert_eq!(h.time_zone.bias_minutes, -480);
    let mut images: Vec<(u32, u64, u64, String)> = Vec::new();
    let mut flt: Vec<(u64, u8, u64, Option<u32>)> = Vec::new();
    let mut stacks: Vec<(u32, Vec<u64>)> = Vec::new();
    let mut last: std::collections::HashMap<u16, u64> = Default::default();
    let mut decoded = 0;
    let problems = etl.for_each_in_file_order(|ev| {
        let l = last.entry(ev.cpu).or_default();
        assert!(ev.timestamp() >= *l || ev.buffer == 0, "per-CPU order");
        *l = ev.timestamp();
        match etl.decode(ev) {
            Ok(Some(k)) => {
                decoded += 1;
                match k {
                    KernelEvent::Image(i) => images.push((
                        i.pid,
                        i.image_base.0,
                        i.image_size,
                        i.file_name.to_string_lossy(),
                    )),
                    KernelEvent::Minifilter(m) => {
                        assert!(m.plausible);
                        flt.push((ev.timestamp(), m.opcode, m.routine.0, m.status))
                    }
                    KernelEvent::Stack(s) => stacks.push((s.pid, s.frames.iter().collect())),
                    _ => {}
                }
            }
            Ok(None) => {}
            Err(e) => panic!("{rel}: {e}"),
        }
    });
    assert!(problems.is_empty(), "{problems:?}");
    assert!(decoded > 300);
    let in_image = |pid: u32, a: u64| {
        images
            .iter()
            .find(|(p, b, s, _)| *p == pid && *b <= a && a < b + s)
            .map(|x| x.3.rsplit('\\').next().unwrap_or("").to_string())
    };
    let mut out = Vec::new();
    for (_, opcode, routine, status) in &flt {
        let name = in_image(0, *routine).expect("routine inside a kernel image");
        assert!(
            case_b::CHAIN.iter().any(|c| c.eq_ignore_ascii_case(&name)),
            "{name}"
        );
        out.push((*opcode, name, *status));
    }
    for (pid, frames) in &stacks {
        for f in frames {
            let pid = if *f >> 63 == 1 { 0 } else { *pid };
            assert!(
                in_image(pid, *f).is_some(),
                "{rel}: frame {f:#x} of pid {pid}"
            );
        }
    }
    out
}

#[test]
fn case_b_trace_holds_one_failure_by_gscfmgr() {
    let flt = check_case_b("case-b-softwaredistribution/trace.etl", 4, true);
    let failures: Vec<_> = flt.iter().filter(|(op, _, _)| *op >= 100).collect();
    assert_eq!(
        failures,
        [&(100u8, "gscfmgr.sys".to_string(), Some(0xC000_0022u32))]
    );
    // Ordinary requests reach all four filters.
    for f in case_b::CHAIN {
        assert!(
            flt.iter().filter(|x| x.1 == f && x.0 == 96).count() >= 20,
            "{f}"
        );
    }
}

#[test]
fn case_b_control_has_no_failure_event() {
    let flt = check_case_b("case-b-control/trace.etl", 2, false);
    assert!(flt.iter().all(|(op, _, _)| *op < 100));
    assert!(flt.len() > 200);
}
