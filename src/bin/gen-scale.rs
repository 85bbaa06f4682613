//! `gen-scale`: make large captures for the scale benchmark (`benches/scale.sh`), never
//! committed, and the small seed inputs of the fuzz targets (`fuzz/run.sh`).
//!
//! Usage:
//!
//! * `gen-scale --out FILE --bytes N [--base CAPTURE.pml]` (PML, the default format): the events
//!   of the base capture (default: the corpus's `CompressedLogfileTests64bitUTC.pml`, a realistic
//!   mix of registry, file, process and network events with stacks and 32 ordinary ACL denials)
//!   are repeated, each copy shifted in time to follow the previous one, until the file holds
//!   about N bytes. Written with the project's PML writer; the process, module and string tables
//!   are the base capture's.
//! * `gen-scale --format etl --out FILE --bytes N`: an ETL trace of about N bytes written with the
//!   project's ETL writer, streamed copy by copy (memory stays bounded): the events of case B's
//!   WPR kernel trace (`src/samples/case_b.rs`: Process, Thread, Image, FileIo, Registry,
//!   StackWalk and minifilter init / completion events on 4 CPUs) repeated and shifted in time,
//!   64 copies per write so the plain 64 KB buffers fill as in a real trace. Only the copy in the middle keeps the denial (gscfmgr.sys failing
//!   TiWorker's create with ACCESS DENIED, its FltIoFailure events); in every other copy that
//!   create succeeds and the failure events are left out.
//! * `gen-scale --seeds DIR`: small seed inputs for the fuzz targets, one folder per target
//!   (`pml_file`, `pml_detail`, `etl_file`, `xpress`, `intake`): slices of the samples' models and
//!   of the corpus captures (`--shared DIR`, default `../shared`), a few KB each.

use fltblame::etl::writer::{self as etlw, payload::group, EtlModel};
use fltblame::pml::writer::{write as write_pml, write_file, write_unclosed, PmlModel};
use fltblame::pml::Pml;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: gen-scale --out FILE --bytes N [--format pml|etl] [--base CAPTURE.pml]\n       gen-scale --seeds DIR [--shared DIR]";

fn main() -> ExitCode {
    let mut out = None;
    let mut bytes: u64 = 1 << 30;
    let mut base = PathBuf::from("../shared/corpus/pml/CompressedLogfileTests64bitUTC.pml");
    let mut format = "pml".to_string();
    let mut seeds = None;
    let mut shared = PathBuf::from("../shared");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => out = args.next().map(PathBuf::from),
            "--bytes" => bytes = args.next().and_then(|v| v.parse().ok()).unwrap_or(bytes),
            "--base" => base = args.next().map(PathBuf::from).unwrap_or(base),
            "--format" => format = args.next().unwrap_or_default(),
            "--seeds" => seeds = args.next().map(PathBuf::from),
            "--shared" => shared = args.next().map(PathBuf::from).unwrap_or(shared),
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let res = if let Some(dir) = seeds {
        write_seeds(&dir, &shared)
    } else {
        let Some(out) = out else {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        };
        match format.as_str() {
            "pml" => scale_pml(&out, bytes, &base),
            "etl" => scale_etl(&out, bytes),
            _ => Err(format!("unknown format {format:?} (pml or etl)")),
        }
    };
    match res {
        Ok(msg) => {
            println!("{msg}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen-scale: {e}");
            ExitCode::from(2)
        }
    }
}

fn scale_pml(out: &Path, bytes: u64, base: &Path) -> Result<String, String> {
    let pml = Pml::open(base).map_err(|e| e.to_string())?;
    let mut model = PmlModel::from_pml(&pml)?;
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
    write_file(&model, out).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(format!(
        "{}: {} events ({} copies of {})",
        out.display(),
        model.events.len(),
        copies,
        base.display()
    ))
}

/// FileIo OperationEnd, and the minifilter failure events (`format-etl.md` §4.5, §5).
const OP_END: u8 = 76;
const FLT_FAILURE: [u8; 2] = [100, 101];
const ACCESS_DENIED: u32 = 0xC000_0022;
/// Offsets in the file: BuffersWritten of the logfile header (header buffer 0x48 + SYSTEM
/// event header 0x20 + 0x24), a buffer's SequenceNumber and BufferFlag.
const BUFFERS_WRITTEN_AT: usize = 0x48 + 0x20 + 0x24;
const SEQUENCE_AT: usize = 0x18;
const FLAGS_AT: usize = 0x34;

fn scale_etl(out: &Path, bytes: u64) -> Result<String, String> {
    let mut base = fltblame::samples::case_b::model();
    base.compress = false;
    base.buffer_size = 65_536;
    let first = base.events.iter().map(|e| e.timestamp).min().unwrap_or(0);
    let last = base.events.iter().map(|e| e.timestamp).max().unwrap_or(0);
    let span = last - first + 10_000; // + 1 ms
                                      // Copies are written BATCH at a time, so that buffers fill as in a real trace (a buffer is
                                      // flushed when full); the size of a batch's data buffers tells how many copies are needed.
    const BATCH: u64 = 64;
    let bsize = base.buffer_size as usize;
    let batch_of = |from: u64, n: u64, middle: u64| {
        let mut m = base.clone();
        m.events.clear();
        for k in from..from + n {
            let c = if k == middle {
                shifted(&base, k * span)
            } else {
                without_denial(&base, k * span)
            };
            m.events.extend(c.events);
        }
        m
    };
    let probe = etlw::write(&batch_of(0, BATCH, u64::MAX));
    let per_copy = ((probe.len() - bsize) as u64 / BATCH).max(1);
    let copies = (bytes / per_copy).max(1);
    let middle = copies / 2;
    let end_time = base.header.filetime(last + (copies - 1) * span);

    let mut f = std::fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let io = |e: std::io::Error| format!("{}: {e}", out.display());
    let mut buffers: u64 = 1;
    let mut events: u64 = 1;
    let mut k = 0;
    while k < copies {
        let n = BATCH.min(copies - k);
        let mut m = batch_of(k, n, middle);
        m.header.end_time = end_time;
        let w = etlw::write_with_stats(&m);
        let mut b = w.bytes;
        let header_buffer = u32_at(&b, 0) as usize;
        if k == 0 {
            f.write_all(&b[..header_buffer]).map_err(io)?;
        }
        // Data buffers: renumbered, FLUSH_MARKER only on the file's last buffer.
        let mut pos = header_buffer;
        while pos + 0x48 <= b.len() {
            let size = u32_at(&b, pos) as usize;
            if size < 0x48 {
                return Err("writer produced a buffer smaller than its header".into());
            }
            b[pos + SEQUENCE_AT..pos + SEQUENCE_AT + 8].copy_from_slice(&buffers.to_le_bytes());
            let last_buffer = k + n == copies && pos + size >= b.len();
            if !last_buffer {
                b[pos + FLAGS_AT] &= !1;
            }
            buffers += 1;
            pos += size;
        }
        f.write_all(&b[header_buffer..]).map_err(io)?;
        events += w.events - 1;
        k += n;
    }
    f.seek(SeekFrom::Start(BUFFERS_WRITTEN_AT as u64))
        .map_err(io)?;
    f.write_all(&(buffers as u32).to_le_bytes()).map_err(io)?;
    f.flush().map_err(io)?;
    Ok(format!(
        "{}: {events} events in {buffers} buffers ({copies} copies of case B's trace; the denial in copy {middle})",
        out.display()
    ))
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn shifted(base: &EtlModel, by: u64) -> EtlModel {
    let mut m = base.clone();
    for e in &mut m.events {
        e.timestamp += by;
    }
    m
}

/// `base` shifted by `by`, with the failure events left out and the denied OperationEnd made
/// a success.
fn without_denial(base: &EtlModel, by: u64) -> EtlModel {
    let mut m = shifted(base, by);
    m.events
        .retain(|e| !(e.group == group::FILE_IO && FLT_FAILURE.contains(&e.opcode)));
    for e in &mut m.events {
        if e.group == group::FILE_IO && e.opcode == OP_END {
            let at = 2 * e.pointer_size();
            if e.payload.len() >= at + 4 && u32_at(&e.payload, at) == ACCESS_DENIED {
                e.payload[at..at + 4].copy_from_slice(&0u32.to_le_bytes());
            }
        }
    }
    m
}

// ---------------------------------------------------------------------------------------------
// Fuzz seeds

/// Up to `n` events of `model`, one per (class, operation) first, stacks cut to 6 frames, every
/// process's modules cut to 4, a fresh string table: a valid capture of a few KB.
fn tiny_pml(mut model: PmlModel, n: usize) -> PmlModel {
    let mut seen = std::collections::HashSet::new();
    let mut keep = Vec::new();
    for e in &model.events {
        if keep.len() < n && seen.insert((e.class, e.operation)) {
            keep.push(e.clone());
        }
    }
    for e in &mut keep {
        e.stack.truncate(6);
        e.padding.clear();
    }
    let used: std::collections::HashSet<u32> = keep.iter().map(|e| e.process_index).collect();
    model.processes.retain(|p| used.contains(&p.index));
    for p in &mut model.processes {
        p.modules.truncate(4);
    }
    model.events = keep;
    model.string_order.clear();
    for p in &mut model.processes {
        p.small_icon = 0;
        p.large_icon = 0;
    }
    model.icons.truncate(1);
    model.hosts.truncate(2);
    model.ports.truncate(2);
    model
}

fn put(dir: &Path, target: &str, name: &str, bytes: &[u8]) -> Result<(), String> {
    let d = dir.join(target);
    std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
    std::fs::write(d.join(name), bytes).map_err(|e| format!("{}/{name}: {e}", d.display()))
}

fn zip_of(members: &[(&str, &[u8], bool)]) -> Result<Vec<u8>, String> {
    use zip::write::SimpleFileOptions;
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes, deflate) in members {
        let method = if *deflate {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        z.start_file(
            *name,
            SimpleFileOptions::default().compression_method(method),
        )
        .map_err(|e| e.to_string())?;
        z.write_all(bytes).map_err(|e| e.to_string())?;
    }
    Ok(z.finish().map_err(|e| e.to_string())?.into_inner())
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = e.write_all(bytes);
    e.finish().unwrap_or_default()
}

fn write_seeds(dir: &Path, shared: &Path) -> Result<String, String> {
    let mut count = 0;
    let mut put = |t: &str, n: &str, b: &[u8]| {
        count += 1;
        put(dir, t, n, b)
    };
    // PML: the case-A sample and three corpus captures (64- and 32-bit), a dozen events each;
    // one also written unclosed (no tables: read by walking the records).
    let mut pmls: Vec<(String, PmlModel)> = vec![(
        "case_a".into(),
        tiny_pml(fltblame::samples::case_a::model(), 12),
    )];
    for f in [
        "CompressedLogFileUTC32Filesystem",
        "CompressedLogFileUTC64Registry",
        "CompressedLogFileUTC64Process",
    ] {
        let p = shared.join("corpus/pml").join(format!("{f}.pml"));
        let pml = Pml::open(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let m = PmlModel::from_pml(&pml)?;
        pmls.push((f.to_string(), tiny_pml(m, 10)));
    }
    let mut detail_seeds = 0;
    for (name, m) in &pmls {
        put("pml_file", &format!("{name}.pml"), &write_pml(m))?;
        // pml_detail: [bitness, class, operation (2), split | has-extra, detail, extra].
        for e in &m.events {
            let mut v = vec![
                u8::from(m.is_64bit),
                e.class as u8,
                e.operation.to_le_bytes()[0],
                e.operation.to_le_bytes()[1],
            ];
            let split = e.detail.len().min(0x7F) as u8;
            v.push(split | if e.extra.is_some() { 0x80 } else { 0 });
            v.extend_from_slice(&e.detail[..usize::from(split)]);
            if let Some(x) = &e.extra {
                v.extend_from_slice(x);
            }
            put("pml_detail", &format!("{name}-{detail_seeds}.bin"), &v)?;
            detail_seeds += 1;
        }
    }
    let unclosed = write_unclosed(&pmls[0].1);
    put("pml_file", "case_a-unclosed.pml", &unclosed)?;

    // ETL: case B's two traces, their first events by time, in 1 KB buffers, plain and
    // Xpress-compressed; the compressed buffer bodies also seed the Xpress target.
    let mut etls = Vec::new();
    for (name, m) in [
        ("case_b", fltblame::samples::case_b::model()),
        ("case_b_control", fltblame::samples::case_b::control_model()),
    ] {
        let mut m = m;
        m.events.sort_by_key(|e| e.timestamp);
        // One event per (group, opcode) first, in time order: rundowns, FileIo, Registry,
        // StackWalk and minifilter events all appear.
        let mut seen = std::collections::HashSet::new();
        m.events
            .retain(|e| seen.insert((e.group, e.opcode)) || e.opcode >= 96);
        m.events.truncate(48);
        m.buffer_size = 1024;
        for compress in [false, true] {
            m.compress = compress;
            let b = etlw::write(&m);
            let n = format!("{name}{}.etl", if compress { "-xpress" } else { "" });
            put("etl_file", &n, &b)?;
            etls.push(b);
        }
    }
    for (i, b) in etls.iter().enumerate() {
        let body = &b[b.len().min(1024)..];
        let c = etlw::xpress::compress(&body[..body.len().min(2048)]);
        put("xpress", &format!("etl-{i}.bin"), &c)?;
    }
    let text = b"CBS Starting TrustedInstaller initialization. aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    put("xpress", "text.bin", &etlw::xpress::compress(text))?;

    // Intake: archives of small inputs (a PML, a CBS log, an ETL), stored and deflated, one
    // nested zip, a gzip, a name that escapes and one in a subfolder.
    let cbs = fltblame::samples::case_a_logs::cbs_log();
    let cbs = &cbs[..cbs.len().min(1500)];
    let setupapi = fltblame::samples::case_a_logs::setupapi_log();
    let setupapi = &setupapi[..setupapi.len().min(1000)];
    let pml = write_pml(&pmls[0].1);
    let inner = zip_of(&[("Logs/CBS/CBS.log", cbs, true)])?;
    put(
        "intake",
        "bundle.zip",
        &zip_of(&[
            ("capture.pml", &pml, true),
            ("Logs/CBS/CBS.log", cbs, true),
            ("setupapi.dev.log", setupapi, false),
            ("trace.etl", &etls[0][..etls[0].len().min(3072)], false),
        ])?,
    )?;
    put(
        "intake",
        "nested.zip",
        &zip_of(&[("inner.zip", &inner, false), ("../evil.log", cbs, true)])?,
    )?;
    put("intake", "cbs.log.gz", &gz(cbs))?;
    Ok(format!("{}: {count} seed files", dir.display()))
}
