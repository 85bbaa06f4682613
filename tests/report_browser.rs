//! `report.html` in a real browser: the report of every sample (`samples/*/`) is rendered by
//! headless Chromium, which must load it with no network request, decode every figure and show
//! the named driver; a screenshot of each is kept (`$CARGO_TARGET_TMPDIR/report-screenshots/`,
//! and `reports/<sample>.png` when `FLTBLAME_UPDATE_SCREENSHOTS=1`).
//!
//! "No network request" is read from Chromium's own net log (`--log-net-log`): every URL
//! request a page started (the browser's own background traffic has the initiator "not an
//! origin") must be `file:` or `data:`. A control page that does fetch from a local listener
//! proves the net-log check sees page requests with the installed Chromium.
//!
//! Without Chromium (`chromium`, `chromium-browser`, `google-chrome`, or `$FLTBLAME_CHROMIUM`)
//! the test prints "skipped" and passes, unless `FLTBLAME_REQUIRE_BROWSER=1` (CI sets it).

use flate2::read::ZlibDecoder;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BROWSERS: [&str; 4] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];
/// Chromium is killed after this long.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);
/// Viewport of the screenshots: the conclusion, the denials and the timeline.
const SHOT: (u32, u32) = (1280, 1800);

fn find_browser() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FLTBLAME_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    BROWSERS.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// The browser, or `None` after printing why the test is skipped (a panic when
/// `FLTBLAME_REQUIRE_BROWSER=1`).
fn browser_or_skip() -> Option<PathBuf> {
    let found = find_browser();
    if found.is_none() {
        if std::env::var("FLTBLAME_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!(
                "FLTBLAME_REQUIRE_BROWSER=1 but no Chromium found (looked for {} on PATH and $FLTBLAME_CHROMIUM)",
                BROWSERS.join(", ")
            );
        }
        eprintln!("skipped: no Chromium on PATH (install the `chromium` package to run this test)");
    }
    found
}

/// Run headless Chromium on `url` with a fresh profile; returns stdout. `extra` adds flags
/// (`--dump-dom`, `--screenshot=...`). The net log goes to `netlog` when given.
fn chromium(
    bin: &Path,
    url: &str,
    extra: &[String],
    netlog: Option<&Path>,
    profile: &Path,
) -> String {
    let mut cmd = Command::new(bin);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--no-first-run",
        "--no-default-browser-check",
        "--hide-scrollbars",
        "--virtual-time-budget=5000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(extra);
    if let Some(n) = netlog {
        cmd.arg(format!("--log-net-log={}", n.display()));
    }
    cmd.arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let mut out = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "chromium {url}: {status}");
            break;
        }
        if start.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium {url}: no exit after {BROWSER_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().expect("reader")
}

fn file_url(p: &Path) -> String {
    let abs = p.canonicalize().unwrap();
    format!("file://{}", abs.display())
}

/// URLs of the requests a page started, from a Chromium net log: `URL_REQUEST_START_JOB`
/// events whose initiator is an origin (the browser's own traffic says "not an origin").
fn page_requests(netlog: &Path) -> Vec<String> {
    let text =
        std::fs::read_to_string(netlog).unwrap_or_else(|e| panic!("{}: {e}", netlog.display()));
    // Chromium may be killed before it closes the JSON; it closes it on a clean exit.
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", netlog.display()));
    let start_job = v["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_u64()
        .expect("net log constants name URL_REQUEST_START_JOB");
    v["events"]
        .as_array()
        .expect("net log events")
        .iter()
        .filter(|e| e["type"].as_u64() == Some(start_job))
        .filter_map(|e| {
            let p = &e["params"];
            let url = p["url"].as_str()?;
            let initiator = p["initiator"].as_str().unwrap_or("");
            let nik = p["network_isolation_key"].as_str().unwrap_or("");
            (initiator != "not an origin" || nik.contains("file://")).then(|| url.to_string())
        })
        .collect()
}

fn b64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {:?}", c as char),
        }
    };
    let bytes: Vec<u8> = s.bytes().filter(|c| *c != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c) << (18 - 6 * i);
        }
        out.push((n >> 16) as u8);
        if chunk.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(n as u8);
        }
    }
    out
}

/// A decoded PNG: width, height, RGB pixels (alpha dropped).
struct Image {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

/// Decode an 8-bit, non-interlaced RGB or RGBA PNG, checking every chunk's CRC.
fn decode_png(png: &[u8]) -> Image {
    assert_eq!(
        png[..8],
        [0x89, b'P', b'N', b'G', 13, 10, 26, 10],
        "PNG signature"
    );
    let (mut width, mut height, mut channels) = (0u32, 0u32, 0usize);
    let mut idat = Vec::new();
    let mut pos = 8;
    let mut ended = false;
    while pos + 12 <= png.len() {
        let len = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
        let kind = &png[pos + 4..pos + 8];
        let data = &png[pos + 8..pos + 8 + len];
        let crc = u32::from_be_bytes(png[pos + 8 + len..pos + 12 + len].try_into().unwrap());
        let mut c = flate2::Crc::new();
        c.update(kind);
        c.update(data);
        assert_eq!(c.sum(), crc, "CRC of {}", String::from_utf8_lossy(kind));
        match kind {
            b"IHDR" => {
                width = u32::from_be_bytes(data[0..4].try_into().unwrap());
                height = u32::from_be_bytes(data[4..8].try_into().unwrap());
                assert_eq!(data[8], 8, "bit depth");
                channels = match data[9] {
                    2 => 3,
                    6 => 4,
                    t => panic!("colour type {t} not handled"),
                };
                assert_eq!(data[12], 0, "interlace");
            }
            b"IDAT" => idat.extend_from_slice(data),
            b"IEND" => ended = true,
            _ => {}
        }
        pos += 12 + len;
    }
    assert!(ended && width > 0 && height > 0, "PNG structure");
    let mut raw = Vec::new();
    ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .expect("IDAT inflates");
    let stride = width as usize * channels;
    assert_eq!(raw.len(), (stride + 1) * height as usize, "IDAT size");
    let mut px = vec![0u8; stride * height as usize];
    for y in 0..height as usize {
        let ft = raw[y * (stride + 1)];
        let line = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
        for x in 0..stride {
            let a = if x >= channels {
                px[y * stride + x - channels]
            } else {
                0
            };
            let b = if y > 0 { px[(y - 1) * stride + x] } else { 0 };
            let c = if y > 0 && x >= channels {
                px[(y - 1) * stride + x - channels]
            } else {
                0
            };
            let pred = match ft {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => {
                    let p = i16::from(a) + i16::from(b) - i16::from(c);
                    let (pa, pb, pc) = (
                        (p - i16::from(a)).abs(),
                        (p - i16::from(b)).abs(),
                        (p - i16::from(c)).abs(),
                    );
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                f => panic!("filter {f}"),
            };
            px[y * stride + x] = line[x].wrapping_add(pred);
        }
    }
    let rgb = px
        .chunks_exact(channels)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    Image { width, height, rgb }
}

impl Image {
    /// Pixels within `tol` of `color` on every channel.
    fn count_near(&self, color: [u8; 3], tol: u8) -> usize {
        self.rgb
            .chunks_exact(3)
            .filter(|p| (0..3).all(|i| p[i].abs_diff(color[i]) <= tol))
            .count()
    }

    /// Share of pixels that are not white.
    fn ink(&self) -> f64 {
        let n = self.rgb.len() / 3;
        let white = self.count_near([255, 255, 255], 2);
        (n - white) as f64 / n as f64
    }
}

/// The samples: each folder of `samples/` with its `.pml` files, by name.
fn samples() -> Vec<(String, Vec<PathBuf>)> {
    // Relative to the package root (the tests' working directory), as a user would type them.
    let root = PathBuf::from("samples");
    let mut out: Vec<(String, Vec<PathBuf>)> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let mut pmls: Vec<PathBuf> = std::fs::read_dir(e.path())
                .ok()?
                .filter_map(Result::ok)
                .map(|f| f.path())
                .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("pml")))
                .collect();
            pmls.sort();
            (!pmls.is_empty()).then(|| (e.file_name().to_string_lossy().into_owned(), pmls))
        })
        .collect();
    out.sort();
    out
}

/// Every `src="..."` of the page.
fn img_sources(html: &str) -> Vec<&str> {
    html.match_indices("<img ")
        .filter_map(|(i, _)| {
            let tag = &html[i..i + html[i..].find('>')?];
            let s = tag.find(" src=\"")? + 6;
            let e = tag[s..].find('"')?;
            Some(&tag[s..s + e])
        })
        .collect()
}

/// The report's own promises, read from its text: no script, no stylesheet or frame, and
/// every URL-valued attribute is a `data:` URI or a link inside the page.
fn assert_self_contained(html: &str, sample: &str) {
    let lower = html.to_lowercase();
    for bad in [
        "<script", "<link", "<iframe", "<object", "<embed", "<base", "@import", "url(",
    ] {
        assert!(
            !lower.contains(bad),
            "{sample}: report.html contains {bad:?}"
        );
    }
    let mut checked = 0;
    for attr in [
        " src=\"",
        " href=\"",
        " srcset=\"",
        " action=\"",
        " poster=\"",
        " data=\"",
    ] {
        for (i, _) in lower.match_indices(attr) {
            let v = &lower[i + attr.len()..];
            assert!(
                v.starts_with("data:") || v.starts_with('#'),
                "{sample}: {attr}... points outside the page: {}",
                &v[..60.min(v.len())]
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "{sample}: no figure or link found");
}

#[test]
fn sample_reports_load_offline_in_chromium() {
    let Some(bin) = browser_or_skip() else {
        return;
    };
    let samples = samples();
    assert!(!samples.is_empty(), "no sample under samples/");
    let tmp = tempfile::tempdir().unwrap();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-screenshots");
    std::fs::create_dir_all(&shots).unwrap();

    // Control: a page that fetches from a local listener must show up in the net log, so an
    // empty list below means "no request", not "a net log we cannot read".
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    let server = {
        let (stop, served) = (stop.clone(), served.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        let mut buf = [0u8; 1024];
                        let _ = s.set_nonblocking(false);
                        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                        let _ = s.read(&mut buf);
                        let _ = s.write_all(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                        served.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        })
    };
    let control = tmp.path().join("control.html");
    std::fs::write(
        &control,
        format!("<!DOCTYPE html><p>control</p><img src=\"http://127.0.0.1:{port}/probe.png\">"),
    )
    .unwrap();
    let control_log = tmp.path().join("control-netlog.json");
    chromium(
        &bin,
        &file_url(&control),
        &["--dump-dom".into()],
        Some(&control_log),
        &tmp.path().join("profile-control"),
    );
    stop.store(true, Ordering::Relaxed);
    server.join().unwrap();
    let probe = format!("http://127.0.0.1:{port}/probe.png");
    assert!(
        page_requests(&control_log).contains(&probe),
        "the net log check does not see the control page's request: {:?}",
        page_requests(&control_log)
    );
    assert!(
        served.load(Ordering::Relaxed) > 0,
        "the control page's request did not reach the listener"
    );

    for (name, pmls) in &samples {
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let tables = fltblame::input::load(pmls).unwrap();
        let v = fltblame::verdict::analyze(&tables).unwrap();
        let report =
            fltblame::report::write_report(&v, &tables, &dir, &Default::default()).unwrap();
        let html = std::fs::read_to_string(&report).unwrap();
        assert_self_contained(&html, name);

        // Each figure is embedded as a data: URI holding exactly a PNG written beside it.
        let srcs = img_sources(&html);
        let expected = if v.suspects.is_empty() { 2 } else { 3 };
        assert_eq!(srcs.len(), expected, "{name}: figures shown");
        let files: Vec<(&str, Vec<u8>)> = ["timeline.png", "filter_stack.png", "evidence.png"]
            .into_iter()
            .map(|f| (f, std::fs::read(dir.join(f)).unwrap()))
            .collect();
        let mut seen = Vec::new();
        for src in &srcs {
            let b64 = src
                .strip_prefix("data:image/png;base64,")
                .unwrap_or_else(|| panic!("{name}: an <img> is not a PNG data URI"));
            let png = b64_decode(b64);
            let (file, _) = files
                .iter()
                .find(|(_, bytes)| *bytes == png)
                .unwrap_or_else(|| {
                    panic!("{name}: an embedded figure is not a file beside the report")
                });
            seen.push(*file);
            let img = decode_png(&png);
            assert!(
                img.width >= 1000 && img.height >= 150,
                "{name}: {file} size"
            );
            assert!(img.ink() > 0.02, "{name}: {file} is blank");
        }
        assert!(seen.contains(&"timeline.png") && seen.contains(&"filter_stack.png"));

        // The browser: rendered DOM, no page request, every image decoded.
        let url = file_url(&report);
        let netlog = dir.join("netlog.json");
        let dom = chromium(
            &bin,
            &url,
            &["--dump-dom".into()],
            Some(&netlog),
            &tmp.path().join(format!("profile-{name}")),
        );
        assert!(dom.contains("<html lang=\"en\">"), "{name}: DOM not dumped");
        if let Some(d) = &v.driver {
            assert!(
                dom.contains(&format!("data-driver=\"{d}\"")),
                "{name}: the rendered page does not name {d}"
            );
        }
        assert!(dom.contains(&format!("data-conclusion=\"{}\"", v.conclusion.as_str())));
        let requests: Vec<String> = page_requests(&netlog)
            .into_iter()
            .filter(|u| !u.starts_with("file:") && !u.starts_with("data:"))
            .collect();
        assert!(
            requests.is_empty(),
            "{name}: the report made network requests: {requests:?}"
        );

        // Image decoding, seen by the browser: a copy of the page with a probe script marks
        // the root element once every <img> has loaded with a width.
        let probe_page = dir.join("report-probe.html");
        let script = "<script>addEventListener('load',function(){var i=[].slice.call(document.images);\
            document.documentElement.setAttribute('data-images',i.length+'/'+i.filter(function(x){return x.complete&&x.naturalWidth>0;}).length);});</script>";
        std::fs::write(
            &probe_page,
            html.replace("</body>", &format!("{script}</body>")),
        )
        .unwrap();
        let dom = chromium(
            &bin,
            &file_url(&probe_page),
            &["--dump-dom".into()],
            None,
            &tmp.path().join(format!("profile-{name}-probe")),
        );
        assert!(
            dom.contains(&format!("data-images=\"{expected}/{expected}\"")),
            "{name}: not every figure decoded in the browser: {}",
            dom.find("data-images")
                .map(|i| &dom[i..i + 20])
                .unwrap_or("no marker")
        );

        // Screenshot: the page with its CSS and the timeline figure drawn.
        let shot = dir.join("screenshot.png");
        chromium(
            &bin,
            &url,
            &[
                format!("--screenshot={}", shot.display()),
                format!("--window-size={},{}", SHOT.0, SHOT.1),
            ],
            None,
            &tmp.path().join(format!("profile-{name}-shot")),
        );
        let png = std::fs::read(&shot).unwrap();
        let img = decode_png(&png);
        assert_eq!((img.width, img.height), SHOT, "{name}: screenshot size");
        assert!(img.ink() > 0.05, "{name}: the screenshot is nearly blank");
        let banner = match v.conclusion.as_str() {
            "filter" => [0xfd, 0xec, 0xea],
            "no_filter" => [0xed, 0xf7, 0xee],
            _ => [0xff, 0xf4, 0xe5],
        };
        assert!(
            img.count_near(banner, 3) > 10_000,
            "{name}: the conclusion banner's colour is not on screen (CSS not applied?)"
        );
        // The timeline's capture bar (#e3eefa) is drawn only inside the figure.
        assert!(
            img.count_near([0xe3, 0xee, 0xfa], 3) > 2_000,
            "{name}: the timeline figure is not on screen"
        );
        std::fs::copy(&shot, shots.join(format!("{name}.png"))).unwrap();
        if std::env::var("FLTBLAME_UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
            let keep = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("reports")
                .join(format!("{name}.png"));
            std::fs::copy(&shot, &keep).unwrap();
            eprintln!("updated {}", keep.display());
        }
        eprintln!(
            "{name}: rendered offline, screenshot {}",
            shots.join(format!("{name}.png")).display()
        );
    }
}

#[test]
fn chinese_report_renders_through_the_cli() {
    let Some(bin) = browser_or_skip() else {
        return;
    };
    let samples = samples();
    let (name, pmls) = samples.first().expect("a sample");
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fltblame"))
        .arg("analyze")
        .args(pmls)
        .arg("-o")
        .arg(tmp.path())
        .args(["--lang", "zh-CN"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in [
        "report.html",
        "timeline.png",
        "filter_stack.png",
        "evidence.png",
        "verdict.json",
    ] {
        assert!(tmp.path().join(f).is_file(), "{name}: {f} not written");
    }
    let report = tmp.path().join("report.html");
    assert_self_contained(&std::fs::read_to_string(&report).unwrap(), name);
    let netlog = tmp.path().join("netlog.json");
    let dom = chromium(
        &bin,
        &file_url(&report),
        &["--dump-dom".into()],
        Some(&netlog),
        &tmp.path().join("profile"),
    );
    assert!(dom.contains("<html lang=\"zh-CN\">"), "{name}: lang");
    for heading in ["结论", "被拒绝的操作", "供应商待办事项", "数据来源"] {
        assert!(dom.contains(heading), "{name}: heading {heading} missing");
    }
    assert!(
        dom.contains("保持英文"),
        "{name}: the note that evidence details stay English"
    );
    let requests: Vec<String> = page_requests(&netlog)
        .into_iter()
        .filter(|u| !u.starts_with("file:") && !u.starts_with("data:"))
        .collect();
    assert!(requests.is_empty(), "{name}: {requests:?}");
}

#[test]
fn bad_language_is_refused() {
    let samples = samples();
    let (_, pmls) = samples.first().expect("a sample");
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fltblame"))
        .arg("analyze")
        .args(pmls)
        .arg("-o")
        .arg(tmp.path())
        .args(["--lang", "fr"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("en") && err.contains("zh-CN"), "{err}");
    assert!(!tmp.path().join("report.html").exists());
}
