//! Intake of a log collector's output: folders, nested zips, .gz, .zst, picked by content, with
//! size limits, path-escape and encryption checks, and every skipped item reported.

use fltblame::intake::{expand, Data, InputKind, Intake, IntakeOptions, NOT_AN_INPUT};
use fltblame::logs::LogKind;
use std::io::Write;
use std::path::{Path, PathBuf};
use zip::write::SimpleFileOptions;

fn sample(name: &str) -> Vec<u8> {
    fltblame::samples::generate_all()
        .into_iter()
        .find(|(rel, _)| rel == &format!("case-a-amdk8/{name}"))
        .unwrap_or_else(|| panic!("no sample {name}"))
        .1
}

fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in members {
        w.start_file(
            *name,
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated),
        )
        .unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn stored_zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in members {
        w.start_file(
            *name,
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored),
        )
        .unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn zst(bytes: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(bytes, ruzstd::encoding::CompressionLevel::Fastest)
}

fn names(it: &Intake) -> Vec<(String, &'static str)> {
    it.inputs
        .iter()
        .map(|i| (i.name.clone(), i.kind.name()))
        .collect()
}

fn skipped<'a>(it: &'a Intake, name_end: &str) -> &'a str {
    &it.skipped
        .iter()
        .find(|s| s.name.ends_with(name_end))
        .unwrap_or_else(|| panic!("{name_end} not skipped: {:#?}", it.skipped))
        .reason
}

fn write(dir: &Path, rel: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn folder_with_nested_folders_picks_inputs_by_content() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "Procmon/capture.pml", &sample("capture.pml"));
    write(d.path(), "Logs/CBS/CBS.log", &sample("CBS.log"));
    // The name says nothing: content decides.
    write(
        d.path(),
        "Logs/INF/device-install.txt",
        &sample("setupapi.dev.log"),
    );
    write(d.path(), "Logs/notes.txt", b"machine was rebooted twice\n");
    write(
        d.path(),
        "Logs/screenshot.png",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
    );
    let it = expand(&[d.path().to_path_buf()], &IntakeOptions::default()).unwrap();
    let n = names(&it);
    assert_eq!(n.len(), 3, "{n:?}");
    assert!(n[0].0.ends_with("Logs/CBS/CBS.log") && n[0].1 == "cbs");
    assert!(n[1].0.ends_with("Logs/INF/device-install.txt") && n[1].1 == "setupapi");
    assert!(n[2].0.ends_with("Procmon/capture.pml") && n[2].1 == "pml");
    assert!(matches!(it.inputs[2].data, Data::Path(_)));
    assert_eq!(skipped(&it, "notes.txt"), NOT_AN_INPUT);
    assert_eq!(skipped(&it, "screenshot.png"), NOT_AN_INPUT);
    let notes = it.notes();
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].starts_with("2 file(s) skipped as no input"),
        "{notes:?}"
    );
    // The folder analyses as case A.
    let t = fltblame::input::load(&[d.path().to_path_buf()]).unwrap();
    let v = fltblame::verdict::analyze(&t).unwrap();
    assert_eq!(v.driver.as_deref(), Some("krnlmgr.sys"));
    assert_eq!(v.log_corroboration[0].event_id, 408);
}

#[test]
fn nested_zip_gz_and_zst_are_read_in_memory() {
    let inner = zip_of(&[
        ("INF/setupapi.dev.log", &sample("setupapi.dev.log")),
        ("readme.txt", b"collected by the support tool"),
    ]);
    let outer = zip_of(&[
        ("bundle/inner.zip", &inner),
        ("bundle/CBS.log.gz", &gz(&sample("CBS.log"))),
        ("bundle/capture.pml.zst", &zst(&sample("capture.pml"))),
    ]);
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "upload.zip", &outer);
    let it = expand(&[p], &IntakeOptions::default()).unwrap();
    let n = names(&it);
    let base = d.path().join("upload.zip").display().to_string();
    assert_eq!(
        n,
        vec![
            (
                format!("{base}!bundle/inner.zip!INF/setupapi.dev.log"),
                "setupapi"
            ),
            (format!("{base}!bundle/CBS.log"), "cbs"),
            (format!("{base}!bundle/capture.pml"), "pml"),
        ]
    );
    assert!(it.inputs.iter().all(|i| matches!(i.data, Data::Bytes(_))));
    match &it.inputs[2].data {
        Data::Bytes(b) => assert_eq!(b, &sample("capture.pml")),
        Data::Path(_) => unreachable!(),
    }
    assert_eq!(skipped(&it, "readme.txt"), NOT_AN_INPUT);
    // Nothing was extracted beside the archive.
    let files: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
    assert_eq!(files.len(), 1);
    // The archive analyses as case A, PML from memory.
    let t = fltblame::input::load(&[d.path().join("upload.zip")]).unwrap();
    let v = fltblame::verdict::analyze(&t).unwrap();
    assert_eq!(v.driver.as_deref(), Some("krnlmgr.sys"));
    assert_eq!(v.log_corroboration.len(), 2);
}

#[test]
fn plain_gz_and_zst_files() {
    let d = tempfile::tempdir().unwrap();
    let a = write(d.path(), "CBS.log.gz", &gz(&sample("CBS.log")));
    let b = write(
        d.path(),
        "setupapi.dev.log.zst",
        &zst(&sample("setupapi.dev.log")),
    );
    let it = expand(&[a, b], &IntakeOptions::default()).unwrap();
    assert_eq!(it.inputs.len(), 2);
    assert!(it.inputs[0].name.ends_with("CBS.log"));
    assert_eq!(it.inputs[0].kind, InputKind::Log(LogKind::Cbs));
    assert_eq!(it.inputs[1].kind, InputKind::Log(LogKind::SetupApi));
    assert!(it.skipped.is_empty());
    assert_eq!(
        it.expanded as usize,
        sample("CBS.log").len() + sample("setupapi.dev.log").len()
    );
}

#[test]
fn zip_slip_and_absolute_names_are_not_read() {
    let cbs = sample("CBS.log");
    let z = stored_zip_of(&[
        ("../../evil/CBS.log", &cbs),
        ("/etc/CBS.log", &cbs),
        ("C:/Windows/Logs/CBS/CBS.log", &cbs),
        ("ok/CBS.log", &cbs),
    ]);
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "b.zip", &z);
    let it = expand(&[p], &IntakeOptions::default()).unwrap();
    assert_eq!(it.inputs.len(), 1);
    assert!(it.inputs[0].name.ends_with("b.zip!ok/CBS.log"));
    for n in [
        "!../../evil/CBS.log",
        "!/etc/CBS.log",
        "!C:/Windows/Logs/CBS/CBS.log",
    ] {
        assert!(
            skipped(&it, n).contains("escapes the archive"),
            "{n}: {}",
            skipped(&it, n)
        );
    }
    assert!(!d.path().join("../evil").exists());
}

#[test]
fn oversized_and_high_ratio_members_are_refused_with_a_message() {
    let zeros = vec![0u8; 8 << 20];
    let z = zip_of(&[("bomb.log", &zeros), ("CBS.log", &sample("CBS.log"))]);
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "bomb.zip", &z);
    let it = expand(std::slice::from_ref(&p), &IntakeOptions::default()).unwrap();
    let r = skipped(&it, "!bomb.log");
    assert!(r.starts_with("refused:") && r.contains("200:1"), "{r}");
    assert_eq!(it.inputs.len(), 1);
    assert!(it
        .notes()
        .iter()
        .any(|n| n.contains("bomb.log: skipped: refused")));

    // A total limit smaller than the log: refused by its declared size.
    let opts = IntakeOptions {
        max_total: 1000,
        ..Default::default()
    };
    let it = expand(&[p], &opts).unwrap();
    let r = skipped(&it, "!CBS.log");
    assert!(r.contains("over the limit of 1000 bytes"), "{r}");
    assert!(it.inputs.is_empty());

    // .gz declares no size: the limit is enforced while decompressing.
    let g = write(d.path(), "big.log.gz", &gz(&zeros));
    let it = expand(&[g], &IntakeOptions::default()).unwrap();
    let r = skipped(&it, "big.log.gz");
    assert!(r.starts_with("refused:") && r.contains("200 times"), "{r}");
    assert_eq!(it.expanded, 0);
}

#[test]
fn duplicate_member_names_are_reported() {
    let z = stored_zip_of(&[
        ("a/CBS.log", &sample("CBS.log")),
        ("b/CBS.log", &sample("CBS.log")),
    ]);
    // Give the second member the first one's name (zip writers refuse to).
    let mut z = z;
    let from = b"b/CBS.log";
    let mut i = 0;
    while i + from.len() <= z.len() {
        if &z[i..i + from.len()] == from {
            z[i] = b'a';
        }
        i += 1;
    }
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "dup.zip", &z);
    let it = expand(&[p], &IntakeOptions::default()).unwrap();
    assert_eq!(it.inputs.len(), 1);
    let r = skipped(&it, "dup.zip");
    assert!(r.contains("1 member(s) share a name"), "{r}");
}

#[test]
fn encrypted_members_are_skipped_with_a_message() {
    let mut z = stored_zip_of(&[
        ("secret/CBS.log", &sample("CBS.log")),
        ("CBS.log", &sample("CBS.log")),
    ]);
    // Set the "encrypted" flag (general purpose bit 0) of the first member in its local header
    // and its central directory record.
    assert_eq!(&z[0..4], b"PK\x03\x04");
    z[6] |= 1;
    let cd = (0..z.len() - 4)
        .find(|&i| z[i..i + 4] == *b"PK\x01\x02")
        .unwrap();
    z[cd + 8] |= 1;
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "locked.zip", &z);
    let it = expand(&[p], &IntakeOptions::default()).unwrap();
    assert_eq!(it.inputs.len(), 1);
    assert!(it.inputs[0].name.ends_with("locked.zip!CBS.log"));
    let r = skipped(&it, "!secret/CBS.log");
    assert!(
        r.contains("encrypted") && r.contains("without a password"),
        "{r}"
    );
}

#[test]
fn depth_limit_and_direct_non_inputs() {
    // zip in zip in zip in zip: the fourth level is not opened.
    let mut z = zip_of(&[("CBS.log", &sample("CBS.log"))]);
    for _ in 0..3 {
        z = zip_of(&[("next.zip", &z)]);
    }
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "deep.zip", &z);
    let it = expand(&[p], &IntakeOptions::default()).unwrap();
    assert!(it.inputs.is_empty());
    assert!(skipped(&it, "next.zip!next.zip!next.zip").contains("nested deeper than 3"));

    // A file named on the command line that is no input is an error naming it.
    let n = write(d.path(), "notes.txt", b"hello\n");
    let e = expand(&[n], &IntakeOptions::default()).unwrap_err();
    assert!(
        format!("{e}").contains("notes.txt: not a recognised input"),
        "{e}"
    );
    // A folder with nothing usable: load says so, with the count.
    let empty = d.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("a.txt"), b"x").unwrap();
    let e = fltblame::input::load(&[empty]).err().unwrap();
    assert!(
        format!("{e}").contains("no input found; 1 file(s) skipped as no input"),
        "{e}"
    );
}

#[test]
fn an_unreadable_log_in_a_folder_is_noted_not_fatal() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "System.evtx", b"ElfFile\0damaged header");
    write(d.path(), "CBS.log", &sample("CBS.log"));
    let t = fltblame::input::load(&[d.path().to_path_buf()]).unwrap();
    assert_eq!(t.logs.files.len(), 1);
    assert!(
        t.logs
            .notes
            .iter()
            .any(|n| n.contains("System.evtx: skipped") && n.contains("not a readable evtx")),
        "{:?}",
        t.logs.notes
    );
    // Given alone, the same file is an error naming it (exit code 2 in the CLI).
    let e = fltblame::input::load(&[d.path().join("System.evtx")])
        .err()
        .unwrap();
    assert!(format!("{e}").contains("System.evtx"), "{e}");
}

#[test]
fn symlinks_in_folders_and_symlink_members_are_not_followed() {
    let d = tempfile::tempdir().unwrap();
    let outside = write(d.path(), "outside/CBS.log", &sample("CBS.log"));
    let inp = d.path().join("in");
    write(&inp, "setupapi.dev.log", &sample("setupapi.dev.log"));
    std::os::unix::fs::symlink(&outside, inp.join("CBS.log")).unwrap();
    std::os::unix::fs::symlink(d.path().join("outside"), inp.join("linked-folder")).unwrap();
    // A zip whose member is a symbolic link (unix mode) to a file outside the archive.
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.add_symlink("CBS.log", "/etc/passwd", SimpleFileOptions::default())
        .unwrap();
    w.start_file("ok/CBS.log", SimpleFileOptions::default())
        .unwrap();
    w.write_all(&sample("CBS.log")).unwrap();
    let z = w.finish().unwrap().into_inner();
    write(&inp, "links.zip", &z);
    let it = expand(&[inp], &IntakeOptions::default()).unwrap();
    let got = names(&it);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got.iter().any(|(n, _)| n.ends_with("links.zip!ok/CBS.log")));
    assert!(got.iter().any(|(n, _)| n.ends_with("setupapi.dev.log")));
    assert!(skipped(&it, "in/CBS.log").contains("symbolic link"));
    assert!(skipped(&it, "linked-folder").contains("symbolic link"));
    assert!(skipped(&it, "links.zip!CBS.log").contains("symbolic link member"));
}

/// Every file under `dir` with its bytes.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p);
            } else {
                let bytes = if m.file_type().is_symlink() {
                    std::fs::read_link(&p)
                        .unwrap()
                        .to_string_lossy()
                        .as_bytes()
                        .to_vec()
                } else {
                    std::fs::read(&p).unwrap()
                };
                out.push((p, bytes));
            }
        }
    }
    out.sort();
    out
}

fn fltblame(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_fltblame"))
        .args(args)
        .output()
        .unwrap()
}

fn verdict(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("verdict.json")).unwrap()).unwrap()
}

/// A hostile bundle (names escaping the archive, absolute names, a bomb, an encrypted member,
/// a deep nest) through `analyze`: nothing is written outside `-o`, the inputs are unchanged.
#[test]
fn analyze_writes_only_under_out_and_never_modifies_inputs() {
    let d = tempfile::tempdir().unwrap();
    let cbs = sample("CBS.log");
    let mut deep = zip_of(&[("CBS.log", &cbs)]);
    for _ in 0..4 {
        deep = zip_of(&[("next.zip", &deep)]);
    }
    let zeros = vec![0u8; 4 << 20];
    let mut locked = stored_zip_of(&[("secret.log", &cbs)]);
    locked[6] |= 1;
    let cd = (0..locked.len() - 4)
        .find(|&i| locked[i..i + 4] == *b"PK\x01\x02")
        .unwrap();
    locked[cd + 8] |= 1;
    let z = stored_zip_of(&[
        ("../../escaped/CBS.log", &cbs),
        ("/tmp/fltblame-absolute-CBS.log", &cbs),
        ("Logs/CBS/CBS.log", &cbs),
        ("bomb.log", &zip_of(&[("zeros.log", &zeros)])),
        ("deep.zip", &deep),
        ("locked.zip", &locked),
    ]);
    let inp = d.path().join("upload");
    write(&inp, "bundle.zip", &z);
    write(&inp, "capture.pml", &sample("capture.pml"));
    let before = tree(d.path());
    let out = d.path().join("out");
    let o = fltblame(&[
        "analyze",
        inp.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let after: Vec<_> = tree(d.path())
        .into_iter()
        .filter(|(p, _)| !p.starts_with(&out))
        .collect();
    assert_eq!(before, after, "files outside -o changed");
    assert!(!Path::new("/tmp/fltblame-absolute-CBS.log").exists());
    assert!(!d.path().join("escaped").exists());
    let notes: Vec<String> = verdict(&out)["intake_notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    for want in [
        "escapes the archive",
        "nested deeper",
        "encrypted",
        "refused",
    ] {
        assert!(notes.iter().any(|n| n.contains(want)), "{want}: {notes:#?}");
    }
}

/// `--max-depth`, `--max-extract-bytes` and `--max-ratio` change what analyze, query and check
/// read; bad values are refused by the parser.
#[test]
fn cli_limits_change_the_outcome() {
    let d = tempfile::tempdir().unwrap();
    let cbs = sample("CBS.log");
    // A 2 MB CBS log (the sample's lines repeated) deflates well over 5:1 but under 200:1.
    let mut big = Vec::new();
    while big.len() < 2 << 20 {
        big.extend_from_slice(&cbs);
    }
    let nested = zip_of(&[("setupapi.dev.log", &sample("setupapi.dev.log"))]);
    let z = zip_of(&[("CBS.log", &big), ("inner.zip", &nested)]);
    let bundle = write(d.path(), "bundle.zip", &z);
    let b = bundle.to_str().unwrap();
    let run = |extra: &[&str]| -> serde_json::Value {
        let out = d
            .path()
            .join(format!("out{}", extra.join("_").replace(['-', '/'], "")));
        let mut args = vec!["analyze", b, "-o", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        let o = fltblame(&args);
        assert!(
            o.status.success(),
            "{extra:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        verdict(&out)
    };
    let logs = |v: &serde_json::Value| v["log_files"].as_array().map_or(0, Vec::len);
    let notes = |v: &serde_json::Value| v["intake_notes"].to_string();
    let base = run(&[]);
    assert_eq!(logs(&base), 2, "{}", notes(&base));
    let v = run(&["--max-depth", "1"]);
    assert_eq!(logs(&v), 1);
    assert!(
        notes(&v).contains("nested deeper than 1 levels"),
        "{}",
        notes(&v)
    );
    let v = run(&["--max-ratio", "5"]);
    assert_eq!(logs(&v), 1);
    assert!(notes(&v).contains("over 5:1"), "{}", notes(&v));
    let v = run(&["--max-extract-bytes", "1M"]);
    assert_eq!(logs(&v), 1);
    assert!(
        notes(&v).contains("limit of 1048576 bytes"),
        "{}",
        notes(&v)
    );

    // analyze --fleet takes them too: the bundle is one machine of a fleet folder.
    let fleet_dir = d.path().join("fleet");
    std::fs::create_dir_all(&fleet_dir).unwrap();
    std::fs::copy(&bundle, fleet_dir.join("pc1.zip")).unwrap();
    let fleet = |extra: &[&str]| -> serde_json::Value {
        let out = d.path().join(format!(
            "fleet_out{}",
            extra.join("_").replace(['-', '/'], "")
        ));
        let mut args = vec![
            "analyze",
            "--fleet",
            fleet_dir.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = fltblame(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        // The machine's folder under -o holds its verdict.json.
        let found: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("verdict.json").is_file())
            .collect();
        assert_eq!(found.len(), 1, "{found:?}");
        verdict(&found[0])
    };
    assert_eq!(logs(&fleet(&[])), 2);
    assert_eq!(logs(&fleet(&["--max-depth", "1"])), 1);

    // query and check take the same flags.
    let q = |extra: &[&str]| {
        let mut args = vec![
            "query",
            "SELECT COUNT(*) AS n FROM log_lines",
            b,
            "--format",
            "csv",
        ];
        args.extend_from_slice(extra);
        let o = fltblame(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert_ne!(q(&[]), q(&["--max-depth", "1"]));
    let o = fltblame(&[
        "check",
        b,
        "--max-extract-bytes",
        "64K",
        "--max-ratio",
        "10",
    ]);
    assert!(
        o.status.code().is_some_and(|c| c < 2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Refused values.
    for bad in [["--max-ratio", "0"], ["--max-extract-bytes", "lots"]] {
        let o = fltblame(&["analyze", b, bad[0], bad[1]]);
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
    }
    let o = fltblame(&["analyze", "--help"]);
    let help = String::from_utf8_lossy(&o.stdout);
    for flag in [
        "--max-extract-bytes",
        "--max-ratio",
        "--max-depth",
        "Archive limits",
    ] {
        assert!(help.contains(flag), "{flag} not in help");
    }
}
