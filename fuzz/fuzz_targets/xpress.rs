//! MS-XCA plain LZ77 ("Xpress") decompression of hostile input into a fixed output buffer.
#![no_main]
use fltblame::etl::xpress::decompress_slice;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut out = vec![0u8; 65536];
    let _ = decompress_slice(data, &mut out);
});
