//! One event record with arbitrary class, operation and detail bytes, decoded inside a valid
//! corpus-like capture: the detail decoders of every class (Registry, File System, Process,
//! Network, Profiling) on hostile detail and extra-detail blocks, 32- and 64-bit.
#![no_main]
use fltblame::pml::detail::decode;
use fltblame::pml::reader::decode_event;
use fltblame::pml::writer::{write, EventModel, PmlModel};
use fltblame::pml::Pml;
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    common::single_thread();
    if data.len() < 6 {
        return;
    }
    let is_64bit = data[0] & 1 == 1;
    let class = u32::from(data[1] % 7);
    let operation = u16::from_le_bytes([data[2], data[3]]) % 64;
    let split = usize::from(data[4]).min(data.len() - 5);
    let body = &data[5..];
    let (detail, extra) = body.split_at(split.min(body.len()));
    let mut model = PmlModel::new(is_64bit);
    model.events.push(EventModel {
        class,
        operation,
        time: 132_389_902_907_752_429,
        detail: detail.to_vec(),
        extra: (data[4] & 0x80 != 0).then(|| extra.to_vec()),
        ..EventModel::default()
    });
    let bytes = write(&model);
    let Ok(pml) = Pml::from_bytes(bytes, std::path::Path::new("fuzz.pml")) else {
        return;
    };
    if let Some(ev) = decode_event(pml.bytes(), pml.event_offsets[0] as usize, 0, is_64bit) {
        let _ = decode(&pml, &ev);
    }
});
