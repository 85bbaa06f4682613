//! Inputs that crashed a fuzz target (`fuzz/`), kept under `tests/data/fuzz/<target>/` and
//! replayed here on every test run with what the target does.
//!
//! - `pml_file/crash-*` (3 inputs, 1-2 KB): a damaged header sent the record walk to a start
//!   offset near `usize::MAX`, and `off + skip` overflowed (fixed in `walk_events`).

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
