//! Bundle intake: arbitrary bytes as an uploaded file (zip, gzip, zstd, nested archives, or a
//! capture / log picked by content), expanded in memory under small limits so a bomb costs
//! little: names that escape, encrypted members, duplicate names, depth, ratio and total limits.
#![no_main]
use fltblame::intake::{expand_bytes, IntakeOptions};
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    common::single_thread();
    let opts = IntakeOptions {
        max_total: 8 << 20,
        max_ratio: 50,
        max_depth: 3,
    };
    let it = expand_bytes("fuzz.zip", data.to_vec(), &opts);
    assert!(it.expanded <= opts.max_total);
    let _ = it.notes();
});
