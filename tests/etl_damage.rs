//! Damaged ETL traces, deterministic: every corpus trace and both case-B samples truncated at
//! many offsets, with flipped bytes, and with zeroed buffer-header and logfile-header fields.
//! The reader must return what it could read, count what it lost (problems naming the file and
//! the offset), and never panic or hang; `analyze` still concludes and says the input was
//! damaged. Traces over 1 MB are cut to their first buffers up to 1 MB (a valid trace) so the
//! whole file runs in seconds.

mod common;
use common::Xs;

use fltblame::etl::{info, Etl};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Bytes of a trace used as the undamaged base.
const CAP: usize = 1 << 20;

/// Every corpus trace and the two samples, each cut at a buffer boundary at most [`CAP`] in.
fn traces() -> Vec<(String, Vec<u8>)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(common::shared_dir().join("corpus/etl"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "etl"))
        .collect();
    paths.sort();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    paths.push(root.join("samples/case-b-softwaredistribution/trace.etl"));
    paths.push(root.join("samples/case-b-control/trace.etl"));
    assert!(paths.len() >= 18, "corpus traces missing: {paths:?}");
    paths
        .into_iter()
        .map(|p| {
            let mut b = std::fs::read(&p).unwrap();
            if b.len() > CAP {
                let etl = Etl::from_bytes("x", b.clone()).unwrap();
                let end = etl
                    .buffers()
                    .iter()
                    .map(|x| (x.file_offset + u64::from(x.size)) as usize)
                    .take_while(|&e| e <= CAP)
                    .last()
                    .unwrap();
                b.truncate(end);
            }
            (p.file_name().unwrap().to_string_lossy().into_owned(), b)
        })
        .collect()
}

/// What a read of a (damaged) trace gave.
#[derive(Debug)]
struct Read {
    /// Events visited in time order (incl. the logfile header).
    events: u64,
    /// Buffers found by the walk.
    buffers: usize,
    /// Problems: open problems and those met while merging, as displayed.
    problems: Vec<String>,
}

/// Open, merge every event in time order and decode it, and summarise (`info`), as `analyze`
/// and `info` do. `Err` when the file is refused as a whole.
fn read(name: &str, bytes: Vec<u8>) -> Result<Read, String> {
    let etl = Etl::from_bytes(name, bytes).map_err(|e| format!("{e:#}"))?;
    let ctx = etl.decode_ctx();
    let mut events = 0u64;
    let mut problems: Vec<String> = etl.open_problems().iter().map(|p| p.to_string()).collect();
    let merged = etl.for_each_merged(|ev| {
        events += 1;
        let _ = fltblame::etl::decode(ev, &ctx);
    });
    problems.extend(merged.iter().map(|p| p.to_string()));
    let i = info(&etl);
    assert_eq!(i.events, events, "{name}: info and the merge count alike");
    Ok(Read {
        events,
        buffers: etl.buffers().len(),
        problems,
    })
}

/// Every problem names the file and an offset.
fn located(name: &str, r: &Read) {
    for p in &r.problems {
        assert!(
            p.starts_with(name) && p.contains("offset 0x"),
            "{name}: problem without file and offset: {p}"
        );
    }
}

#[test]
fn truncated_traces_keep_the_events_before_the_cut() {
    let mut cases = 0;
    for (name, src) in traces() {
        let full = read(&name, src.clone()).unwrap();
        assert!(
            full.problems.is_empty() || name.contains("win7") || name.contains("net45"),
            "{name}: undamaged base has problems: {:?}",
            &full.problems[..full.problems.len().min(3)]
        );
        let etl = Etl::from_bytes(&name, src.clone()).unwrap();
        let bufs: Vec<(usize, usize, bool)> = etl
            .buffers()
            .iter()
            .map(|b| {
                let s = b.file_offset as usize;
                (s, s + b.size as usize, b.compressed())
            })
            .collect();
        // Events per buffer in the undamaged file.
        let mut per_buffer = vec![0u64; bufs.len()];
        let mut scratch = Vec::new();
        for (i, n) in per_buffer.iter_mut().enumerate() {
            if let Ok(evs) = etl.buffer_events(i, &mut scratch) {
                *n = evs.count() as u64;
            }
        }
        let mut cuts: Vec<usize> = (1..20).map(|k| src.len() * k / 20).collect();
        cuts.extend([0, 1, 0x47, 0x48, 0x49, 0x80, src.len() - 1]);
        for &(s, _, _) in bufs.iter().skip(1).take(3) {
            cuts.extend([s - 1, s, s + 1, s + 0x48, s + 0x100]);
        }
        cuts.retain(|&c| c < src.len());
        for cut in cuts {
            cases += 1;
            let got = read(&name, src[..cut].to_vec());
            let first_end = bufs[0].1;
            let Ok(r) = got else {
                let e = got.unwrap_err();
                assert!(e.contains(&name), "{name} cut at {cut}: {e}");
                // Only a cut inside the header event itself is refused.
                assert!(cut < 0x48 + 0x200, "{name} cut at {cut} refused: {e}");
                continue;
            };
            located(&name, &r);
            let complete = bufs.iter().take_while(|b| b.1 <= cut).count();
            let before: u64 = per_buffer[..complete].iter().sum();
            let cut_buffer: u64 = per_buffer.get(complete).copied().unwrap_or(0);
            assert!(
                r.events >= before && r.events <= before + cut_buffer,
                "{name} cut at {cut}: {} events, complete buffers hold {before} (+{cut_buffer} in the cut one)",
                r.events
            );
            let at_boundary = bufs.iter().any(|b| b.1 == cut) || cut == first_end;
            if !at_boundary {
                assert!(
                    !r.problems.is_empty(),
                    "{name} cut at {cut}: no problem reported"
                );
            }
            // A plain buffer cut after its last event loses nothing of it.
            if let Some(&(s, _, false)) = bufs.get(complete) {
                if cut >= s + 0x48 {
                    assert!(
                        r.buffers == complete + 1,
                        "{name} cut at {cut}: the cut plain buffer is read"
                    );
                }
            }
        }
    }
    eprintln!("{cases} truncation cases");
    assert!(cases > 400, "{cases} truncation cases");
}

#[test]
fn flipped_bytes_never_panic_and_are_reported() {
    let mut cases = 0;
    for (name, src) in traces() {
        let mut rng = Xs(0x9E37_79B9_7F4A_7C15 ^ src.len() as u64);
        for round in 0..6 {
            let mut b = src.clone();
            // Rounds 0-2: anywhere; rounds 3-5: inside the first and second buffer headers
            // and the logfile header, where one bit matters most.
            for _ in 0..48 {
                let at = if round < 3 {
                    (rng.next() as usize) % b.len()
                } else {
                    (rng.next() as usize) % b.len().min(0x48 + 0x150)
                };
                b[at] ^= 1 << (rng.next() % 8);
            }
            cases += 1;
            match read(&name, b) {
                Ok(r) => located(&name, &r),
                Err(e) => assert!(e.contains(&name), "{name} round {round}: {e}"),
            }
        }
    }
    eprintln!("{cases} flipped-bytes cases");
    assert!(cases >= 18 * 6);
}

#[test]
fn zeroed_header_fields_are_survived() {
    let mut cases = 0;
    for (name, src) in traces() {
        let etl = Etl::from_bytes(&name, src.clone()).unwrap();
        let starts: Vec<usize> = etl
            .buffers()
            .iter()
            .map(|b| b.file_offset as usize)
            .collect();
        drop(etl);
        // Buffer header fields (BufferSize, SavedOffset, CurrentOffset, ReferenceCount,
        // TimeStamp, SequenceNumber, clock, ProcessorIndex / LoggerId, State, Offset,
        // BufferFlag / BufferType) of the header buffer, the second and the last buffer.
        let fields = [
            0x00, 0x04, 0x08, 0x0C, 0x10, 0x18, 0x20, 0x28, 0x2C, 0x30, 0x34,
        ];
        let mut targets: Vec<(usize, usize)> = Vec::new();
        for &s in [starts.first(), starts.get(1), starts.last()]
            .into_iter()
            .flatten()
        {
            for f in fields {
                targets.push((
                    s + f,
                    if f == 0x10 || f == 0x18 || f == 0x20 {
                        8
                    } else {
                        4
                    },
                ));
            }
        }
        // Every u32 of the logfile header payload (header buffer + 0x48 + event header),
        // which covers BufferSize, version, processors, EndTime, LogFileMode,
        // BuffersWritten, PointerSize, EventsLost, CpuSpeed, BootTime, PerfFreq, StartTime,
        // ReservedFlags (clock), BuffersLost and the time zone.
        for at in (0x48..0x48 + 0x130).step_by(4) {
            targets.push((at, 4));
        }
        for (at, len) in targets {
            if at + len > src.len() {
                continue;
            }
            cases += 1;
            let mut b = src.clone();
            b[at..at + len].fill(0);
            match read(&name, b) {
                Ok(r) => located(&name, &r),
                Err(e) => assert!(
                    e.contains(&name) && e.contains("not an ETL file"),
                    "{name} zeroed {at:#x}: {e}"
                ),
            }
        }
    }
    eprintln!("{cases} zeroed-field cases");
    assert!(cases > 18 * 80, "{cases} zeroed-field cases");
}

/// `analyze` on damaged traces: it concludes (exit 0, a verdict), and the summary and
/// verdict.json say what was lost.
#[test]
fn analyze_concludes_on_damaged_traces_and_says_so() {
    let dir = std::env::temp_dir().join(format!("fltblame-etl-damage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/case-b-control/trace.etl"),
    )
    .unwrap();
    let mut cut = src.clone();
    cut.truncate(src.len() - 5000);
    let mut flipped = src.clone();
    let mut rng = Xs(7);
    for _ in 0..64 {
        let at = 0x10000 + (rng.next() as usize) % (src.len() - 0x10000);
        flipped[at] ^= 0x5A;
    }
    let mut zeroed = src.clone();
    zeroed[0x8000..0x8000 + 4].fill(0); // a data buffer's events region, mid-buffer
    let second = u32::from_le_bytes(src[0..4].try_into().unwrap()) as usize;
    zeroed[second..second + 4].fill(0); // the second buffer's BufferSize
    for (case, bytes) in [("cut", cut), ("flipped", flipped), ("zeroed", zeroed)] {
        let f = dir.join(format!("{case}.etl"));
        std::fs::write(&f, &bytes).unwrap();
        let out = dir.join(format!("out-{case}"));
        let o = Command::new(env!("CARGO_BIN_EXE_fltblame"))
            .args(["analyze", f.to_str().unwrap(), "-o", out.to_str().unwrap()])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "{case}: {}\n{stdout}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            stdout.contains("damaged or incomplete") && stdout.contains(&format!("{case}.etl")),
            "{case}: the summary does not say the input was damaged:\n{stdout}"
        );
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("verdict.json")).unwrap()).unwrap();
        assert!(v["conclusion"].is_string(), "{case}: {v}");
        let w = v["inputs"][0]["warnings"].as_array().unwrap();
        assert!(
            w.iter().any(|w| w.as_str().unwrap().contains("offset 0x")),
            "{case}: {w:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
