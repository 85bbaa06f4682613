//! Event logs (.evtx, through the evtx crate) and the Setup / System event mapping.
#![no_main]
use fltblame::logs::{classify, read_as, LogKind, ReadOptions};
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    common::single_thread();
    if let Ok(log) = read_as(
        "fuzz.evtx",
        data,
        LogKind::EventLog,
        &ReadOptions::default(),
    ) {
        let _ = classify(&log);
    }
});
