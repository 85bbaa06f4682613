//! Damaged logs, deterministic: every corpus text log (CBS, setupapi, WindowsUpdate, fltmc;
//! UTF-8, UTF-16LE and GBK) and every corpus event log truncated at many offsets, with flipped
//! bytes, with invalid UTF-16 (lone surrogates, an odd byte count) and with zeroed evtx header
//! fields. The readers must keep every line they could read, account for every line (parsed,
//! continuation, separator or unparsed), count replaced characters, and never panic; a refused
//! file is refused with its name. Logs over 256 KB are cut to their first 256 KB as the base.

mod common;
use common::Xs;

use fltblame::logs::{classify, read_as, read_bytes, sniff, LogFile, LogKind, Parsed, ReadOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

const CAP: usize = 256 << 10;

fn corpus(ext: &str) -> Vec<(String, Vec<u8>)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(common::shared_dir().join("corpus/logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let mut b = std::fs::read(&p).unwrap();
            if ext == "log" {
                b.truncate(CAP);
            }
            (p.file_name().unwrap().to_string_lossy().into_owned(), b)
        })
        .collect()
}

fn kind_of(log: &LogFile) -> LogKind {
    log.kind
}

/// Read as `kind`, classify, and check the accounting. Returns (lines, entries, replaced).
fn read_text(name: &str, bytes: &[u8], kind: LogKind) -> (usize, usize, usize) {
    let log = read_as(name, bytes, kind, &ReadOptions::default())
        .unwrap_or_else(|e| panic!("{name}: a text log is never refused: {e:#}"));
    let _ = classify(&log);
    let s = log.stats();
    assert!(s.accounted(), "{name}: lines not accounted for: {s:?}");
    (s.lines, s.entries, s.replaced)
}

#[test]
fn truncated_text_logs_keep_the_lines_before_the_cut() {
    let logs = corpus("log");
    assert!(logs.len() >= 10, "corpus logs missing");
    let mut cases = 0;
    for (name, src) in &logs {
        let kind = sniff(&src[..src.len().min(fltblame::logs::SNIFF_BYTES)]);
        assert_ne!(kind, LogKind::Unknown, "{name}");
        let (lines, entries, _) = read_text(name, src, kind);
        let mut cuts: Vec<usize> = (1..16).map(|k| src.len() * k / 16).collect();
        cuts.extend([0, 1, 2, 3, 5, src.len() - 1]);
        // Odd offsets split a UTF-16 unit or a GBK pair; +1 of a line end splits CR LF.
        cuts.extend(cuts.clone().iter().map(|c| (c + 1).min(src.len())));
        if let Some(p) = src.windows(2).position(|w| w == b"\r\n") {
            cuts.push(p + 1);
        }
        for cut in cuts {
            cases += 1;
            let (l, e, _) = read_text(name, &src[..cut], kind);
            assert!(l <= lines + 1, "{name} cut at {cut}: {l} lines of {lines}");
            assert!(
                e <= entries + 1,
                "{name} cut at {cut}: {e} entries of {entries}"
            );
            if cut == src.len() - 1 {
                assert!(
                    l + 1 >= lines,
                    "{name} cut at {cut}: lines lost: {l} of {lines}"
                );
            }
            // And as any other kind, and sniffed: never a panic.
            let _ = read_bytes(name, &src[..cut], &ReadOptions::default()).map(|l| classify(&l));
        }
    }
    eprintln!("{cases} truncation cases");
    assert!(cases > 12 * 40, "{cases} cases");
}

#[test]
fn flipped_bytes_in_text_logs_are_read_and_accounted() {
    let mut cases = 0;
    for (name, src) in corpus("log") {
        let kind = sniff(&src[..src.len().min(fltblame::logs::SNIFF_BYTES)]);
        let mut rng = Xs(0x1234_5678_9ABC_DEF1 ^ src.len() as u64);
        for round in 0..4 {
            let mut b = src.clone();
            for _ in 0..64 {
                let at = (rng.next() as usize) % b.len();
                b[at] = match round {
                    0 => b[at] ^ (1 << (rng.next() % 8)),
                    1 => 0,
                    2 => 0xFF,
                    _ => b"\r\n\t\0|[]:"[(rng.next() % 8) as usize],
                };
            }
            cases += 1;
            read_text(&name, &b, kind);
            for other in [
                LogKind::Cbs,
                LogKind::SetupApi,
                LogKind::WindowsUpdate,
                LogKind::Fltmc,
            ] {
                read_text(&name, &b, other);
            }
        }
    }
    eprintln!("{cases} flipped-bytes cases");
    assert!(cases >= 12 * 4);
}

#[test]
fn invalid_utf16_is_replaced_and_counted() {
    let logs = corpus("log");
    let (name, src) = logs
        .iter()
        .find(|(n, _)| n.contains("utf16le"))
        .expect("the UTF-16LE corpus log");
    let kind = sniff(&src[..src.len().min(fltblame::logs::SNIFF_BYTES)]);
    let (lines, _, replaced0) = read_text(name, src, kind);
    assert_eq!(replaced0, 0);
    let mut cases = 0;
    // Lone high surrogates, lone low surrogates, reversed pairs, at 32 even offsets.
    for (k, unit) in [[0x00, 0xD8], [0x00, 0xDC], [0x3D, 0xDC]]
        .iter()
        .enumerate()
    {
        let mut b = src.clone();
        let mut at = 2 + 2 * k;
        let mut put = 0;
        while at + 1 < b.len() && put < 32 {
            b[at..at + 2].copy_from_slice(unit);
            at += (b.len() / 33) & !1;
            put += 1;
        }
        cases += 1;
        let (l, _, replaced) = read_text(name, &b, kind);
        assert!(
            replaced >= 1,
            "{name} surrogates {unit:?}: nothing replaced"
        );
        assert!(l.abs_diff(lines) <= 32, "{name}: {l} lines of {lines}");
        let log = read_bytes(name, &b, &ReadOptions::default()).unwrap();
        assert_eq!(
            kind_of(&log),
            kind,
            "{name}: still sniffed as UTF-16 {kind:?}"
        );
    }
    // An odd byte count (the last unit cut in half), with and without the BOM.
    for b in [&src[..src.len() - 1], &src[2..src.len() - 1]] {
        cases += 1;
        let (_, _, replaced) = read_text(name, b, kind);
        assert!(replaced >= 1, "{name}: half a unit at the end is replaced");
    }
    // UTF-16 claimed by a BOM over bytes that are UTF-8.
    let utf8 = &logs.iter().find(|(n, _)| n == "hofcake_CBS.log").unwrap().1;
    let mut b = vec![0xFF, 0xFE];
    b.extend_from_slice(&utf8[..4097]);
    cases += 1;
    read_text("bom.log", &b, LogKind::Cbs);
    eprintln!("{cases} invalid-UTF-16 cases");
    assert!(cases >= 6);
}

/// Read an event log; `Err` only with the file's name in the message.
fn read_evtx(name: &str, bytes: &[u8]) -> Option<(usize, usize)> {
    match read_as(name, bytes, LogKind::EventLog, &ReadOptions::default()) {
        Ok(log) => {
            let _ = classify(&log);
            let Parsed::EventLog(e) = &log.parsed else {
                panic!("{name}: not an event log")
            };
            assert!(log.stats().accounted(), "{name}: {:?}", log.stats());
            Some((e.records.len(), e.failed.len()))
        }
        Err(e) => {
            assert!(format!("{e:#}").contains(name), "{name}: {e:#}");
            None
        }
    }
}

#[test]
fn damaged_event_logs_never_panic() {
    let logs = corpus("evtx");
    assert!(logs.len() >= 3);
    let mut cases = 0;
    for (name, src) in &logs {
        let (records, _) = read_evtx(name, src).expect("undamaged event log reads");
        assert!(records > 0);
        // Truncation: in the file header, at and around chunk starts, inside records.
        let mut cuts: Vec<usize> = (1..10).map(|k| src.len() * k / 10).collect();
        cuts.extend([0, 8, 0x80, 4095, 4096, 4097, 4096 + 512, 4096 + 65536 - 1]);
        cuts.retain(|&c| c < src.len());
        for cut in cuts {
            cases += 1;
            if let Some((r, _)) = read_evtx(name, &src[..cut]) {
                assert!(r <= records, "{name} cut at {cut}");
            }
        }
        // Flipped bytes: the file header, the first chunk header, and anywhere.
        let mut rng = Xs(0xDEAD_BEEF ^ src.len() as u64);
        for (lo, hi) in [(0, 128), (4096, 4096 + 512), (0, src.len())] {
            for _ in 0..3 {
                let mut b = src.clone();
                for _ in 0..32 {
                    let at = lo + (rng.next() as usize) % (hi - lo);
                    b[at] ^= 1 << (rng.next() % 8);
                }
                cases += 1;
                read_evtx(name, &b);
            }
        }
        // Zeroed fields: every u32 of the file header's first 128 bytes and of the first
        // chunk header's first 128 bytes.
        for base in [0usize, 4096] {
            for at in (base..base + 128).step_by(4) {
                let mut b = src.clone();
                b[at..at + 4].fill(0);
                cases += 1;
                read_evtx(name, &b);
            }
        }
    }
    eprintln!("{cases} evtx cases");
    assert!(cases > 3 * 80, "{cases} cases");
}

/// `analyze` on a folder of damaged logs (a cut CBS log, a UTF-16 log with lone surrogates,
/// an event log with flipped bytes): it concludes.
#[test]
fn analyze_concludes_on_damaged_logs() {
    let dir = std::env::temp_dir().join(format!("fltblame-logs-damage-{}", std::process::id()));
    let inp = dir.join("in");
    std::fs::create_dir_all(&inp).unwrap();
    let logs = corpus("log");
    let cbs = &logs.iter().find(|(n, _)| n == "hofcake_CBS.log").unwrap().1;
    std::fs::write(inp.join("CBS.log"), &cbs[..cbs.len() / 2 + 1]).unwrap();
    let mut u = logs
        .iter()
        .find(|(n, _)| n.contains("utf16le"))
        .unwrap()
        .1
        .clone();
    for at in (1000..u.len() - 2).step_by(7777) {
        let at = at & !1;
        u[at..at + 2].copy_from_slice(&[0x00, 0xD8]);
    }
    std::fs::write(inp.join("CBS-utf16.log"), &u).unwrap();
    let mut ev = corpus("evtx").remove(0).1;
    for at in (4096 + 600..ev.len()).step_by(997) {
        ev[at] ^= 0x41;
    }
    std::fs::write(inp.join("Setup.evtx"), &ev).unwrap();
    let out = dir.join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_fltblame"))
        .args([
            "analyze",
            inp.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("verdict.json")).unwrap()).unwrap();
    assert!(v["conclusion"].is_string(), "{v}");
    assert!(Path::new(&out.join("report.html")).exists());
    let _ = std::fs::remove_dir_all(&dir);
}
