//! Building the tables from a PML capture (`tables/mod.rs` has the schema).
//!
//! Events are decoded in parallel (rayon) in chunks of [`CHUNK`] events; each chunk fills plain
//! column vectors, which are then concatenated in event order into polars Series.

use crate::pml::detail::{self, class_name};
use crate::pml::text::{filetime_to_unix_ns, iso_utc, status_text};
use crate::pml::{Pml, Process};
use polars::prelude::*;
use rayon::prelude::*;

/// Events decoded per parallel work item.
pub const CHUNK: usize = 4096;

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

#[derive(Default)]
struct EventCols {
    event_id: Vec<u64>,
    time: Vec<i64>,
    pid: Vec<u32>,
    tid: Vec<u32>,
    process_name: Vec<String>,
    user: Vec<String>,
    integrity: Vec<String>,
    class: Vec<&'static str>,
    operation: Vec<String>,
    path: Vec<String>,
    status: Vec<u32>,
    status_name: Vec<String>,
    duration_ns: Vec<i64>,
    detail: Vec<String>,
    category: Vec<&'static str>,
    stack_id: Vec<Option<u64>>,
    // frames
    f_stack: Vec<u64>,
    f_depth: Vec<u32>,
    f_addr: Vec<u64>,
    f_module: Vec<Option<String>>,
    f_offset: Vec<Option<u64>>,
    f_kernel: Vec<bool>,
}

impl EventCols {
    fn append(&mut self, o: EventCols) {
        macro_rules! ext {
            ($($f:ident),*) => { $( self.$f.extend(o.$f); )* };
        }
        ext!(
            event_id,
            time,
            pid,
            tid,
            process_name,
            user,
            integrity,
            class,
            operation,
            path,
            status,
            status_name,
            duration_ns,
            detail,
            category,
            stack_id,
            f_stack,
            f_depth,
            f_addr,
            f_module,
            f_offset,
            f_kernel
        );
    }
}

fn decode_chunk(pml: &Pml, range: std::ops::Range<usize>, id_base: u64) -> EventCols {
    let mut c = EventCols::default();
    let is64 = pml.header.is_64bit;
    for i in range {
        let Some(ev) = pml.event(i) else { continue };
        let d = detail::decode(pml, &ev);
        let p: Option<&Process> = pml.process(ev.process_index);
        let id = id_base + i as u64;
        c.event_id.push(id);
        c.time.push(filetime_to_unix_ns(ev.time));
        c.pid.push(p.map_or(0, |p| p.pid));
        c.tid.push(ev.tid);
        c.process_name
            .push(p.map(|p| p.name.clone()).unwrap_or_default());
        c.user.push(p.map(|p| p.user.clone()).unwrap_or_default());
        c.integrity
            .push(p.map(|p| p.integrity.clone()).unwrap_or_default());
        c.class.push(class_name(ev.class));
        c.operation.push(d.operation.into_owned());
        c.path.push(d.path);
        c.status.push(ev.result);
        c.status_name.push(status_text(ev.result).into_owned());
        c.duration_ns
            .push(i64::try_from(ev.duration.saturating_mul(100)).unwrap_or(i64::MAX));
        c.detail.push(d.detail);
        c.category.push(d.category);
        if ev.stack_depth > 0 {
            c.stack_id.push(Some(id));
            for (depth, addr) in ev.stack(is64).enumerate() {
                let m = pml.resolve_frame(p, addr);
                c.f_stack.push(id);
                c.f_depth.push(depth as u32);
                c.f_addr.push(addr);
                c.f_module.push(m.map(|m| m.name().to_string()));
                c.f_offset.push(m.map(|m| addr - m.base));
                c.f_kernel.push(pml.is_kernel_address(addr));
            }
        } else {
            c.stack_id.push(None);
        }
    }
    c
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn utc_ns(name: &str, v: Vec<Option<i64>>) -> PolarsResult<Column> {
    Ok(Series::new(name.into(), v)
        .cast(&DataType::Datetime(
            TimeUnit::Nanoseconds,
            Some(TimeZone::UTC),
        ))?
        .into())
}

fn str_col(name: &str, v: Vec<String>) -> Column {
    Series::new(name.into(), v).into()
}

/// Build the tables of one PML. Event ids are `id_base + event index`; `source` is the file
/// name. Errors only when polars refuses a column (not expected).
pub fn from_pml(pml: &Pml) -> PolarsResult<Tables> {
    from_pml_with_base(pml, 0)
}

/// As [`from_pml`], numbering events from `id_base` (to keep ids unique over several inputs).
pub fn from_pml_with_base(pml: &Pml, id_base: u64) -> PolarsResult<Tables> {
    let n = pml.event_count();
    let source = pml
        .path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The file's SHA-256 (provenance) is computed while the events decode.
    let (sha256, chunks) = rayon::join(
        || sha256_hex(pml.bytes()),
        || -> Vec<EventCols> {
            (0..n.div_ceil(CHUNK))
                .into_par_iter()
                .map(|k| decode_chunk(pml, k * CHUNK..((k + 1) * CHUNK).min(n), id_base))
                .collect()
        },
    );
    let mut c = EventCols::default();
    for ch in chunks {
        c.append(ch);
    }
    let rows = c.event_id.len();
    let events = DataFrame::new(
        rows,
        vec![
            Series::new("event_id".into(), c.event_id).into(),
            str_col("source", vec![source.clone(); rows]),
            utc_ns("time_utc", c.time.into_iter().map(Some).collect())?,
            Series::new("pid".into(), c.pid).into(),
            Series::new("tid".into(), c.tid).into(),
            str_col("process_name", c.process_name),
            str_col("user", c.user),
            str_col("integrity", c.integrity),
            Series::new("class".into(), c.class).into(),
            str_col("operation", c.operation),
            str_col("path", c.path),
            Series::new("status".into(), c.status).into(),
            str_col("status_name", c.status_name),
            Series::new("duration_ns".into(), c.duration_ns).into(),
            str_col("detail", c.detail),
            Series::new("category".into(), c.category).into(),
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

fn modules_df(pml: &Pml, source: &str) -> PolarsResult<DataFrame> {
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
