//! Damaged captures, deterministic: every corpus PML truncated at many offsets, with flipped
//! bytes, and with zeroed header fields. The reader must return what it could read, say what it
//! lost (warnings naming offsets), and never panic while every surviving event is rendered.

mod common;

use common::*;
use fltblame::pml::row::render;
use fltblame::pml::Pml;
use std::path::Path;

/// Open `bytes` as a PML and render every event (all 27 columns, every detail decoder).
/// Returns the opened capture and the rendered (Time of Day, Operation, Result) per event.
fn read_all(bytes: Vec<u8>) -> Result<(Pml, Vec<[String; 3]>), String> {
    let pml = Pml::from_bytes(bytes, Path::new("damaged.pml")).map_err(|e| e.to_string())?;
    let first = pml.first_time();
    let rows = (0..pml.event_count())
        .filter_map(|i| pml.event(i))
        .map(|ev| {
            let r = render(&pml, &ev, first);
            [r[0].clone(), r[3].clone(), r[5].clone()]
        })
        .collect();
    Ok((pml, rows))
}

#[test]
fn truncated_captures_keep_the_events_before_the_cut() {
    for stem in PML_STEMS {
        let src = std::fs::read(corpus_pml(stem)).unwrap();
        let (full, full_rows) = read_all(src.clone()).unwrap();
        let ends: Vec<usize> = (0..full.event_count())
            .map(|i| {
                let e = full.event(i).unwrap();
                e.offset + e.record_len
            })
            .collect();
        let events_end = full.header.event_offsets_offset as usize;
        let mut cuts: Vec<usize> = (1..24).map(|k| src.len() * k / 24).collect();
        cuts.extend([
            0,
            3,
            0x3A7,
            0x3A8,
            0x3A8 + 1,
            events_end,
            events_end + 7,
            src.len() - 1,
        ]);
        for cut in cuts {
            let got = read_all(src[..cut].to_vec());
            if cut < 0x3A8 {
                let e = got
                    .err()
                    .expect("a file shorter than the header is refused");
                assert!(e.contains("damaged.pml"), "{stem} cut {cut}: {e}");
                continue;
            }
            let (pml, rows) = got.unwrap_or_else(|e| panic!("{stem} cut at {cut}: {e}"));
            if cut < src.len() {
                assert!(!pml.warnings.is_empty(), "{stem} cut at {cut}: no warning");
            }
            if cut <= events_end {
                // Cut inside the events: the walk recovers exactly the complete records.
                let complete = ends.iter().filter(|&&e| e <= cut).count();
                assert_eq!(pml.event_count(), complete, "{stem} cut at {cut}");
                assert_eq!(rows[..], full_rows[..complete], "{stem} cut at {cut}");
            } else {
                // Cut in the tables: every event is still addressed unless the offsets array
                // itself was cut, and times, operations and results are unchanged.
                assert!(pml.event_count() <= full.event_count());
                let n = pml.event_count();
                for i in 0..n {
                    assert_eq!(rows[i][0], full_rows[i][0], "{stem} cut at {cut} event {i}");
                }
            }
        }
    }
}

#[test]
fn flipped_bytes_leave_untouched_events_intact() {
    for stem in PML_STEMS {
        let src = std::fs::read(corpus_pml(stem)).unwrap();
        let (full, full_rows) = read_all(src.clone()).unwrap();
        let events_end = full.header.event_offsets_offset as usize;
        let mut rng = Xs(0x9E37_79B9_7F4A_7C15 ^ src.len() as u64);
        for round in 0..4 {
            let mut bad = src.clone();
            // Flip bytes inside the event records only, so the tables stay readable.
            let mut hit = Vec::new();
            for _ in 0..64 {
                let at = 0x3A8 + (rng.next() as usize) % (events_end - 0x3A8);
                bad[at] ^= 1 << (rng.next() % 8);
                hit.push(at);
            }
            let (pml, rows) = read_all(bad).unwrap();
            assert_eq!(
                pml.event_count(),
                full.event_count(),
                "{stem} round {round}"
            );
            let mut intact = 0;
            for i in 0..full.event_count() {
                let e = full.event(i).unwrap();
                let range = e.offset..e.offset + e.record_len;
                // An event's text depends on its own record (and, for two Procmon over-reads,
                // the next record's first bytes): compare those whose record and successor
                // were not touched.
                let next_end = full.event(i + 1).map_or(range.end, |n| n.offset + 16);
                if hit.iter().all(|h| !(range.start..next_end).contains(h)) {
                    assert_eq!(rows[i], full_rows[i], "{stem} round {round} event {i}");
                    intact += 1;
                }
            }
            assert!(
                intact + 64 * 2 >= full.event_count(),
                "{stem}: {intact} intact"
            );
        }
    }
}

#[test]
fn zeroed_header_fields_are_survived() {
    // (offset, name) of the header's table offsets (format-pml.md §2).
    let fields = [
        (0x248, "event offsets"),
        (0x250, "process table"),
        (0x258, "string table"),
        (0x3A0, "hosts/ports"),
    ];
    for stem in PML_STEMS {
        let src = std::fs::read(corpus_pml(stem)).unwrap();
        let (full, full_rows) = read_all(src.clone()).unwrap();
        for (off, name) in fields {
            let mut bad = src.clone();
            bad[off..off + 8].fill(0);
            let (pml, rows) = read_all(bad).unwrap_or_else(|e| panic!("{stem} {name}: {e}"));
            match name {
                "event offsets" => {
                    // Procmon killed before closing: the records are walked, all recovered.
                    assert_eq!(pml.event_count(), full.event_count(), "{stem}");
                    assert_eq!(rows, full_rows, "{stem}");
                    assert!(pml
                        .warnings
                        .iter()
                        .any(|w| w.contains("not closed cleanly")));
                }
                "process table" => {
                    assert!(pml.processes.is_empty());
                    assert_eq!(pml.event_count(), full.event_count());
                    // Time, operation and result do not need the process table.
                    assert_eq!(rows, full_rows, "{stem}");
                }
                _ => assert_eq!(pml.event_count(), full.event_count(), "{stem} {name}"),
            }
        }
        // An absurd event count cannot make the reader allocate beyond the file.
        let mut bad = src.clone();
        bad[0x234..0x238].copy_from_slice(&u32::MAX.to_le_bytes());
        let (pml, _) = read_all(bad).unwrap();
        assert!(pml.event_count() <= src.len() / 5);
        assert!(
            pml.warnings.iter().any(|w| w.contains("events are lost")),
            "{stem}"
        );
    }
}

/// Found by fuzzing (`fuzz/fuzz_targets/pml_file.rs`): huge string and process counts whose
/// entries all point into the same bytes made the reader copy the same run once per entry
/// (strings x length, processes x modules). The reader now budgets both by the file size and
/// reports one warning per table instead of one per entry.
#[test]
fn overlapping_table_entries_are_budgeted_by_the_file_size() {
    let src = std::fs::read(corpus_pml(PML_STEMS[1])).unwrap();
    let full = Pml::open(&corpus_pml(PML_STEMS[1])).unwrap();
    let h = &full.header;
    let mut bad = src.clone();
    let (pt, st) = (
        h.process_table_offset as usize,
        h.string_table_offset as usize,
    );
    bad[pt..pt + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    bad[st..st + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let pml = Pml::from_bytes(bad, Path::new("overlap.pml")).unwrap();
    let modules: usize = pml.processes.iter().map(|p| p.modules.len()).sum();
    assert!(
        modules <= (src.len() - pt) / 64,
        "{modules} module entries from {} bytes",
        src.len() - pt
    );
    let text: usize = pml.strings.iter().map(String::len).sum();
    assert!(
        text <= src.len(),
        "{text} bytes of strings from a {} byte file",
        src.len()
    );
    assert!(pml.warnings.len() <= 6, "{:#?}", pml.warnings);
    assert!(pml.warnings.iter().any(|w| w.contains("process records")));
    // The events themselves are untouched.
    assert_eq!(pml.event_count(), full.event_count());
}
