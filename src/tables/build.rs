//! Building the tables from a PML capture (`tables/mod.rs` has the schema).
//!
//! Events are decoded in parallel (rayon) in chunks of [`CHUNK`] events; each chunk fills plain
//! column vectors (borrowing process text from the capture) and becomes one chunk of the
//! DataFrames in the worker, so the whole table is never held twice. `analyze` asks for
//! [`FrameScope::Focused`] frames: the full `frames` table of a multi-GB capture has a row per
//! return address (tens of millions) and is only needed by `query` / `export`.

use super::cols::{str_col, utc_ns};
use crate::pml::detail::{self, class_name};
use crate::pml::resolve::FrameResolver;
use crate::pml::text::{filetime_to_unix_ns, iso_utc, status_text};
use crate::pml::{Pml, Process};
use polars::prelude::*;
use rayon::prelude::*;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// Events decoded per parallel work item (and rows per DataFrame chunk).
pub const CHUNK: usize = 16384;

/// Chunks decoded between two releases of the capture's pages (about 100 MB of a typical
/// capture per batch).
const BATCH_CHUNKS: usize = 16;

/// What one input contributed, for provenance and diagnostics.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct InputInfo {
    /// Path as given.
    pub path: String,
    /// Input kind (`pml`).
    pub kind: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256 of the file, lower-case hex (empty when not computed).
    pub sha256: String,
    /// Computer name from the capture header.
    pub computer: String,
    /// OS text, e.g. `Windows 7 (build 7601, Service Pack 1)`.
    pub os: String,
    /// 64-bit capture.
    pub is_64bit: bool,
    /// Events read.
    pub events: u64,
    /// First event time, ISO 8601 UTC.
    pub first_utc: Option<String>,
    /// Last event time, ISO 8601 UTC.
    pub last_utc: Option<String>,
    /// Problems met while reading (file, offset, what was done).
    pub warnings: Vec<String>,
}

/// The tables of one incident (one or more inputs).
pub struct Tables {
    /// One row per operation.
    pub events: DataFrame,
    /// One row per stack frame.
    pub frames: DataFrame,
    /// One row per module per process.
    pub modules: DataFrame,
    /// One row per process.
    pub processes: DataFrame,
    /// The inputs read.
    pub inputs: Vec<InputInfo>,
    /// The servicing logs: `log_lines`, classified failures, the machine's UTC offset.
    pub logs: super::logs::LogTables,
    /// One row per minifilter callback (ETL inputs; empty otherwise).
    pub callbacks: DataFrame,
    /// What each ETL input can show (minifilter tracing, failure events, operations).
    pub traces: Vec<super::etl::TraceInfo>,
}

/// Which stack frames [`from_pml_opts`] puts into `frames`.
#[derive(Clone, Debug, Default)]
pub enum FrameScope {
    /// Every frame of every stacked event (what `query` and `export --table frames` show).
    #[default]
    All,
    /// No frames (`stack_id` is still set): `export --table events`.
    None,
    /// What `analyze` reads, without a row per frame of the whole capture: every frame of the
    /// events of interest — a failure whose status `failure` accepts, and every operation the
    /// same thread started while that failure ran (start in `[start, start + duration]`, both
    /// inclusive: the nested-I/O window of `evidence/nested_io.rs`) — and, for all other
    /// events, only the frames that resolve to one of `modules` (lower-case file names; the
    /// candidate drivers), so per-driver activity and stack shares stay exact.
    Focused {
        /// Lower-case module file names whose frames are always kept.
        modules: HashSet<String>,
        /// The statuses whose events keep their whole stack.
        failure: fn(u32) -> bool,
    },
}

/// How [`from_pml_opts`] builds the tables.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// First `event_id` (ids are `id_base + event index`, unique over several inputs).
    pub id_base: u64,
    /// Which frames to keep.
    pub frames: FrameScope,
}

#[derive(Default)]
struct EventCols<'p> {
    event_id: Vec<u64>,
    time: Vec<i64>,
    pid: Vec<u32>,
    tid: Vec<u32>,
    process_name: Vec<&'p str>,
    user: Vec<&'p str>,
    integrity: Vec<&'p str>,
    class: Vec<&'static str>,
    operation: Vec<Cow<'static, str>>,
    path: Vec<String>,
    status: Vec<u32>,
    status_name: Vec<Cow<'static, str>>,
    duration_ns: Vec<i64>,
    detail: Vec<String>,
    category: Vec<&'static str>,
    stack_id: Vec<Option<u64>>,
    // frames
    f_stack: Vec<u64>,
    f_depth: Vec<u32>,
    f_addr: Vec<u64>,
    f_module: Vec<Option<&'p str>>,
    f_offset: Vec<Option<u64>>,
    f_kernel: Vec<bool>,
}

/// Per-thread windows `[start, end]` (FILETIME, inclusive) of the failures whose events keep
/// their whole stack ([`FrameScope::Focused`]), sorted by start.
struct Windows {
    by_tid: HashMap<u32, Vec<(u64, u64)>>,
}

impl Windows {
    /// One pass over the event headers (no detail decoding).
    fn scan(pml: &Pml, failure: fn(u32) -> bool) -> Windows {
        let n = pml.event_count();
        let chunks = n.div_ceil(CHUNK);
        let mut by_tid: HashMap<u32, Vec<(u64, u64)>> = HashMap::new();
        for batch in (0..chunks).step_by(BATCH_CHUNKS) {
            let last = (batch + BATCH_CHUNKS).min(chunks);
            let found: Vec<(u32, u64, u64)> = (batch..last)
                .into_par_iter()
                .flat_map_iter(|k| {
                    (k * CHUNK..((k + 1) * CHUNK).min(n)).filter_map(|i| {
                        let ev = pml.event(i)?;
                        failure(ev.result)
                            .then(|| (ev.tid, ev.time, ev.time.saturating_add(ev.duration)))
                    })
                })
                .collect();
            for (tid, a, b) in found {
                by_tid.entry(tid).or_default().push((a, b));
            }
            // The header pass touched every record: let its pages go (see `Pml::release`).
            let upto = pml
                .event_offset(last * CHUNK)
                .map_or(usize::MAX, |o| o as usize);
            pml.release(0, upto);
        }
        for w in by_tid.values_mut() {
            w.sort_unstable();
        }
        Windows { by_tid }
    }

    /// Does an event of `tid` starting at `time` fall inside one of the thread's windows?
    fn contains(&self, tid: u32, time: u64) -> bool {
        let Some(w) = self.by_tid.get(&tid) else {
            return false;
        };
        // Windows starting at or before `time`; any of them may still be open.
        w[..w.partition_point(|&(a, _)| a <= time)]
            .iter()
            .any(|&(_, b)| time <= b)
    }
}

/// The frame filter of one build.
enum Keep {
    All,
    None,
    Focused {
        /// `[base, end)` of the System process's modules named in [`FrameScope::Focused`],
        /// sorted (candidate drivers are kernel modules).
        ranges: Vec<(u64, u64)>,
        failure: fn(u32) -> bool,
        windows: Windows,
    },
}

impl Keep {
    /// Is kernel address `addr` inside one of the kept modules?
    fn in_kept_module(ranges: &[(u64, u64)], addr: u64) -> bool {
        let k = ranges.partition_point(|r| r.0 <= addr);
        k > 0 && addr < ranges[k - 1].1
    }
}

fn decode_chunk<'p>(
    pml: &'p Pml,
    resolver: &FrameResolver<'p>,
    keep: &Keep,
    range: std::ops::Range<usize>,
    id_base: u64,
) -> EventCols<'p> {
    let mut c = EventCols::default();
    let is64 = pml.header.is_64bit;
    for i in range {
        let Some(ev) = pml.event(i) else { continue };
        let d = detail::decode(pml, &ev);
        let p: Option<&'p Process> = pml.process(ev.process_index);
        let id = id_base + i as u64;
        c.event_id.push(id);
        c.time.push(filetime_to_unix_ns(ev.time));
        c.pid.push(p.map_or(0, |p| p.pid));
        c.tid.push(ev.tid);
        c.process_name.push(p.map_or("", |p| p.name.as_str()));
        c.user.push(p.map_or("", |p| p.user.as_str()));
        c.integrity.push(p.map_or("", |p| p.integrity.as_str()));
        c.class.push(class_name(ev.class));
        c.operation.push(d.operation);
        c.path.push(d.path);
        c.status.push(ev.result);
        c.status_name.push(status_text(ev.result));
        c.duration_ns
            .push(i64::try_from(ev.duration.saturating_mul(100)).unwrap_or(i64::MAX));
        c.detail.push(d.detail);
        c.category.push(d.category);
        if ev.stack_depth == 0 {
            c.stack_id.push(None);
            continue;
        }
        c.stack_id.push(Some(id));
        let whole = match keep {
            Keep::None => continue,
            Keep::All => None,
            Keep::Focused {
                failure, windows, ..
            } => Some(failure(ev.result) || windows.contains(ev.tid, ev.time)),
        };
        for (depth, addr) in ev.stack(is64).enumerate() {
            if let (Some(false), Keep::Focused { ranges, .. }) = (whole, keep) {
                if !pml.is_kernel_address(addr) || !Keep::in_kept_module(ranges, addr) {
                    continue;
                }
            }
            let m = resolver.resolve(ev.process_index, addr);
            c.f_stack.push(id);
            c.f_depth.push(depth as u32);
            c.f_addr.push(addr);
            c.f_module.push(m.map(|m| m.name()));
            c.f_offset.push(m.map(|m| addr - m.base));
            c.f_kernel.push(pml.is_kernel_address(addr));
        }
    }
    c
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex_lower(&sha2::Sha256::digest(bytes))
}

/// Lower-case hex of a digest.
fn hex_lower(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A String column from borrowed text (no per-row allocation).
fn text_col<S: AsRef<str>>(name: &str, v: &[S]) -> Column {
    StringChunked::from_iter_values(name.into(), v.iter().map(AsRef::as_ref))
        .into_series()
        .into()
}

/// One chunk's `events` and `frames` rows as DataFrames (built in the worker, so the chunk's
/// vectors are freed before the next chunk is decoded).
fn chunk_frames(c: EventCols, source: &str) -> PolarsResult<(DataFrame, DataFrame)> {
    let rows = c.event_id.len();
    let events = DataFrame::new(
        rows,
        vec![
            Series::new("event_id".into(), c.event_id).into(),
            StringChunked::full("source".into(), source, rows)
                .into_series()
                .into(),
            utc_ns("time_utc", c.time.into_iter().map(Some).collect())?,
            Series::new("pid".into(), c.pid).into(),
            Series::new("tid".into(), c.tid).into(),
            text_col("process_name", &c.process_name),
            text_col("user", &c.user),
            text_col("integrity", &c.integrity),
            text_col("class", &c.class),
            text_col("operation", &c.operation),
            text_col("path", &c.path),
            Series::new("status".into(), c.status).into(),
            text_col("status_name", &c.status_name),
            Series::new("duration_ns".into(), c.duration_ns).into(),
            text_col("detail", &c.detail),
            text_col("category", &c.category),
            Series::new("stack_id".into(), c.stack_id).into(),
        ],
    )?;
    let frames = DataFrame::new(
        c.f_stack.len(),
        vec![
            Series::new("stack_id".into(), c.f_stack).into(),
            Series::new("depth".into(), c.f_depth).into(),
            Series::new("address".into(), c.f_addr).into(),
            Series::new("module".into(), c.f_module).into(),
            Series::new("offset".into(), c.f_offset).into(),
            Series::new("kernel".into(), c.f_kernel).into(),
        ],
    )?;
    Ok((events, frames))
}

/// The frame filter of `scope` for `pml` (the focused scope scans the event headers once).
fn keep_for(pml: &Pml, scope: &FrameScope) -> Keep {
    match scope {
        FrameScope::All => Keep::All,
        FrameScope::None => Keep::None,
        FrameScope::Focused { modules, failure } => {
            let mut ranges: Vec<(u64, u64)> = pml
                .system_process()
                .map(|p| &p.modules[..])
                .unwrap_or_default()
                .iter()
                .filter(|m| modules.contains(&m.name().to_ascii_lowercase()))
                .map(|m| (m.base, m.base.saturating_add(u64::from(m.size))))
                .collect();
            ranges.sort_unstable();
            Keep::Focused {
                ranges,
                failure: *failure,
                windows: Windows::scan(pml, *failure),
            }
        }
    }
}

/// Decode every event of `pml` in batches of chunks in file order and hand each chunk's
/// `events` and `frames` rows to `sink`, in event order. The SHA-256 of each batch's bytes
/// (provenance) is computed while its events decode, then its pages are released
/// (`Pml::release`), so a multi-GB capture is never resident as a whole. Returns the file's
/// SHA-256, lower-case hex.
fn stream_batches(
    pml: &Pml,
    resolver: &FrameResolver,
    keep: &Keep,
    id_base: u64,
    source: &str,
    sink: &mut dyn FnMut(DataFrame, DataFrame) -> PolarsResult<()>,
) -> PolarsResult<String> {
    let n = pml.event_count();
    let chunks = n.div_ceil(CHUNK);
    let bytes = pml.bytes();
    let mut hasher = sha2::Sha256::default();
    let mut hashed = 0usize;
    for batch in (0..chunks).step_by(BATCH_CHUNKS) {
        let last = (batch + BATCH_CHUNKS).min(chunks);
        // Hash up to the first record of the next batch (the whole file after the last one).
        let upto = match pml.event_offset(last * CHUNK) {
            Some(o) => usize::try_from(o).unwrap_or(usize::MAX).min(bytes.len()),
            None => bytes.len(),
        }
        .max(hashed);
        let (_, decoded) = rayon::join(
            || sha2::Digest::update(&mut hasher, &bytes[hashed..upto]),
            || -> PolarsResult<Vec<(DataFrame, DataFrame)>> {
                (batch..last)
                    .into_par_iter()
                    .map(|k| {
                        let range = k * CHUNK..((k + 1) * CHUNK).min(n);
                        chunk_frames(decode_chunk(pml, resolver, keep, range, id_base), source)
                    })
                    .collect()
            },
        );
        for (e, f) in decoded? {
            sink(e, f)?;
        }
        pml.release(0, upto);
        hashed = upto;
    }
    sha2::Digest::update(&mut hasher, &bytes[hashed..]);
    pml.release(0, bytes.len());
    Ok(hex_lower(&sha2::Digest::finalize(hasher)))
}

/// Stream the `events` and `frames` rows of `pml` to `sink` chunk by chunk ([`CHUNK`] events,
/// in event order; same columns as [`from_pml_opts`] builds) without holding the tables:
/// `export --format parquet` of a multi-GB capture writes one row group per chunk. Returns the
/// number of events. Errors: what `sink` or polars returns.
pub fn stream_pml(
    pml: &Pml,
    opts: &BuildOptions,
    sink: &mut dyn FnMut(DataFrame, DataFrame) -> PolarsResult<()>,
) -> PolarsResult<u64> {
    let source = source_name(pml);
    let resolver = FrameResolver::new(pml);
    let keep = keep_for(pml, &opts.frames);
    let mut rows = 0u64;
    stream_batches(pml, &resolver, &keep, opts.id_base, &source, &mut |e, f| {
        rows += e.height() as u64;
        sink(e, f)
    })?;
    Ok(rows)
}

/// The `source` column's value: the capture's file name.
fn source_name(pml: &Pml) -> String {
    pml.path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Build the tables of one PML with every frame. Event ids are the event indexes; `source` is
/// the file name. Errors only when polars refuses a column (not expected).
pub fn from_pml(pml: &Pml) -> PolarsResult<Tables> {
    from_pml_opts(pml, &BuildOptions::default())
}

/// As [`from_pml`], numbering events from `id_base` (to keep ids unique over several inputs).
pub fn from_pml_with_base(pml: &Pml, id_base: u64) -> PolarsResult<Tables> {
    from_pml_opts(
        pml,
        &BuildOptions {
            id_base,
            ..Default::default()
        },
    )
}

/// Build the tables of one PML with `opts`. Events are decoded in parallel in chunks of
/// [`CHUNK`]; each chunk becomes a chunk of the DataFrames (no copy of the whole table).
pub fn from_pml_opts(pml: &Pml, opts: &BuildOptions) -> PolarsResult<Tables> {
    let n = pml.event_count();
    let id_base = opts.id_base;
    let source = source_name(pml);
    let resolver = FrameResolver::new(pml);
    let keep = keep_for(pml, &opts.frames);
    let (mut events, mut frames) = chunk_frames(EventCols::default(), &source)?;
    let sha256 = stream_batches(pml, &resolver, &keep, id_base, &source, &mut |e, f| {
        events.vstack_mut_owned(e)?;
        frames.vstack_mut_owned(f)?;
        Ok(())
    })?;
    let rows = events.height();
    let modules = modules_df(pml, &source)?;
    let processes = processes_df(pml, &source)?;
    let info = InputInfo {
        path: pml.path.display().to_string(),
        kind: "pml".into(),
        bytes: pml.bytes().len() as u64,
        sha256,
        computer: pml.header.computer_name.clone(),
        os: pml.header.os_name(),
        is_64bit: pml.header.is_64bit,
        events: rows as u64,
        first_utc: (n > 0).then(|| iso_utc(pml.first_time())),
        last_utc: (n > 0).then(|| iso_utc(pml.last_time())),
        warnings: pml
            .warnings
            .iter()
            .map(|w| format!("{}: {w}", pml.path.display()))
            .collect(),
    };
    Ok(Tables {
        events,
        frames,
        modules,
        processes,
        inputs: vec![info],
        logs: Default::default(),
        callbacks: super::etl::empty_callbacks()?,
        traces: Vec::new(),
    })
}

/// The `modules` table of `pml` (one row per module per process; `tables/mod.rs`).
pub fn modules_df(pml: &Pml, source: &str) -> PolarsResult<DataFrame> {
    let mut pid = Vec::new();
    let (mut base, mut size) = (Vec::new(), Vec::new());
    let (mut path, mut name, mut company, mut version, mut desc) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for p in &pml.processes {
        for m in &p.modules {
            pid.push(p.pid);
            base.push(m.base);
            size.push(u64::from(m.size));
            path.push(m.path.clone());
            name.push(m.name().to_string());
            company.push(m.company.clone());
            version.push(m.version.clone());
            desc.push(m.description.clone());
        }
    }
    let rows = pid.len();
    DataFrame::new(
        rows,
        vec![
            str_col("source", vec![source.to_string(); rows]),
            Series::new("pid".into(), pid).into(),
            Series::new("base".into(), base).into(),
            Series::new("size".into(), size).into(),
            str_col("path", path),
            str_col("name", name),
            str_col("company", company),
            str_col("version", version),
            str_col("description", desc),
        ],
    )
}

fn processes_df(pml: &Pml, source: &str) -> PolarsResult<DataFrame> {
    let ps = &pml.processes;
    let t = |ft: u64| (ft != 0).then(|| filetime_to_unix_ns(ft));
    DataFrame::new(
        ps.len(),
        vec![
            str_col("source", vec![source.to_string(); ps.len()]),
            Series::new("pid".into(), ps.iter().map(|p| p.pid).collect::<Vec<_>>()).into(),
            Series::new("ppid".into(), ps.iter().map(|p| p.ppid).collect::<Vec<_>>()).into(),
            str_col("name", ps.iter().map(|p| p.name.clone()).collect()),
            str_col("image", ps.iter().map(|p| p.image_path.clone()).collect()),
            str_col(
                "command_line",
                ps.iter().map(|p| p.command_line.clone()).collect(),
            ),
            str_col("user", ps.iter().map(|p| p.user.clone()).collect()),
            str_col(
                "integrity",
                ps.iter().map(|p| p.integrity.clone()).collect(),
            ),
            Series::new(
                "session".into(),
                ps.iter().map(|p| p.session).collect::<Vec<_>>(),
            )
            .into(),
            utc_ns("start_utc", ps.iter().map(|p| t(p.start_time)).collect())?,
            utc_ns("end_utc", ps.iter().map(|p| t(p.end_time)).collect())?,
        ],
    )
}
