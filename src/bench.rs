//! `fltblame bench`: decode throughput of `export --format csv`, and the ratio to procmon-parser.
//!
//! A benchmark, not a test: figures depend on the machine. Both sides read the file from the
//! page cache and render Procmon's CSV rows in memory (procmon-parser mode b of
//! `corpus/oracles/pml/BENCH.md`: `get_compatible_csv_info` + `csv.writer`).

use crate::export::{write_csv, CsvColumns};
use crate::pml::Pml;
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::time::Instant;

/// The peer's side, run by the given Python: prints the median seconds of `runs` runs.
const PEER_SCRIPT: &str = include_str!("../benches/peer_procmon_parser.py");

/// The median of `v` (the upper one of an even count). Panics when `v` is empty.
pub(crate) fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Run a peer benchmark `script` with the Python `py` as `py -c script file runs`; returns its
/// stdout. Errors: `py` cannot be started (`<py>: cannot run`); the script fails
/// (`<what> failed: <its stderr>`).
pub(crate) fn run_peer(
    py: &Path,
    script: &str,
    file: &Path,
    runs: usize,
    what: &str,
) -> Result<Vec<u8>> {
    let out = std::process::Command::new(py)
        .arg("-c")
        .arg(script)
        .arg(file)
        .arg(runs.to_string())
        .output()
        .with_context(|| format!("{}: cannot run", py.display()))?;
    if !out.status.success() {
        bail!("{what} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(out.stdout)
}

/// Run the benchmark on `file` and print a table on stdout.
/// Errors: unreadable file; the peer script failing.
pub fn run(file: &Path, runs: usize, peer_python: Option<&Path>) -> Result<()> {
    let runs = runs.max(1);
    let bytes = std::fs::metadata(file)?.len() as f64;
    let mut secs = Vec::new();
    let mut events = 0usize;
    for _ in 0..runs {
        let t = Instant::now();
        let pml = Pml::open(file)?;
        let mut out = Vec::with_capacity(64 << 20);
        write_csv(&pml, CsvColumns::All, &mut out, &|_| {})?;
        events = pml.event_count();
        secs.push(t.elapsed().as_secs_f64());
    }
    let ours = median(&secs);
    println!(
        "file: {} ({} bytes, {events} events), {} threads, median of {runs}",
        file.display(),
        bytes,
        rayon::current_num_threads()
    );
    println!("| reader | median s | events/s | MB/s |");
    println!("|---|---|---|---|");
    println!(
        "| fltblame export --format csv | {ours:.3} | {:.0} | {:.2} |",
        events as f64 / ours,
        bytes / 1e6 / ours
    );
    if let Some(py) = peer_python {
        let out = run_peer(py, PEER_SCRIPT, file, runs, "peer benchmark")?;
        let peer: f64 = String::from_utf8_lossy(&out)
            .trim()
            .parse()
            .context("peer output")?;
        println!(
            "| procmon-parser (Python) | {peer:.3} | {:.0} | {:.2} |",
            events as f64 / peer,
            bytes / 1e6 / peer
        );
        println!("ratio: fltblame is {:.1}x procmon-parser", peer / ours);
    }
    Ok(())
}
