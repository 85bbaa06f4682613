//! Text logs: encoding detection, content sniffing, and each line parser (CBS, setupapi,
//! WindowsUpdate, fltmc) plus the failure classifier, on arbitrary bytes. The first byte picks
//! the parser, so every parser also sees input that does not sniff as its own kind.
#![no_main]
use fltblame::logs::{classify, read_as, read_bytes, LogKind, ReadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    let opts = ReadOptions::default();
    let kind = match data[0] % 5 {
        0 => None,
        1 => Some(LogKind::Cbs),
        2 => Some(LogKind::SetupApi),
        3 => Some(LogKind::WindowsUpdate),
        _ => Some(LogKind::Fltmc),
    };
    let log = match kind {
        None => read_bytes("fuzz.log", &data[1..], &opts),
        Some(k) => read_as("fuzz.log", &data[1..], k, &opts),
    };
    if let Ok(log) = log {
        let _ = classify(&log);
    }
});
