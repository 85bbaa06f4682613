//! The `fltblame` command line: parse arguments, call the library, map errors to exit codes
//! (0 done, 1 a check found something, 2 bad usage or unreadable input).

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use fltblame::export::{self, CsvColumns};
use fltblame::pml::{Pml, QueryDirectoryStyle};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "fltblame",
    version,
    about = "Find what made Windows servicing fail, and when it is an ACCESS DENIED, whether an ordinary ACL or a third-party filter driver did it: which driver, how sure, and why.",
    long_about = None,
    after_help = "Exit codes: 0 done; 1 a check found something; 2 bad usage or unreadable input.\n\nExamples:\n  fltblame analyze samples/case-a-amdk8/capture.pml -o out\n  fltblame info capture.pml\n  fltblame export capture.pml --format csv -o capture.csv\n  fltblame query \"SELECT * FROM denials\" capture.pml\n  fltblame check queries/ capture.pml --junit check.xml\n  fltblame analyze --fleet machines/ -o fleet-out"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Find the denials in one incident's captures, name the filter driver behind them (or say
    /// it was an ordinary ACL) with the evidence, and write verdict.json and report.html.
    ///
    /// Exit codes: 0 done (whatever the conclusion), 2 unreadable input or bad arguments.
    /// FLTBLAME_TIMINGS=1 prints each stage's wall time and peak memory on stderr.
    Analyze {
        /// One incident: Process Monitor captures (.pml), servicing logs (CBS.log, setupapi.*.log,
        /// WindowsUpdate.log, .evtx, fltmc output), or a collector's folder / .zip / .gz / .zst.
        #[arg(required_unless_present = "fleet", conflicts_with = "fleet")]
        inputs: Vec<PathBuf>,
        /// Many incidents: each folder, archive (.zip/.gz/.zst) or single capture, trace or
        /// log in DIR is one machine, analyzed in parallel; writes fleet.parquet, fleet.html
        /// and a report per machine.
        #[arg(long, value_name = "DIR")]
        fleet: Option<PathBuf>,
        /// Folder for verdict.json and report.html (created if missing).
        #[arg(short, long, default_value = "fltblame-out")]
        out: PathBuf,
        /// Print the verdict as JSON on stdout instead of the readable summary.
        #[arg(long)]
        json: bool,
        /// Language of report.html's text (headings, labels, conclusions); evidence details
        /// and figure labels stay English.
        #[arg(long, default_value = "en", value_parser = ["en", "zh-CN"])]
        lang: String,
        /// The machine's UTC offset (`+08:00`) for log times without a zone (setupapi,
        /// converted WindowsUpdate.log); overrides the offset inferred from CBS.log's CSI `@`
        /// times or an ETL trace's time zone.
        #[arg(long, value_name = "+HH:MM", allow_hyphen_values = true, value_parser = parse_utc_offset)]
        utc_offset: Option<i32>,
        /// Replace user names, account SIDs (S-1-5-21-...), computer and domain names and
        /// user-profile folders (C:\Users\NAME, /home/NAME) by stable tokens (USER-1, SID-1,
        /// HOST-1, DOMAIN-1: the same name gets the same token throughout the run) in every
        /// output. Well-known accounts and SIDs (SYSTEM, LOCAL/NETWORK SERVICE, TrustedInstaller,
        /// NT SERVICE\*, S-1-5-18, S-1-5-32-*, S-1-16-*) stay: they are evidence.
        #[arg(long)]
        redact: bool,
        #[command(flatten)]
        limits: IntakeLimits,
    },
    /// Show what a capture holds: computer, OS, bitness, time span, processes, kernel modules
    /// (third-party ones with company, version and allocated altitude).
    Info {
        /// A Process Monitor capture (.pml).
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write a capture's decoded events: `csv` is Procmon's own CSV export format (compare by
    /// header name), `jsonl` one JSON object per event with resolved stack frames, `parquet`
    /// any table (--table) for DuckDB, Spark or DataFusion.
    Export {
        /// A Process Monitor capture (.pml).
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
        /// CSV columns: Procmon's 7 default columns or all 27 of its full export.
        #[arg(long, value_enum, default_value_t = Columns::All)]
        columns: Columns,
        /// QueryDirectory Detail as Procmon builds differ in printing it: `slots` (most builds)
        /// or `all-entries` (every entry, no FileInformationClass).
        #[arg(long, value_enum, default_value_t = QdStyle::Slots)]
        querydirectory: QdStyle,
        /// Table written by `--format parquet`: events, frames, modules, processes, denials.
        #[arg(long, default_value = "events")]
        table: String,
        /// With `--format pml`: the verdict.json whose denied operations and evidence events
        /// (plus a window around them) go into a small PML for the vendor.
        #[arg(long)]
        evidence: Option<PathBuf>,
        /// With `--format pml`: milliseconds kept before and after each evidence event.
        #[arg(long, default_value_t = 500)]
        window_ms: u64,
        /// Output file (default: standard output).
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// Replace user names, account SIDs (S-1-5-21-...), computer and domain names and
        /// user-profile folders (C:\Users\NAME, /home/NAME) by stable tokens (USER-1, SID-1,
        /// HOST-1, DOMAIN-1: the same name gets the same token throughout the run) in the
        /// export (for --format pml: header, process table, and the names inside event details,
        /// overwritten at their length). Well-known accounts and SIDs (SYSTEM, LOCAL/NETWORK SERVICE, TrustedInstaller,
        /// NT SERVICE\*, S-1-5-18, S-1-5-32-*, S-1-16-*) stay: they are evidence.
        #[arg(long)]
        redact: bool,
    },
    /// Run polars SQL over the tables of the inputs (events, frames, modules, processes and the
    /// derived denials) and print the result.
    Query {
        /// SQL text, or a FILE.sql.
        sql: String,
        /// Process Monitor captures (.pml).
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = QueryFormat::Table)]
        format: QueryFormat,
        #[command(flatten)]
        limits: IntakeLimits,
    },
    /// Run every .sql query of a folder over the inputs; a query returning rows is a finding.
    /// Exit 1 when any query found something, 0 when none did, 2 on unreadable input or a broken
    /// query.
    Check {
        /// [QUERIES_DIR] INPUTS...: the first argument is the query folder when it is a folder
        /// holding .sql files; otherwise `queries/` is used.
        #[arg(required = true, value_name = "QUERIES_DIR|INPUT")]
        args: Vec<PathBuf>,
        /// Write JUnit XML (one testcase per query, a failure per finding) to this file.
        #[arg(long, value_name = "F.xml")]
        junit: Option<PathBuf>,
        #[command(flatten)]
        limits: IntakeLimits,
    },
    /// Measure decode throughput (events/s, MB/s) of `export --format csv` in memory, and the
    /// ratio to procmon-parser measured in the same run when a Python with it is given.
    Bench {
        /// A Process Monitor capture (.pml).
        file: PathBuf,
        /// Timed runs (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// A Python interpreter with the `procmon-parser` package, to measure the peer.
        #[arg(long)]
        peer_python: Option<PathBuf>,
    },
}

/// Limits of archive expansion (`src/intake.rs`): folders, .zip, .gz and .zst are expanded in
/// memory, never on disk; a member over a limit is skipped and named in the verdict's notes.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Archive limits")]
struct IntakeLimits {
    /// Decompressed bytes allowed over all archive members of the inputs (suffix K, M, G: 4G).
    /// Members that would pass it are refused with a message.
    #[arg(long, value_name = "BYTES", default_value = "4G", value_parser = parse_bytes)]
    max_extract_bytes: u64,
    /// Largest decompressed:compressed ratio of one archive member over 1 MiB (compression
    /// bombs); a member above it is refused with a message.
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    max_ratio: u64,
    /// Archives inside archives are opened at most this deep (an archive given directly is
    /// depth 1); deeper ones are skipped with a message.
    #[arg(long, value_name = "N", default_value_t = 3)]
    max_depth: usize,
}

impl IntakeLimits {
    fn options(&self) -> fltblame::intake::IntakeOptions {
        fltblame::intake::IntakeOptions {
            max_total: self.max_extract_bytes,
            max_ratio: self.max_ratio,
            max_depth: self.max_depth,
        }
    }
}

/// `4096`, `64K`, `512M`, `4G` (binary multiples).
fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mul) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M') => (&t[..t.len() - 1], 1 << 20),
        Some('G') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mul))
        .ok_or_else(|| format!("{s:?}: expected a byte count such as 4096, 64K, 512M or 4G"))
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Csv,
    Jsonl,
    Parquet,
    /// An evidence-only PML (needs --evidence verdict.json).
    Pml,
}

#[derive(Clone, Copy, ValueEnum)]
enum QueryFormat {
    Table,
    Csv,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum QdStyle {
    Slots,
    AllEntries,
}

#[derive(Clone, Copy, ValueEnum)]
enum Columns {
    Default,
    All,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e)
            if e.chain()
                .filter_map(|c| c.downcast_ref::<std::io::Error>())
                .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            // The reader of our output went away (`| head`): not an error.
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fltblame: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Wall time per stage of `analyze`, printed to stderr when `FLTBLAME_TIMINGS=1` (the
/// profile the scale benchmark's notes quote).
struct Stages {
    on: bool,
    last: std::time::Instant,
}

impl Stages {
    fn new() -> Stages {
        Stages {
            on: std::env::var_os("FLTBLAME_TIMINGS").is_some_and(|v| v == "1"),
            last: std::time::Instant::now(),
        }
    }

    fn done(&mut self, what: &str) {
        if self.on {
            // Resident and peak resident memory so far (Linux only; empty elsewhere).
            let mem = std::fs::read_to_string("/proc/self/status")
                .unwrap_or_default()
                .lines()
                .filter(|l| l.starts_with("VmRSS") || l.starts_with("VmHWM"))
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect::<Vec<_>>()
                .join(", ");
            eprintln!(
                "fltblame: timing: {what}: {:.2} s ({mem})",
                self.last.elapsed().as_secs_f64()
            );
        }
        self.last = std::time::Instant::now();
    }
}

fn progress_bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if !std::io::stderr().is_terminal() {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    pb.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} events ({per_sec}, {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_message(what.to_string());
    pb
}

fn progress_spinner(what: &str) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    if std::io::stderr().is_terminal() {
        pb.enable_steady_tick(std::time::Duration::from_millis(120));
    } else {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    pb.set_message(what.to_string());
    pb
}

/// `events` or `frames` of one PML capture, streamed to Parquet one row group per chunk of
/// events, so memory stays bounded whatever the capture's size.
fn export_parquet_streamed(
    file: &std::path::Path,
    table: &str,
    sink: &mut dyn Write,
) -> Result<()> {
    use fltblame::tables::build::{stream_pml, BuildOptions, FrameScope};
    use polars::prelude::{ParquetCompression, ParquetWriter};
    let pml = fltblame::pml::Pml::open(file)?;
    let frames = table == "frames";
    let opts = BuildOptions {
        frames: if frames {
            FrameScope::All
        } else {
            FrameScope::None
        },
        ..Default::default()
    };
    let pb = progress_bar(pml.event_count() as u64, "writing Parquet");
    let mut writer = None;
    let mut spare: Option<&mut dyn Write> = Some(sink);
    let mut done = 0u64;
    stream_pml(&pml, &opts, &mut |e, f| {
        let df = if frames { f } else { e };
        done += 1;
        pb.set_position(done * fltblame::tables::build::CHUNK as u64);
        let w = match &mut writer {
            Some(w) => w,
            None => writer.insert(
                ParquetWriter::new(spare.take().expect("the sink is taken once"))
                    .with_compression(ParquetCompression::Zstd(None))
                    .batched(df.schema())?,
            ),
        };
        w.write_batch(&df)
    })
    .with_context(|| format!("{}: writing Parquet", file.display()))?;
    match writer {
        Some(w) => {
            w.finish()?;
        }
        // No event: write the empty table through the whole-table path.
        None => {
            let t = fltblame::tables::build::from_pml_opts(&pml, &opts)?;
            let mut df = if frames { t.frames } else { t.events };
            let sink = spare.take().expect("no writer took the sink");
            fltblame::export::write_parquet(&mut df, sink)?;
        }
    }
    pb.finish_and_clear();
    Ok(())
}

fn export_parquet(
    file: &std::path::Path,
    table: &str,
    out: Option<&std::path::Path>,
    redact: bool,
) -> Result<ExitCode> {
    let streamable = !redact
        && matches!(table, "events" | "frames")
        && file.is_file()
        && fltblame::input::sniff(file)? == fltblame::input::Kind::Pml;
    if streamable {
        let mut sink = parquet_sink(out)?;
        export_parquet_streamed(file, table, &mut sink)?;
        sink.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let catalog = if redact {
        let mut t = fltblame::input::load(&[file.to_path_buf()])?;
        fltblame::redact::redact_tables(&mut t)?;
        fltblame::query::Catalog::from_tables(&t)?
    } else {
        fltblame::query::Catalog::load(&[file.to_path_buf()])?
    };
    let mut df = catalog
        .get(table)
        .with_context(|| {
            format!(
                "--table {table}: no such table (tables: {})",
                catalog.names().join(", ")
            )
        })?
        .clone();
    let mut sink = parquet_sink(out)?;
    export::write_parquet(&mut df, &mut sink)?;
    sink.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `-o FILE`, or standard output when it is not a terminal (Parquet is binary).
fn parquet_sink(out: Option<&std::path::Path>) -> Result<Box<dyn Write>> {
    Ok(match out {
        Some(p) => Box::new(BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("{}: cannot create", p.display()))?,
        )),
        None if std::io::stdout().is_terminal() => {
            anyhow::bail!("Parquet is binary: give -o FILE.parquet (or redirect standard output)")
        }
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    })
}

/// True when `path` starts like an ETL trace (unreadable files are left to the PML path, which
/// reports the error).
fn is_etl(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 0x4C];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && fltblame::etl::looks_like_etl(&head)
}

/// `export --format pml --evidence verdict.json`: the evidence-only PML of a capture.
fn export_evidence_pml(
    file: &std::path::Path,
    evidence: Option<&std::path::Path>,
    window_ms: u64,
    out: Option<&std::path::Path>,
    redact: bool,
) -> Result<ExitCode> {
    let Some(verdict_path) = evidence else {
        anyhow::bail!("--format pml needs --evidence verdict.json (from `fltblame analyze`)");
    };
    let Some(out) = out else {
        anyhow::bail!("--format pml needs -o FILE.pml");
    };
    let verdict: serde_json::Value = serde_json::from_slice(
        &std::fs::read(verdict_path)
            .with_context(|| format!("{}: cannot read", verdict_path.display()))?,
    )
    .with_context(|| format!("{}: not JSON", verdict_path.display()))?;
    let pml = Pml::open(file)?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let redactor = redact.then(|| fltblame::redact::from_pml(&pml));
    let ids = fltblame::pml::excerpt::evidence_events(&verdict, &name)
        .or_else(|e| {
            // A redacted verdict may name the capture by a redacted file name.
            let alt = redacted_capture_name(&verdict, &name, redactor.as_ref());
            alt.map_or(Err(e), |n| {
                fltblame::pml::excerpt::evidence_events(&verdict, &n)
            })
        })
        .map_err(|e| anyhow::anyhow!("{}: {e}", verdict_path.display()))?;
    let mut model = fltblame::pml::excerpt::excerpt(&pml, &ids, window_ms.saturating_mul(10_000))
        .map_err(anyhow::Error::msg)?;
    if let Some(r) = &redactor {
        r.redact_model(&mut model);
    }
    fltblame::pml::writer::write_file(&model, out)
        .with_context(|| format!("{}: cannot write", out.display()))?;
    eprintln!(
        "fltblame: wrote {} ({} of {} events: {} evidence events and a {} ms window around each)",
        out.display(),
        model.events.len(),
        pml.event_count(),
        ids.len(),
        window_ms
    );
    Ok(ExitCode::SUCCESS)
}

/// The name under which a redacted verdict lists `name`: `name` rewritten by `r`, or the file
/// name of the verdict's only PML input.
fn redacted_capture_name(
    verdict: &serde_json::Value,
    name: &str,
    r: Option<&fltblame::redact::Redactor>,
) -> Option<String> {
    if verdict["redacted"] != true {
        return None;
    }
    if let Some(n) = r
        .map(|r| r.rewrite(name).into_owned())
        .filter(|n| n != name)
    {
        return Some(n);
    }
    let pmls: Vec<&str> = verdict["inputs"]
        .as_array()?
        .iter()
        .filter(|i| i["kind"] == "pml")
        .filter_map(|i| i["path"].as_str())
        .collect();
    match pmls[..] {
        [one] => one.rsplit(['/', '\\']).next().map(str::to_string),
        _ => None,
    }
}

/// `export` of an ETL trace: its decoded kernel events as JSON lines or CSV. With `redact`, the
/// text is written twice: once to collect the names, once through the rewriting writer.
fn export_etl(
    file: &std::path::Path,
    format: Format,
    out: Option<&std::path::Path>,
    redact: bool,
) -> Result<ExitCode> {
    use fltblame::etl::export::{ExportFormat, ExportOptions};
    let etl = fltblame::etl::Etl::open(file)?;
    let format = match format {
        Format::Csv => ExportFormat::Csv,
        Format::Jsonl => ExportFormat::Jsonl,
        Format::Parquet | Format::Pml => anyhow::bail!("an ETL trace exports as csv or jsonl"),
    };
    let opts = ExportOptions {
        format,
        all_events: false,
    };
    let sink: Box<dyn Write> = match out {
        Some(p) => Box::new(BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("{}: cannot create", p.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    let summary = if redact {
        let mut seen = fltblame::redact::ObserveWriter::default();
        fltblame::etl::export::export(&etl, &opts, &mut seen)?;
        let r = seen.finish().build();
        let mut w = fltblame::redact::RewriteWriter::new(sink, &r);
        let s = fltblame::etl::export::export(&etl, &opts, &mut w)?;
        w.finish()?;
        s
    } else {
        let mut sink = sink;
        let s = fltblame::etl::export::export(&etl, &opts, &mut sink)?;
        sink.flush()?;
        s
    };
    for p in &summary.problems {
        eprintln!("fltblame: warning: {p}");
    }
    Ok(ExitCode::SUCCESS)
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.cmd {
        Cmd::Info { file, json } if is_etl(&file) => {
            let etl = fltblame::etl::Etl::open(&file)?;
            let info = fltblame::etl::info(&etl);
            if json {
                println!("{}", serde_json::to_string_pretty(&info)?);
            } else {
                print!("{}", fltblame::etl::info::render_text(&info));
            }
        }
        Cmd::Info { file, json } => {
            let pml = Pml::open(&file)?;
            let info = fltblame::info::capture_info(&pml);
            if json {
                println!("{}", serde_json::to_string_pretty(&info)?);
            } else {
                print!("{}", fltblame::info::render_text(&info));
            }
        }
        Cmd::Export {
            file,
            format,
            columns,
            querydirectory,
            table,
            evidence,
            window_ms,
            out,
            redact,
        } => {
            if let Format::Pml = format {
                return export_evidence_pml(
                    &file,
                    evidence.as_deref(),
                    window_ms,
                    out.as_deref(),
                    redact,
                );
            }
            if let Format::Parquet = format {
                return export_parquet(&file, &table, out.as_deref(), redact);
            }
            if table != "events" {
                anyhow::bail!("--table is for --format parquet (csv and jsonl write the events)");
            }
            if is_etl(&file) {
                return export_etl(&file, format, out.as_deref(), redact);
            }
            let mut pml = Pml::open(&file)?;
            pml.text_style.query_directory = match querydirectory {
                QdStyle::Slots => QueryDirectoryStyle::Slots,
                QdStyle::AllEntries => QueryDirectoryStyle::AllEntries,
            };
            let redactor = redact.then(|| fltblame::redact::from_pml(&pml));
            let rewrite = |s: &mut String| {
                if let Some(r) = &redactor {
                    r.rewrite_in_place(s)
                }
            };
            for w in &pml.warnings {
                let mut line = format!("{}: {w}", file.display());
                rewrite(&mut line);
                eprintln!("fltblame: warning: {line}");
            }
            let rewrite: Option<fltblame::export::Rewrite> =
                redactor.as_ref().map(|_| &rewrite as _);
            let mut sink: Box<dyn Write> = match &out {
                Some(p) => Box::new(BufWriter::new(
                    std::fs::File::create(p)
                        .with_context(|| format!("{}: cannot create", p.display()))?,
                )),
                None => Box::new(BufWriter::new(std::io::stdout().lock())),
            };
            let pb = progress_bar(pml.event_count() as u64, "export");
            let tick = |n: u64| pb.set_position(n);
            match format {
                Format::Csv => {
                    let cols = match columns {
                        Columns::Default => CsvColumns::Default,
                        Columns::All => CsvColumns::All,
                    };
                    export::write_csv_with(&pml, cols, &mut sink, &tick, rewrite)?
                }
                Format::Jsonl => export::write_jsonl_with(&pml, &mut sink, &tick, rewrite)?,
                Format::Parquet | Format::Pml => anyhow::bail!("handled above"),
            }
            sink.flush()?;
            pb.finish_and_clear();
        }
        Cmd::Analyze {
            fleet: Some(dir),
            out,
            redact,
            limits,
            ..
        } => {
            let opts = fltblame::fleet::FleetOptions {
                redact,
                intake: limits.options(),
            };
            let res = fltblame::fleet::run_with(&dir, &out, &opts)?;
            std::io::stdout()
                .lock()
                .write_all(fltblame::fleet::render_text(&res).as_bytes())?;
            if res.errors() > 0 {
                eprintln!(
                    "fltblame: error: {} machine(s) of {} could not be read (their rows say why)",
                    res.errors(),
                    dir.display()
                );
                return Ok(ExitCode::from(2));
            }
        }
        Cmd::Analyze {
            inputs,
            out,
            json,
            lang,
            fleet: None,
            utc_offset,
            redact,
            limits,
        } => {
            let spinner = progress_spinner("reading captures");
            let load_opts = fltblame::input::LoadOptions {
                utc_offset,
                frames: fltblame::input::Frames::Focused,
                intake: limits.options(),
            };
            let mut stages = Stages::new();
            let mut tables = fltblame::input::load_with(&inputs, &load_opts)?;
            stages.done(&format!(
                "read inputs into tables ({} events, {} MB; {} frames)",
                tables.events.height(),
                tables.events.estimated_size() >> 20,
                tables.frames.height()
            ));
            // Redact the tables before anything is derived from them: every output (verdict,
            // report, figures, summary) then only sees tokens.
            let redaction = if redact {
                spinner.set_message("redacting names");
                Some(fltblame::redact::redact_tables(&mut tables)?.summary())
            } else {
                None
            };
            for info in &tables.inputs {
                for w in &info.warnings {
                    eprintln!("fltblame: warning: {w}");
                }
            }
            spinner.set_message("weighing evidence");
            let mut verdict = fltblame::verdict::analyze(&tables)?;
            verdict.redacted = redact;
            verdict.redaction = redaction;
            stages.done("evidence and verdict");
            std::fs::create_dir_all(&out)
                .with_context(|| format!("{}: cannot create folder", out.display()))?;
            let json_path = fltblame::report::write_json(&verdict, &out)?;
            let opts = fltblame::report::ReportOptions {
                lang: lang.parse().map_err(anyhow::Error::msg)?,
                ..Default::default()
            };
            let html_path = fltblame::report::write_report(&verdict, &tables, &out, &opts)?;
            stages.done("verdict.json, report.html, figures");
            spinner.finish_and_clear();
            if json {
                println!("{}", serde_json::to_string_pretty(&verdict)?);
            } else {
                print!("{}", fltblame::report::summary_text(&verdict));
                println!("Wrote {} and {}", json_path.display(), html_path.display());
            }
        }
        Cmd::Query {
            sql,
            inputs,
            format,
            limits,
        } => {
            fltblame::query::configure_table_text(50);
            let text = fltblame::query::sql_text(&sql)?;
            let load_opts = fltblame::input::LoadOptions {
                intake: limits.options(),
                ..Default::default()
            };
            let catalog = fltblame::query::Catalog::load_for(&inputs, &[&text], &load_opts)?;
            let df = catalog.run(&text)?;
            let format = match format {
                QueryFormat::Table => fltblame::query::Format::Table,
                QueryFormat::Csv => fltblame::query::Format::Csv,
                QueryFormat::Json => fltblame::query::Format::Json,
            };
            let mut sink = BufWriter::new(std::io::stdout().lock());
            fltblame::query::write(&df, format, &mut sink)?;
            sink.flush()?;
        }
        Cmd::Check {
            args,
            junit,
            limits,
        } => {
            fltblame::query::configure_table_text(fltblame::check::SHOW_ROWS);
            let (dir, inputs) =
                fltblame::check::split_args(&args, std::path::Path::new("queries"))?;
            let load_opts = fltblame::input::LoadOptions {
                intake: limits.options(),
                ..Default::default()
            };
            let report = fltblame::check::check_with(&dir, &inputs, &load_opts)?;
            let mut text = fltblame::check::render_text(&report);
            if let Some(p) = junit {
                std::fs::write(&p, fltblame::check::junit_xml(&report)?)
                    .with_context(|| format!("{}: cannot write", p.display()))?;
                text.push_str(&format!("Wrote {}\n", p.display()));
            }
            // A closed standard output (`| head`) must not change the exit code CI reads.
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            return Ok(ExitCode::from(report.exit_code()));
        }
        Cmd::Bench {
            file,
            runs,
            peer_python,
        } => {
            if is_etl(&file) {
                let r = fltblame::etl::bench::run(&file, runs, peer_python.as_deref())?;
                print!("{}", fltblame::etl::bench::render_text(&r));
            } else {
                fltblame::bench::run(&file, runs, peer_python.as_deref())?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `--utc-offset` values: `+08:00`, `-05:30`, `+0800`, `0`.
fn parse_utc_offset(s: &str) -> Result<i32, String> {
    fltblame::tables::logs::parse_offset(s)
        .ok_or_else(|| format!("`{s}` is no UTC offset (expected +HH:MM, e.g. +08:00)"))
}
