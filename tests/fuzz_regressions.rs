//! Every crash the fuzz targets (`fuzz/`) found, as a test of the normal suite: the input that
//! crashed (kept under `tests/data/fuzz/`), or the smallest input that reaches the same line,
//! must now be read without a panic and with the stated result.
//!
//! - `pml_file/crash-*` (3 inputs, 1-2 KB): a damaged header sent the record walk to a start
//!   offset near `usize::MAX`, and `off + skip` overflowed (fixed in `walk_events`).
//! - `evtx-hex-capture-char-boundary.evtx`: a `{x:hex}` capture sliced text inside a multi-byte
//!   character (fixed in `logs::pattern`).

use fltblame::logs::pattern::Template;
use fltblame::logs::{classify, read_as, read_bytes, LogKind, ReadOptions};
use fltblame::pml::Pml;
use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz")
        .join(target);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// Each reproducer has a damaged header whose events offset lies past the end of the file:
/// it opens, no event is invented, and a warning says how many records the walk recovered.
#[test]
fn pml_file_reproducers() {
    let files = inputs("pml_file");
    assert_eq!(files.len(), 3);
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let pml = Pml::from_bytes(bytes, &f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert_eq!(pml.event_count(), 0, "{}", f.display());
        assert!(
            pml.warnings
                .iter()
                .any(|w| w.contains("0 event records recovered by walking")),
            "{}: {:?}",
            f.display(),
            pml.warnings
        );
        // What the fuzz target does next must also hold on an empty capture.
        assert!(pml.event(0).is_none());
    }
}

/// evtx_file, 2026-11-25: a `{x:hex}` capture sliced the text at byte 2 to look for `0x`; an
/// event field with a multi-byte character right after the `0` (`0Ѹ800f0816`, from a flipped
/// byte) panicked ("end byte index 2 is not a char boundary").
#[test]
fn hex_capture_before_a_multibyte_character() {
    let p = Template::parse("code={c:hex} |").unwrap();
    for text in [
        "| code=0Ѹ800f0816 |",
        "| code=Ѹ |",
        "| code=0\u{10348} |",
        "| code=0",
    ] {
        let _ = p.matches(text, &text.to_ascii_lowercase());
    }
    // The same through the readers and the classifier, as a CBS line and as a whole log.
    let line = "2017-03-28 11:07:13, Error                 CBS    Failed to stage package: HRESULT = 0Ѹ800f0816 | IntendedPackageState=Staged | PackageIdentifier=KB4091461 |\r\n";
    for kind in [LogKind::Cbs, LogKind::WindowsUpdate, LogKind::SetupApi] {
        let log = read_as("x.log", line.as_bytes(), kind, &ReadOptions::default()).unwrap();
        let _ = classify(&log);
    }
    if let Ok(log) = read_bytes("CBS.log", line.as_bytes(), &ReadOptions::default()) {
        let _ = classify(&log);
    }
}

/// evtx_file, 2026-11-25: the event log that found the bug above (an event of
/// `3gstudent_Setup.evtx` with a flipped byte in its text).
#[test]
fn evtx_with_a_multibyte_character_in_a_code() {
    let bytes = include_bytes!("data/fuzz/evtx-hex-capture-char-boundary.evtx");
    if let Ok(log) = read_as("x.evtx", bytes, LogKind::EventLog, &ReadOptions::default()) {
        let _ = classify(&log);
    }
}
