//! `etl::bench`: read throughput on an ETL file (events/s, MB/s of on-disk bytes), and the
//! ratio to dissect.etl measured in the same run.
//!
//! The compared work is BENCH.md's middle mode (`shared/corpus/oracles/etl/BENCH.md`): walk
//! every event and read its size, opcode, raw timestamp and provider GUID. Our timed section
//! also includes opening the file (mapping, buffer walk, logfile header), which the peer's does
//! not; the headline mode additionally delivers the events in global time order.

use super::kernel;
use super::Etl;
use crate::bench::{median, run_peer};
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

/// The peer's side, run by the given Python (needs `dissect.etl`).
const PEER_SCRIPT: &str = include_str!("../../benches/peer_dissect_etl.py");

/// Figures of one measured mode.
#[derive(Clone, Debug, Serialize)]
pub struct BenchMode {
    /// Mode name.
    pub name: String,
    /// What the timed section does.
    pub description: String,
    /// Events seen per run.
    pub events: u64,
    /// Seconds of each run.
    pub runs_s: Vec<f64>,
    /// Median seconds.
    pub median_s: f64,
    /// Events per second (median).
    pub events_per_s: f64,
    /// On-disk MB (10^6 bytes) per second (median).
    pub mb_per_s: f64,
}

/// Result of [`run`].
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// File measured.
    pub file: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Rayon threads available.
    pub threads: usize,
    /// Runs per mode.
    pub runs: usize,
    /// Our modes; the first is the headline.
    pub modes: Vec<BenchMode>,
    /// dissect.etl, when a Python was given.
    pub peer: Option<BenchMode>,
    /// Peer median / our headline median (how many times faster we are).
    pub ratio: Option<f64>,
}

fn mode(name: &str, description: &str, bytes: u64, events: u64, runs_s: Vec<f64>) -> BenchMode {
    let m = median(&runs_s);
    BenchMode {
        name: name.into(),
        description: description.into(),
        events,
        median_s: m,
        events_per_s: events as f64 / m,
        mb_per_s: bytes as f64 / 1e6 / m,
        runs_s,
    }
}

/// One pass of the headline mode: open, merge, read header fields of every event.
fn time_order_pass(file: &Path) -> Result<u64> {
    let etl = Etl::open(file)?;
    let mut m = etl.merged();
    let mut n = 0u64;
    let mut acc = 0u64;
    while let Some(ev) = m.next() {
        n += 1;
        acc = acc
            .wrapping_add(ev.size() as u64)
            .wrapping_add(ev.key_id() as u64)
            .wrapping_add(ev.timestamp())
            .wrapping_add(ev.provider().0[0] as u64);
    }
    black_box(acc);
    Ok(n)
}

fn parallel_pass(file: &Path) -> Result<u64> {
    let etl = Etl::open(file)?;
    let (n, acc) = etl.par_fold_buffers(
        || (0u64, 0u64),
        |a, _, evs| {
            if let Ok(evs) = evs {
                for ev in evs {
                    a.0 += 1;
                    a.1 =
                        a.1.wrapping_add(ev.size() as u64)
                            .wrapping_add(ev.key_id() as u64)
                            .wrapping_add(ev.timestamp())
                            .wrapping_add(ev.provider().0[0] as u64);
                }
            }
        },
        |a, b| (a.0 + b.0, a.1.wrapping_add(b.1)),
    );
    black_box(acc);
    Ok(n)
}

fn decode_pass(file: &Path) -> Result<u64> {
    let etl = Etl::open(file)?;
    let ctx = etl.decode_ctx();
    let mut m = etl.merged();
    let mut n = 0u64;
    let mut decoded = 0u64;
    while let Some(ev) = m.next() {
        n += 1;
        if let Ok(Some(k)) = kernel::decode(&ev, &ctx) {
            black_box(&k);
            decoded += 1;
        }
    }
    black_box(decoded);
    Ok(n)
}

fn timed(runs: usize, f: impl Fn() -> Result<u64>) -> Result<(u64, Vec<f64>)> {
    let mut secs = Vec::with_capacity(runs);
    let mut n = 0;
    for _ in 0..runs {
        let t = Instant::now();
        n = f()?;
        secs.push(t.elapsed().as_secs_f64());
    }
    Ok((n, secs))
}

/// Measure `file` (`runs` timed runs per mode, median reported); with `peer_python`, also run
/// `benches/peer_dissect_etl.py` under that interpreter. Errors: unreadable file; the peer
/// failing. Print the result with [`render_text`].
pub fn run(file: &Path, runs: usize, peer_python: Option<&Path>) -> Result<BenchReport> {
    let runs = runs.max(1);
    let bytes = std::fs::metadata(file)
        .with_context(|| format!("{}: cannot stat", file.display()))?
        .len();
    // Warm the page cache (the peer's measurement is warm too).
    time_order_pass(file)?;
    let mut modes = Vec::new();
    let (n, s) = timed(runs, || time_order_pass(file))?;
    modes.push(mode(
        "time_order_header_fields",
        "open + every event in global time order (per-CPU merge), reading size, opcode, raw time, provider GUID",
        bytes,
        n,
        s,
    ));
    let (n, s) = timed(runs, || parallel_pass(file))?;
    modes.push(mode(
        "file_order_parallel_header_fields",
        "open + every event, buffers on all cores, same fields (no global order)",
        bytes,
        n,
        s,
    ));
    let (n, s) = timed(runs, || decode_pass(file))?;
    modes.push(mode(
        "time_order_kernel_decode",
        "headline mode + typed decoding of every kernel event",
        bytes,
        n,
        s,
    ));
    let peer = match peer_python {
        None => None,
        Some(py) => {
            let out = run_peer(py, PEER_SCRIPT, file, runs, "peer benchmark (dissect.etl)")?;
            let v: serde_json::Value =
                serde_json::from_slice(&out).context("peer benchmark output is not JSON")?;
            let runs_s: Vec<f64> = v["runs_s"]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
                .unwrap_or_default();
            if runs_s.is_empty() {
                bail!("peer benchmark output has no runs");
            }
            Some(mode(
                &format!(
                    "dissect.etl {}",
                    v["dissect_etl"].as_str().unwrap_or("?")
                ),
                "BENCH.md middle mode: for rec in etl, read size, opcode, time_delta, provider_id (loop only)",
                bytes,
                v["events"].as_u64().unwrap_or(0),
                runs_s,
            ))
        }
    };
    let ratio = peer.as_ref().map(|p| p.median_s / modes[0].median_s);
    Ok(BenchReport {
        file: file.display().to_string(),
        bytes,
        threads: rayon::current_num_threads(),
        runs,
        modes,
        peer,
        ratio,
    })
}

/// Markdown table of a [`BenchReport`].
pub fn render_text(r: &BenchReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "file: {} ({} bytes), {} threads, median of {} runs",
        r.file, r.bytes, r.threads, r.runs
    );
    let _ = writeln!(s, "| reader / mode | events | median s | events/s | MB/s |");
    let _ = writeln!(s, "|---|---|---|---|---|");
    for m in r.modes.iter().chain(r.peer.iter()) {
        let _ = writeln!(
            s,
            "| {} | {} | {:.4} | {:.0} | {:.2} |",
            m.name, m.events, m.median_s, m.events_per_s, m.mb_per_s
        );
    }
    for m in r.modes.iter().chain(r.peer.iter()) {
        let _ = writeln!(s, "- {}: {}", m.name, m.description);
    }
    if let Some(x) = r.ratio {
        let _ = writeln!(
            s,
            "ratio: fltblame ({}) is {x:.1}x dissect.etl",
            r.modes[0].name
        );
    }
    s
}
