//! A whole ETL file: buffer walk, Xpress buffers, every event header kind, the logfile header,
//! the per-processor merge, and the kernel payload decoders (incl. minifilter 96-101).
#![no_main]
use fltblame::etl::{decode, DecodeCtx, Etl};
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    common::single_thread();
    if let Ok(etl) = Etl::from_bytes("fuzz.etl", data.to_vec()) {
        let ctx = DecodeCtx { first_timestamp: 0 };
        let mut m = etl.merged();
        let mut n = 0;
        while let Some(ev) = m.next() {
            let _ = decode(&ev, &ctx);
            n += 1;
            if n > 100_000 {
                break;
            }
        }
        // The summary (rundown scan, capabilities, text) on one input in eight: it costs more
        // than the walk itself, and the fuzzer keeps what reaches new code either way.
        if data.len() % 8 == 0 {
            let _ = fltblame::etl::info(&etl);
        }
    }
});
