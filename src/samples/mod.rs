//! Generators of the committed samples under `samples/` (`shared/docs/DESIGN.md`, Layout:
//! "small captures of the cases, made by committed generators, with expected verdicts").
//!
//! Each sample is built in memory from code, deterministically (fixed times, a fixed-seed
//! [`Rng`]), and written with the PML writer ([`crate::pml::writer`]) or the ETL writer
//! ([`crate::etl::writer`]). `gen-samples [DIR]` writes
//! them; `gen-samples --check [DIR]` and `tests/samples_up_to_date.rs` fail when a committed file
//! differs from what the generator makes now.
//!
//! | sample | what |
//! |---|---|
//! | `case-a-amdk8/capture.pml` | [`case_a`]: Windows 7 SP1 x86 boot log of the KB4474419 reboot; TrustedInstaller's `RegSetValue ...\Services\AmdK8\Start` denied while krnlmgr.sys (TMS) does same-thread I/O inside it |
//! | `case-b-softwaredistribution/trace.etl` | [`case_b`]: Windows 10 1809 x64 WPR trace with minifilter tracing (written by [`crate::etl::writer`]); TiWorker's create of `...\SoftwareDistribution\Download\...\r\wpdmtp.dll` failed by gscfmgr.sys's pre-create callback (FltIoFailure, STATUS_ACCESS_DENIED) |
//! | `case-b-control/trace.etl` | [`case_b`]: the control: a Medium-IL user's expand.exe denied by the file system itself after every filter passed the create |

use std::path::{Path, PathBuf};

pub mod case_a;
pub mod case_a_logs;
pub mod case_b;

/// A small deterministic pseudo-random generator (SplitMix64 steps): the only source of
/// variation in the samples, always started from a fixed seed so every run gives the same bytes.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// Next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `lo..=hi` (`lo` when `hi <= lo`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo + 1)
    }
}

/// Every sample file: (path relative to the samples folder, `/`-separated; bytes).
pub fn generate_all() -> Vec<(String, Vec<u8>)> {
    vec![
        ("case-a-amdk8/capture.pml".to_string(), case_a::capture()),
        ("case-a-amdk8/CBS.log".to_string(), case_a_logs::cbs_log()),
        (
            "case-a-amdk8/setupapi.dev.log".to_string(),
            case_a_logs::setupapi_log(),
        ),
        (
            "case-b-softwaredistribution/trace.etl".to_string(),
            case_b::trace(),
        ),
        ("case-b-control/trace.etl".to_string(), case_b::control()),
    ]
}

/// Write every sample under `dir` (folders created as needed). Returns the paths written.
pub fn write_all(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (rel, bytes) in generate_all() {
        let path = dir.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, bytes)?;
        written.push(path);
    }
    Ok(written)
}

/// Compare every sample under `dir` with what the generators make now. Returns one message per
/// file that is missing, unreadable or different (empty = up to date).
pub fn check_all(dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for (rel, bytes) in generate_all() {
        let path = dir.join(&rel);
        match std::fs::read(&path) {
            Err(e) => problems.push(format!(
                "{}: cannot read ({e}); run `gen-samples {}`",
                path.display(),
                dir.display()
            )),
            Ok(on_disk) if on_disk != bytes => {
                let at = on_disk
                    .iter()
                    .zip(&bytes)
                    .position(|(a, b)| a != b)
                    .unwrap_or(on_disk.len().min(bytes.len()));
                problems.push(format!(
                    "{}: stale ({} bytes on disk, {} generated, first difference at byte 0x{at:X}); run `gen-samples {}` and commit it",
                    path.display(),
                    on_disk.len(),
                    bytes.len(),
                    dir.display()
                ));
            }
            Ok(_) => {}
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn rng_is_deterministic_and_in_range() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..100 {
            let x = a.range(10, 20);
            assert_eq!(x, b.range(10, 20));
            assert!((10..=20).contains(&x));
        }
        assert_eq!(Rng::new(1).range(5, 5), 5);
    }
}
