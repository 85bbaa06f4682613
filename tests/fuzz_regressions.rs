//! Every crash the fuzz targets (`fuzz/`) found, as a test of the normal suite: the input that
//! crashed, or the smallest input that reaches the same line, must now be read without a panic.

use fltblame::logs::pattern::Template;
use fltblame::logs::{classify, read_as, read_bytes, LogKind, ReadOptions};

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
