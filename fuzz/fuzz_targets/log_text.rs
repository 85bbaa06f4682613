//! Text logs: encoding detection, content sniffing, and each line parser (CBS, setupapi,
//! WindowsUpdate, fltmc) plus the failure classifier, on arbitrary bytes. The first byte picks
//! the parser (its low bits; 0 = sniff), so every parser also sees input that does not sniff as
//! its own kind; with bit 3 set the rest is first made valid UTF-8, so that the line parsers get
//! most executions (raw bytes spend theirs in encoding detection).
#![no_main]
use fltblame::logs::{classify, read_as, read_bytes, LogKind, ReadOptions};
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    common::single_thread();
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let opts = ReadOptions::default();
    let kind = match first % 5 {
        0 => None,
        1 => Some(LogKind::Cbs),
        2 => Some(LogKind::SetupApi),
        3 => Some(LogKind::WindowsUpdate),
        _ => Some(LogKind::Fltmc),
    };
    let text;
    let body: &[u8] = if first & 8 != 0 {
        text = String::from_utf8_lossy(rest);
        text.as_bytes()
    } else {
        rest
    };
    let log = match kind {
        None => read_bytes("fuzz.log", body, &opts),
        Some(k) => read_as("fuzz.log", body, k, &opts),
    };
    if let Ok(log) = log {
        let _ = classify(&log);
    }
});
