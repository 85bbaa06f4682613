//! A whole PML file: header, string/process/module/host/port tables, the event offsets array or
//! the record walk, every event's header, stack and Procmon text (all 27 columns).
#![no_main]
use fltblame::pml::{row::render, Pml};
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    common::single_thread();
    if let Ok(pml) = Pml::from_bytes(data.to_vec(), std::path::Path::new("fuzz.pml")) {
        let first = pml.first_time();
        for i in 0..pml.event_count().min(256) {
            if let Some(ev) = pml.event(i) {
                let _ = render(&pml, &ev, first);
                for a in ev.stack(pml.header.is_64bit) {
                    let _ = pml.resolve_frame(pml.process(ev.process_index), a);
                }
            }
        }
    }
});
