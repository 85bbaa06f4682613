//! `gen-samples [--check] [DIR]`: write the committed samples (`src/samples`) under DIR
//! (default `samples`), or with `--check` compare them with what the generators make now.
//! Exit codes: 0 done / up to date; 1 `--check` found a stale or missing file; 2 bad usage or
//! an I/O error.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut check = false;
    let mut dir: Option<PathBuf> = None;
    for arg in std::env::args_os().skip(1) {
        match arg.to_str() {
            Some("--check") => check = true,
            Some("-h" | "--help") => {
                println!("usage: gen-samples [--check] [DIR]\n\nWrites the generated samples under DIR (default: samples); with --check, exits 1 when a committed sample differs from what the generators make now.");
                return ExitCode::SUCCESS;
            }
            Some(s) if s.starts_with('-') => {
                eprintln!("gen-samples: unknown option {s}; usage: gen-samples [--check] [DIR]");
                return ExitCode::from(2);
            }
            _ if dir.is_none() => dir = Some(PathBuf::from(arg)),
            _ => {
                eprintln!(
                    "gen-samples: more than one DIR given; usage: gen-samples [--check] [DIR]"
                );
                return ExitCode::from(2);
            }
        }
    }
    let dir = dir.unwrap_or_else(|| PathBuf::from("samples"));
    if check {
        let problems = fltblame::samples::check_all(&dir);
        if problems.is_empty() {
            println!("samples in {} are up to date", dir.display());
            return ExitCode::SUCCESS;
        }
        for p in &problems {
            eprintln!("{p}");
        }
        return ExitCode::from(1);
    }
    match fltblame::samples::write_all(&dir) {
        Ok(paths) => {
            for p in paths {
                println!("wrote {}", p.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen-samples: cannot write under {}: {e}", dir.display());
            ExitCode::from(2)
        }
    }
}
