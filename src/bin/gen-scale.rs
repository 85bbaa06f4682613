//! `gen-scale`: make a large PML for the scale benchmark (`benches/scale.sh`), never committed.
//!
//! Usage: `gen-scale --out FILE --bytes N [--base CAPTURE.pml]`. The events of the base capture
//! (default: the corpus's `CompressedLogfileTests64bitUTC.pml`, a realistic mix of registry,
//! file, process and network events with stacks and 32 ordinary ACL denials) are repeated, each
//! copy shifted in time to follow the previous one, until the file holds about N bytes. Written
//! with the project's PML writer; the process, module and string tables are the base capture's.

use fltblame::pml::writer::{write_file, PmlModel};
use fltblame::pml::Pml;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut out = None;
    let mut bytes: u64 = 1 << 30;
    let mut base = PathBuf::from("../shared/corpus/pml/CompressedLogfileTests64bitUTC.pml");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => out = args.next().map(PathBuf::from),
            "--bytes" => bytes = args.next().and_then(|v| v.parse().ok()).unwrap_or(bytes),
            "--base" => base = args.next().map(PathBuf::from).unwrap_or(base),
            _ => {
                eprintln!("usage: gen-scale --out FILE --bytes N [--base CAPTURE.pml]");
                return ExitCode::from(2);
            }
        }
    }
    let Some(out) = out else {
        eprintln!("usage: gen-scale --out FILE --bytes N [--base CAPTURE.pml]");
        return ExitCode::from(2);
    };
    let pml = match Pml::open(&base) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("gen-scale: {e}");
            return ExitCode::from(2);
        }
    };
    let mut model = match PmlModel::from_pml(&pml) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("gen-scale: {e}");
            return ExitCode::from(2);
        }
    };
    let copy: Vec<_> = std::mem::take(&mut model.events);
    let base_bytes = pml.bytes().len() as u64;
    // Event records make most of a capture; the offsets array adds 5 bytes per event.
    let copies = (bytes / base_bytes.max(1)).max(1);
    let span = pml.last_time().saturating_sub(pml.first_time()) + 10_000; // + 1 ms
    model.events.reserve(copy.len() * copies as usize);
    for k in 0..copies {
        for e in &copy {
            let mut e = e.clone();
            e.time += k * span;
            e.padding.clear();
            model.events.push(e);
        }
    }
    if let Err(e) = write_file(&model, &out) {
        eprintln!("gen-scale: {}: {e}", out.display());
        return ExitCode::from(2);
    }
    println!(
        "{}: {} events ({} copies of {})",
        out.display(),
        model.events.len(),
        copies,
        base.display()
    );
    ExitCode::SUCCESS
}
