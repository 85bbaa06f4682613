//! The log readers and the classifier never panic and never hang, whatever the bytes:
//! truncated and corrupted corpus files, binary junk, huge lines, deep nesting.

use fltblame::logs::{classify, read_as, read_bytes, sniff, LogKind, ReadOptions};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn logs_dir() -> PathBuf {
    std::env::var_os("FLTBLAME_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
        .join("corpus/logs")
}

const KINDS: [LogKind; 5] = [
    LogKind::Cbs,
    LogKind::SetupApi,
    LogKind::WindowsUpdate,
    LogKind::Fltmc,
    LogKind::EventLog,
];

/// Read `bytes` as every kind (and sniffed), classify, and check the accounting.
fn exercise(name: &str, bytes: &[u8]) {
    let t = Instant::now();
    let _ = sniff(bytes);
    for kind in KINDS {
        if let Ok(log) = read_as(name, bytes, kind, &ReadOptions::default()) {
            assert!(
                log.stats().accounted(),
                "{name} as {kind:?}: {:?}",
                log.stats()
            );
            let _ = classify(&log);
        }
    }
    if let Ok(log) = read_bytes(name, bytes, &ReadOptions::default()) {
        let _ = classify(&log);
    }
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "{name}: took {:?}",
        t.elapsed()
    );
}

/// A small deterministic generator (no dependency).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn truncated_and_corrupted_corpus_files() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut names: Vec<String> = std::fs::read_dir(logs_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".log") || n.ends_with(".evtx"))
        .collect();
    names.sort();
    for name in names {
        let bytes = std::fs::read(logs_dir().join(&name)).unwrap();
        // cut at a few places, including inside a UTF-16 unit, a UTF-8 sequence, an evtx chunk
        let mut cuts = vec![0, 1, 2, 3, 7, 4095, 4096, 4097, 65_537, bytes.len() / 2 + 1];
        for _ in 0..3 {
            cuts.push((rng.next() as usize) % bytes.len().max(1));
        }
        for c in cuts.into_iter().filter(|&c| c <= bytes.len()) {
            exercise(&format!("{name}[..{c}]"), &bytes[..c]);
        }
        // flip bytes all over the file
        let mut bad = bytes.clone();
        for _ in 0..200 {
            if bad.is_empty() {
                break;
            }
            let i = (rng.next() as usize) % bad.len();
            bad[i] = rng.next() as u8;
        }
        exercise(&format!("{name} (corrupted)"), &bad);
    }
}

#[test]
fn junk_huge_lines_and_deep_nesting() {
    let mut rng = Rng(42);
    let junk: Vec<u8> = (0..300_000).map(|_| rng.next() as u8).collect();
    exercise("junk", &junk);
    exercise("empty", b"");
    exercise("crs", &[b'\r'; 100_000]);
    exercise("nuls", &[0u8; 100_000]);
    exercise("lfs", &[b'\n'; 100_000]);
    exercise("odd utf16", b"\xFF\xFEa\0b\0c");
    exercise("elf only", b"ElfFile\0");
    // one 8 MiB line without LF, as every kind
    let mut huge = b"2020-01-01 00:00:00, Error CBS ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 8 << 20));
    exercise("huge line", &huge);
    // lines built to make the templates backtrack
    let mut nasty = String::new();
    for _ in 0..2_000 {
        nasty.push_str("2020-01-01 00:00:00, Error CSI 00000001 (F) ");
        nasty.push_str(
            &"Failed Failed to extract files from cabinet [HRESULT = 0x80070005 ".repeat(20),
        );
        nasty.push_str(&"index: 1, phase: 1, result ".repeat(20));
        nasty.push_str(&"0x0x0x[l:[l:".repeat(50));
        nasty.push('\n');
    }
    exercise("nasty", nasty.as_bytes());
    // invalid dates and times
    exercise(
        "bad dates",
        b"2020-13-45 99:99:99, Info CBS x\n2020-02-30 00:00:00, Info CSI 00000001@2020/99/1:00:00:00.000 (F) y\n",
    );
    // setupapi: 5 000 nested blocks, unbalanced closes, a section never ended
    let mut sa = String::from("[Device Install Log]\n>>>  [Install Driver Updates]\n>>>  Section start 2024/01/01 00:00:00.000\n");
    for i in 0..5_000 {
        sa.push_str(&format!(
            "     sto: {}{{Add Service: S{i}}} 00:00:00.000\n",
            " ".repeat(i % 60)
        ));
    }
    for _ in 0..100 {
        sa.push_str("!!!  sto: Failed to set Start Type. Error = 0x00000005\n     sto: {Nothing: exit(0x5)}\n");
    }
    sa.push_str("<<<  [Exit status: FAILURE(0xzz)]\n>>>  [x]\n");
    exercise("deep setupapi", sa.as_bytes());
    // many findings without objects and many hangs (the relating passes stay linear)
    let mut many = String::new();
    for i in 0..20_000 {
        many.push_str(&format!("2020-01-01 00:{:02}:{:02}, Error CBS Startup: Timed out waiting for startup processing to complete\n", (i / 60) % 60, i % 60));
        many.push_str(
            "2020-01-01 00:00:00, Info CBS INSTALL index: 0, phase: 2, result 5, inf: a.inf\n",
        );
        many.push_str("2020-01-01 00:00:00, Error CBS Doqe: Failed installing driver updates [HRESULT = 0x80070005 - E_ACCESSDENIED]\n");
    }
    exercise("many", many.as_bytes());
}
