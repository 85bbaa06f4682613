//! Intake: expand what a log collector uploaded (files, nested folders, `.zip`, `.gz`, `.zst`)
//! into the inputs fltblame reads, picked by content: Process Monitor logs (`PML_`), ETL traces
//! ([`crate::etl::looks_like_etl`]) and servicing logs ([`crate::logs::sniff`]).
//!
//! Nothing is ever extracted to disk: archive members are decompressed in memory, under limits
//! ([`IntakeOptions`]): a total of decompressed bytes (default 4 GiB), a compression ratio per
//! member (default 200:1, for members over 1 MiB), and a nesting depth of archives (default 3).
//! Members whose names escape the archive (`../x`, `/etc/x`, `C:\x`), symbolic-link members and
//! encrypted members are skipped, as are files that are no input and symbolic links in folders;
//! every skipped item is listed with its reason. The limits are the CLI's `--max-extract-bytes`,
//! `--max-ratio` and `--max-depth` (analyze, query, check). Inputs are only read.

use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Limits of archive expansion.
#[derive(Clone, Debug)]
pub struct IntakeOptions {
    /// Decompressed bytes allowed over all archive members of one intake.
    pub max_total: u64,
    /// Largest decompressed / compressed ratio of one member (members over 1 MiB).
    pub max_ratio: u64,
    /// Archives inside archives, at most this deep (an archive given directly is depth 1).
    pub max_depth: usize,
}

impl Default for IntakeOptions {
    fn default() -> Self {
        IntakeOptions {
            max_total: 4 << 30,
            max_ratio: 200,
            max_depth: 3,
        }
    }
}

/// Members smaller than this are never refused for their ratio (small logs compress well).
pub const RATIO_FLOOR: u64 = 1 << 20;

/// What an input is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// Process Monitor log.
    Pml,
    /// Raw Procmon boot log (`.pmb`).
    ProcmonBootLog,
    /// ETL trace.
    Etl,
    /// A servicing log, event log or fltmc output.
    Log(crate::logs::LogKind),
}

impl InputKind {
    /// `pml`, `pmb`, `etl`, or the log kind's name.
    pub fn name(self) -> &'static str {
        match self {
            InputKind::Pml => "pml",
            InputKind::ProcmonBootLog => "pmb",
            InputKind::Etl => "etl",
            InputKind::Log(k) => k.name(),
        }
    }
}

/// Where an input's bytes are.
#[derive(Clone, Debug)]
pub enum Data {
    /// A file on disk (read or memory-mapped by its reader).
    Path(PathBuf),
    /// Bytes decompressed from an archive.
    Bytes(Vec<u8>),
}

/// One input found.
#[derive(Clone, Debug)]
pub struct Input {
    /// Display name: the path, with `!member` for archive members (`bundle.zip!Logs/CBS.log`).
    pub name: String,
    /// Kind by content.
    pub kind: InputKind,
    /// Its bytes.
    pub data: Data,
}

/// Something not taken, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// Display name.
    pub name: String,
    /// Why.
    pub reason: String,
}

/// The result of an intake.
#[derive(Clone, Debug, Default)]
pub struct Intake {
    /// Inputs, in walk order (folders sorted by name, archive members in archive order).
    pub inputs: Vec<Input>,
    /// Items not taken.
    pub skipped: Vec<Skipped>,
    /// Decompressed bytes so far.
    pub expanded: u64,
}

/// Reason text of files that are no input.
pub const NOT_AN_INPUT: &str = "not an input (no PML, ETL or log content)";

impl Intake {
    /// Notes for the verdict: files that are no input counted, every other skip listed.
    pub fn notes(&self) -> Vec<String> {
        let mut out = Vec::new();
        let plain: Vec<&Skipped> = self
            .skipped
            .iter()
            .filter(|s| s.reason == NOT_AN_INPUT)
            .collect();
        if !plain.is_empty() {
            let names: Vec<&str> = plain.iter().take(5).map(|s| s.name.as_str()).collect();
            out.push(format!(
                "{} file(s) skipped as no input (no PML, ETL or log content): {}{}",
                plain.len(),
                names.join(", "),
                if plain.len() > 5 { ", ..." } else { "" }
            ));
        }
        for s in self.skipped.iter().filter(|s| s.reason != NOT_AN_INPUT) {
            out.push(format!("{}: skipped: {}", s.name, s.reason));
        }
        out
    }
}

/// Expand files, folders and archives into inputs.
///
/// A path that does not exist is an error; a file given directly that is no input is an error
/// too (it was named on purpose). Inside folders and archives, non-inputs are skipped and counted.
pub fn expand(paths: &[PathBuf], opts: &IntakeOptions) -> Result<Intake> {
    let mut it = Intake::default();
    for p in paths {
        if p.is_dir() {
            walk(p, opts, &mut it)?;
        } else {
            let before = it.inputs.len() + it.skipped.len();
            file(p, opts, &mut it)?;
            if it.inputs.len() + it.skipped.len() == before + 1
                && it.skipped.last().is_some_and(|s| s.reason == NOT_AN_INPUT)
            {
                let s = it.skipped.pop().expect("just pushed");
                bail!(
                    "{}: not a recognised input (expected a Process Monitor .pml, an ETL trace, CBS.log, setupapi.*.log, WindowsUpdate.log, an .evtx event log, fltmc output, or a folder / .zip / .gz / .zst of them)",
                    s.name
                );
            }
        }
    }
    Ok(it)
}

/// Expand one input given as bytes (an archive or a capture or log), named `name`, under the
/// same limits and with the same skips as a file on disk: what a fuzzer or a test feeds in.
pub fn expand_bytes(name: &str, bytes: Vec<u8>, opts: &IntakeOptions) -> Intake {
    let mut it = Intake::default();
    member(name.to_string(), bytes, 0, opts, &mut it);
    it
}

fn walk(dir: &Path, opts: &IntakeOptions, it: &mut Intake) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot list the folder", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        let meta = match std::fs::symlink_metadata(&p) {
            Ok(m) => m,
            Err(e) => {
                it.skipped.push(Skipped {
                    name: p.display().to_string(),
                    reason: format!("cannot read: {e}"),
                });
                continue;
            }
        };
        if meta.file_type().is_symlink() {
            it.skipped.push(Skipped {
                name: p.display().to_string(),
                reason: "symbolic link (not followed)".into(),
            });
        } else if meta.is_dir() {
            walk(&p, opts, it)?;
        } else {
            file(&p, opts, it)?;
        }
    }
    Ok(())
}

fn head_of(path: &Path) -> Result<Vec<u8>> {
    let f =
        std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut head = Vec::with_capacity(crate::logs::SNIFF_BYTES);
    f.take(crate::logs::SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    Ok(head)
}

/// What container a byte string is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Container {
    Zip,
    Gzip,
    Zstd,
}

fn container(head: &[u8]) -> Option<Container> {
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Some(Container::Zip)
    } else if head.starts_with(&[0x1F, 0x8B]) {
        Some(Container::Gzip)
    } else if head.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
        Some(Container::Zstd)
    } else {
        None
    }
}

/// The input kind of content, judged by its first bytes (and, for `.pmb`, its name).
pub fn kind_of(name: &str, head: &[u8]) -> Option<InputKind> {
    if head.starts_with(b"PML_") {
        return Some(InputKind::Pml);
    }
    if crate::etl::looks_like_etl(head) {
        return Some(InputKind::Etl);
    }
    if name.to_ascii_lowercase().ends_with(".pmb") {
        return Some(InputKind::ProcmonBootLog);
    }
    match crate::logs::sniff(&head[..head.len().min(crate::logs::SNIFF_BYTES)]) {
        crate::logs::LogKind::Unknown => None,
        k => Some(InputKind::Log(k)),
    }
}

fn file(p: &Path, opts: &IntakeOptions, it: &mut Intake) -> Result<()> {
    let head = head_of(p)?;
    let name = p.display().to_string();
    if let Some(c) = container(&head) {
        let bytes = std::fs::read(p).with_context(|| format!("{name}: cannot read"))?;
        return archive(&name, c, bytes, 1, opts, it);
    }
    match kind_of(&name, &head) {
        Some(kind) => it.inputs.push(Input {
            name,
            kind,
            data: Data::Path(p.to_path_buf()),
        }),
        None => it.skipped.push(Skipped {
            name,
            reason: NOT_AN_INPUT.into(),
        }),
    }
    Ok(())
}

/// Take decompressed member bytes: an archive again, an input, or a skip.
fn member(name: String, bytes: Vec<u8>, depth: usize, opts: &IntakeOptions, it: &mut Intake) {
    if let Some(c) = container(&bytes) {
        if let Err(e) = archive(&name, c, bytes, depth + 1, opts, it) {
            it.skipped.push(Skipped {
                name,
                reason: format!("{e:#}"),
            });
        }
        return;
    }
    match kind_of(&name, &bytes[..bytes.len().min(crate::logs::SNIFF_BYTES)]) {
        Some(kind) => it.inputs.push(Input {
            name,
            kind,
            data: Data::Bytes(bytes),
        }),
        None => it.skipped.push(Skipped {
            name,
            reason: NOT_AN_INPUT.into(),
        }),
    }
}

/// Read at most the budget left from `r`; `Err(reason)` when the member exceeds the total or
/// its ratio against `compressed` bytes.
fn read_limited(
    mut r: impl Read,
    compressed: u64,
    opts: &IntakeOptions,
    it: &Intake,
) -> std::result::Result<Vec<u8>, String> {
    let left = opts.max_total.saturating_sub(it.expanded);
    let ratio_cap = compressed.saturating_mul(opts.max_ratio).max(RATIO_FLOOR);
    let cap = left.min(ratio_cap);
    let mut out = Vec::new();
    (&mut r)
        .take(cap.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| format!("cannot decompress: {e}"))?;
    if out.len() as u64 > cap {
        return Err(if cap == ratio_cap && ratio_cap < left {
            format!(
                "refused: decompresses to more than {} times its compressed size of {compressed} bytes (limit {}:1; a compression bomb or not a log)",
                opts.max_ratio, opts.max_ratio
            )
        } else {
            format!(
                "refused: the archive members would exceed the limit of {} bytes decompressed in total",
                opts.max_total
            )
        });
    }
    Ok(out)
}

/// True when a member name escapes the archive: absolute, a drive letter, or `..` components.
pub fn escapes(name: &str) -> bool {
    let n = name.replace('\\', "/");
    n.starts_with('/') || n.as_bytes().get(1) == Some(&b':') || n.split('/').any(|c| c == "..")
}

/// Entries the zip's end-of-central-directory record declares (to notice duplicate names,
/// which the zip reader folds into one).
fn declared_entries(bytes: &[u8]) -> Option<u64> {
    let from = bytes.len().saturating_sub(22 + 65535);
    let pos = (from..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| bytes[i..i + 4] == [0x50, 0x4B, 0x05, 0x06])?;
    Some(u64::from(u16::from_le_bytes([
        bytes[pos + 10],
        bytes[pos + 11],
    ])))
}

fn archive(
    name: &str,
    c: Container,
    bytes: Vec<u8>,
    depth: usize,
    opts: &IntakeOptions,
    it: &mut Intake,
) -> Result<()> {
    if depth > opts.max_depth {
        it.skipped.push(Skipped {
            name: name.to_string(),
            reason: format!(
                "archive nested deeper than {} levels: not opened",
                opts.max_depth
            ),
        });
        return Ok(());
    }
    match c {
        Container::Gzip | Container::Zstd => {
            let inner = name
                .strip_suffix(".gz")
                .or_else(|| name.strip_suffix(".zst"))
                .map(str::to_string)
                .unwrap_or_else(|| format!("{name}!data"));
            let n = bytes.len() as u64;
            let got = match c {
                Container::Gzip => {
                    read_limited(flate2::read::MultiGzDecoder::new(&bytes[..]), n, opts, it)
                }
                _ => match ruzstd::decoding::StreamingDecoder::new(&bytes[..]) {
                    Ok(d) => read_limited(d, n, opts, it),
                    Err(e) => Err(format!("cannot decompress: {e}")),
                },
            };
            match got {
                Ok(out) => {
                    it.expanded += out.len() as u64;
                    member(inner, out, depth, opts, it);
                }
                Err(reason) => it.skipped.push(Skipped {
                    name: name.to_string(),
                    reason,
                }),
            }
        }
        Container::Zip => {
            let declared = declared_entries(&bytes);
            let mut z = match zip::ZipArchive::new(std::io::Cursor::new(&bytes[..])) {
                Ok(z) => z,
                Err(e) => {
                    it.skipped.push(Skipped {
                        name: name.to_string(),
                        reason: format!("unreadable zip: {e}"),
                    });
                    return Ok(());
                }
            };
            if let Some(d) = declared.filter(|&d| d > z.len() as u64) {
                it.skipped.push(Skipped {
                    name: name.to_string(),
                    reason: format!(
                        "{} member(s) share a name with another member: only the last of each name is read",
                        d - z.len() as u64
                    ),
                });
            }
            for i in 0..z.len() {
                let (mname, encrypted, is_dir, csize, size, symlink) = match z.by_index_raw(i) {
                    Ok(f) => (
                        f.name().to_string(),
                        f.encrypted(),
                        f.is_dir(),
                        f.compressed_size(),
                        f.size(),
                        f.is_symlink(),
                    ),
                    Err(e) => {
                        it.skipped.push(Skipped {
                            name: format!("{name}!#{i}"),
                            reason: format!("unreadable member: {e}"),
                        });
                        continue;
                    }
                };
                let full = format!("{name}!{mname}");
                if is_dir {
                    continue;
                }
                let skip = |reason: String, it: &mut Intake| {
                    it.skipped.push(Skipped {
                        name: full.clone(),
                        reason,
                    })
                };
                if escapes(&mname) {
                    skip(
                        "name escapes the archive (absolute path or `..`): not read".into(),
                        it,
                    );
                    continue;
                }
                if symlink {
                    skip(
                        "symbolic link member (unix mode): not followed or read".into(),
                        it,
                    );
                    continue;
                }
                if encrypted {
                    skip(
                        "encrypted (password-protected) member: not read; re-pack it without a password".into(),
                        it,
                    );
                    continue;
                }
                if size > opts.max_total.saturating_sub(it.expanded) {
                    skip(
                        format!(
                            "refused: declares {size} bytes decompressed, over the limit of {} bytes in total",
                            opts.max_total
                        ),
                        it,
                    );
                    continue;
                }
                if size > RATIO_FLOOR && size > csize.saturating_mul(opts.max_ratio) {
                    skip(
                        format!(
                            "refused: declares {size} bytes from {csize} compressed (over {}:1; a compression bomb or not a log)",
                            opts.max_ratio
                        ),
                        it,
                    );
                    continue;
                }
                let got = match z.by_index(i) {
                    Ok(f) => read_limited(f, csize, opts, it),
                    Err(e) => Err(format!("cannot read: {e}")),
                };
                match got {
                    Ok(out) => {
                        it.expanded += out.len() as u64;
                        member(full, out, depth, opts, it);
                    }
                    Err(reason) => skip(reason, it),
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_names() {
        assert!(escapes("../x.log"));
        assert!(escapes("a/../../x.log"));
        assert!(escapes("/etc/passwd"));
        assert!(escapes("C:\\Windows\\x.log"));
        assert!(escapes("..\\x.log"));
        assert!(!escapes("Logs/CBS/CBS.log"));
        assert!(!escapes("a..b/x.log"));
    }
}
