//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `../shared` beside the crate, or `$FLTBLAME_SHARED`.
pub fn shared_dir() -> PathBuf {
    std::env::var_os("FLTBLAME_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

/// The five corpus PML stems.
pub const PML_STEMS: [&str; 5] = [
    "CompressedLogFileUTC32Filesystem",
    "CompressedLogFileUTC64Process",
    "CompressedLogFileUTC64Registry",
    "CompressedLogfileTests32bitUTC",
    "CompressedLogfileTests64bitUTC",
];

/// Path of a corpus PML.
pub fn corpus_pml(stem: &str) -> PathBuf {
    shared_dir().join("corpus/pml").join(format!("{stem}.pml"))
}

/// Read a gzip file whole.
pub fn gunzip(path: &std::path::Path) -> Vec<u8> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(f)
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    out
}

/// Procmon's CSV export of a corpus PML: (header names, rows).
pub fn procmon_csv(stem: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let raw = gunzip(
        &shared_dir()
            .join("corpus/pml")
            .join(format!("{stem}.csv.gz")),
    );
    let raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&raw);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .terminator(csv::Terminator::CRLF)
        .from_reader(raw);
    let header = rdr.headers().unwrap().iter().map(str::to_string).collect();
    let rows = rdr
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

/// A [`Command`] for the `fltblame` binary under test.
pub fn fltblame_cmd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fltblame"))
}

/// Run `cmd` to its end: (exit code, -1 when there is none; stdout; stderr), the output text
/// decoded lossily from UTF-8.
pub fn outcome(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Run the `fltblame` binary with `args`: (exit code, stdout, stderr).
pub fn fltblame(args: &[&str]) -> (i32, String, String) {
    outcome(fltblame_cmd().args(args))
}

/// `p` as text (a UTF-8 path).
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A Python with `duckdb`, when `FLTBLAME_PYTHON` names one.
pub fn duckdb_python() -> Option<String> {
    let py = std::env::var("FLTBLAME_PYTHON").ok()?;
    let ok = Command::new(&py)
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(py)
}

/// A fixed-seed xorshift generator for the damage tests (no randomness between runs).
pub struct Xs(pub u64);

impl Xs {
    /// The next 64-bit value.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
