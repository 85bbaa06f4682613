//! A whole ETL file: buffer walk, Xpress buffers, every event header kind, the logfile header,
//! the per-processor merge, and the kernel payload decoders (incl. minifilter 96-101).
#![no_main]
use fltblame::etl::{decode, DecodeCtx, Etl};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
        let _ = fltblame::etl::info(&etl);
    }
});
