//! Denial finding: the operations of `events` whose status is a denial (`denial` class of
//! `ntstatus.csv`: ACCESS DENIED, PRIVILEGE NOT HELD, the policy denials ...) or one only
//! filters return (`filter_only`: cloud-file 0xC000CFxx, VIRUS INFECTED, customer-bit statuses).
//! Everyday results (NAME NOT FOUND, FAST IO DISALLOWED, BUFFER OVERFLOW, REPARSE ...) never are.
//!
//! Each denial is marked `servicing_relevant` (servicing actor or object, `data/servicing_*.csv`)
//! and `acl_plausible` ([`classify::acl_plausible`]).

use super::classify::{self, ActorClass, ObjectName, TargetClass};
use super::cols;
use crate::knowledge::{self, StatusClass};
use crate::tables::Tables;
use polars::prelude::*;
use std::collections::HashMap;

/// One denied operation.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Denial {
    /// `events.event_id`.
    pub event_id: u64,
    /// Input file name (`events.source`).
    pub source: String,
    /// Start of the operation, nanoseconds since the Unix epoch, UTC.
    pub time_ns: i64,
    /// The same instant as ISO 8601 UTC text with 7 fractional digits (FILETIME precision).
    pub time_utc: String,
    /// Duration in nanoseconds (Procmon's 100 ns ticks times 100).
    pub duration_ns: i64,
    /// Process id.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// Process name, e.g. `TrustedInstaller.exe`.
    pub process: String,
    /// Process image path (from `processes`; empty when unknown).
    pub image: String,
    /// `DOMAIN\user`.
    pub user: String,
    /// Integrity level text (`System`, `High`, `Medium`, `Low` ...).
    pub integrity: String,
    /// Event class (`Registry`, `File System` ...).
    pub class: String,
    /// Procmon's operation name.
    pub operation: String,
    /// Path as Procmon printed it.
    pub path: String,
    /// Procmon's Detail.
    pub detail: String,
    /// NTSTATUS.
    pub status: u32,
    /// Procmon's Result text.
    pub status_name: String,
    /// Class of the status (`denial` or `filter_only`).
    pub status_class: StatusClass,
    /// `stack_id` of the event (null when it has no stack).
    pub stack_id: Option<u64>,
    /// Normalised object name (display form): `HKLM\...`, `CurrentControlSet` for `ControlSet00N`.
    pub object: String,
    /// Lower-case volume-relative form of `object`, used for matching.
    #[serde(skip)]
    pub object_key: String,
    /// The object is a registry key or value.
    pub registry: bool,
    /// The operation asks to change its target.
    pub write: bool,
    /// Class of the actor.
    pub actor: ActorClass,
    /// Class of the target.
    pub target: TargetClass,
    /// The actor holds the TrustedInstaller token (TrustedInstaller.exe, TiWorker.exe or a child).
    pub trustedinstaller: bool,
    /// Servicing actor or servicing object.
    pub servicing_relevant: bool,
    /// Why servicing-relevant (empty when not).
    pub servicing_reason: String,
    /// An ordinary ACL plausibly produced it.
    pub acl_plausible: bool,
    /// Why (or why not) ACL-plausible.
    pub acl_reason: String,
}

impl Denial {
    /// The status as `0xC0000022`.
    pub fn status_hex(&self) -> String {
        format!("0x{:08X}", self.status)
    }
}

/// Statuses that make an event a denial: `denial` and `filter_only` classes.
pub fn is_denial_status(code: u32) -> bool {
    matches!(
        knowledge::status_class(code),
        StatusClass::Denial | StatusClass::FilterOnly
    )
}

struct ProcRow {
    ppid: u32,
    name: String,
    image: String,
    command_line: String,
}

/// `processes` keyed by (source, pid); several rows per pid are kept (pids are reused).
fn process_index(tables: &Tables) -> PolarsResult<HashMap<(String, u32), Vec<ProcRow>>> {
    let p = &tables.processes;
    let mut m: HashMap<(String, u32), Vec<ProcRow>> = HashMap::new();
    if p.height() == 0 {
        return Ok(m);
    }
    let source = cols::strs(p, "source")?;
    let pid = cols::u32s(p, "pid")?;
    let ppid = cols::u32s(p, "ppid")?;
    let name = cols::strs(p, "name")?;
    let image = cols::strs(p, "image")?;
    let cmd = cols::strs(p, "command_line")?;
    for i in 0..p.height() {
        m.entry((source[i].clone(), pid[i]))
            .or_default()
            .push(ProcRow {
                ppid: ppid[i],
                name: name[i].clone(),
                image: image[i].clone(),
                command_line: cmd[i].clone(),
            });
    }
    Ok(m)
}

fn lookup<'a>(
    idx: &'a HashMap<(String, u32), Vec<ProcRow>>,
    source: &str,
    pid: u32,
    name: Option<&str>,
) -> Option<&'a ProcRow> {
    let rows = idx.get(&(source.to_string(), pid))?;
    name.and_then(|n| rows.iter().find(|r| r.name.eq_ignore_ascii_case(n)))
        .or_else(|| rows.first())
}

/// Whether the process or one of its ancestors (up to 8 levels) is a servicing process that
/// holds the TrustedInstaller token: children inherit the token.
fn has_ti_token(
    idx: &HashMap<(String, u32), Vec<ProcRow>>,
    source: &str,
    pid: u32,
    name: &str,
) -> bool {
    let mut cur = lookup(idx, source, pid, Some(name));
    let mut name = name.to_string();
    let mut pid = pid;
    for _ in 0..8 {
        let cmd = cur.map(|r| r.command_line.as_str()).unwrap_or("");
        if super::data::servicing_process(&name, cmd).is_some_and(|p| p.trustedinstaller) {
            return true;
        }
        let Some(row) = cur else { return false };
        if row.ppid == pid || row.ppid == 0 {
            return false;
        }
        pid = row.ppid;
        cur = lookup(idx, source, pid, None);
        name = cur.map(|r| r.name.clone()).unwrap_or_default();
    }
    false
}

/// Find the denials of `tables.events`, in event order.
pub fn find(tables: &Tables) -> anyhow::Result<Vec<Denial>> {
    let ev = &tables.events;
    if ev.height() == 0 {
        return Ok(Vec::new());
    }
    let codes: Vec<u32> = ev
        .column("status")?
        .unique()?
        .u32()?
        .iter()
        .flatten()
        .filter(|c| is_denial_status(*c))
        .collect();
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let df = ev
        .clone()
        .lazy()
        .filter(col("status").is_in(
            lit(Series::new("codes".into(), codes)).implode(false),
            false,
        ))
        .sort(["event_id"], Default::default())
        .collect()?;
    let procs = process_index(tables)?;
    let event_id = cols::u64s(&df, "event_id")?;
    let source = cols::strs(&df, "source")?;
    let time = cols::i64s(&df, "time_utc")?;
    let duration = cols::i64s(&df, "duration_ns")?;
    let pid = cols::u32s(&df, "pid")?;
    let tid = cols::u32s(&df, "tid")?;
    let process = cols::strs(&df, "process_name")?;
    let user = cols::strs(&df, "user")?;
    let integrity = cols::strs(&df, "integrity")?;
    let class = cols::strs(&df, "class")?;
    let operation = cols::strs(&df, "operation")?;
    let path = cols::strs(&df, "path")?;
    let detail = cols::strs(&df, "detail")?;
    let status = cols::u32s(&df, "status")?;
    let status_name = cols::strs(&df, "status_name")?;
    let stack_id = cols::u64s_opt(&df, "stack_id")?;
    let mut out = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let obj: ObjectName = classify::object_name(&path[i]);
        let row = lookup(&procs, &source[i], pid[i], Some(&process[i]));
        let cmd = row.map(|r| r.command_line.as_str()).unwrap_or("");
        let ti = has_ti_token(&procs, &source[i], pid[i], &process[i]);
        let write = classify::write_intent(&operation[i], &detail[i]);
        let actor = classify::actor_class(&user[i], &integrity[i], ti);
        let (target, target_why) = classify::target_class(&obj, &user[i]);
        let acl = classify::acl_plausible(actor, target, write);
        let serv = classify::servicing_reason(&process[i], cmd, ti, &obj);
        out.push(Denial {
            event_id: event_id[i],
            source: source[i].clone(),
            time_ns: time[i],
            time_utc: iso_ns(time[i]),
            duration_ns: duration[i],
            pid: pid[i],
            tid: tid[i],
            process: process[i].clone(),
            image: row.map(|r| r.image.clone()).unwrap_or_default(),
            user: user[i].clone(),
            integrity: integrity[i].clone(),
            class: class[i].clone(),
            operation: operation[i].clone(),
            path: path[i].clone(),
            detail: detail[i].clone(),
            status: status[i],
            status_name: status_name[i].clone(),
            status_class: knowledge::status_class(status[i]),
            stack_id: stack_id[i],
            object: obj.display,
            object_key: obj.key,
            registry: obj.registry,
            write,
            actor,
            target,
            trustedinstaller: ti,
            servicing_relevant: serv.is_some(),
            servicing_reason: serv.unwrap_or_default(),
            acl_plausible: acl.plausible,
            acl_reason: format!("{} (target: {target_why})", acl.reason),
        });
    }
    Ok(out)
}

/// ISO 8601 UTC text of nanoseconds since the Unix epoch, 7 fractional digits (the FILETIME
/// precision Procmon records): `2024-09-10T10:44:44.1234567Z`.
pub fn iso_ns(ns: i64) -> String {
    const UNIX_EPOCH_FILETIME: i128 = 116_444_736_000_000_000;
    let ft = (ns as i128).div_euclid(100) + UNIX_EPOCH_FILETIME;
    crate::pml::text::iso_utc(ft.max(0) as u64)
}

/// The derived `denials` table of DESIGN.md: `event_id`, `source`, `tid`, `time_ns` (Int64,
/// ns since the Unix epoch UTC), `end_ns` (`time_ns + duration_ns`), `status` (UInt32),
/// `servicing_relevant`, `acl_plausible`, `object`.
pub fn frame(denials: &[Denial]) -> PolarsResult<DataFrame> {
    let n = denials.len();
    DataFrame::new(
        n,
        vec![
            Column::new(
                "event_id".into(),
                denials.iter().map(|d| d.event_id).collect::<Vec<_>>(),
            ),
            Column::new(
                "source".into(),
                denials.iter().map(|d| d.source.clone()).collect::<Vec<_>>(),
            ),
            Column::new(
                "tid".into(),
                denials.iter().map(|d| d.tid).collect::<Vec<_>>(),
            ),
            Column::new(
                "time_ns".into(),
                denials.iter().map(|d| d.time_ns).collect::<Vec<_>>(),
            ),
            Column::new(
                "end_ns".into(),
                denials
                    .iter()
                    .map(|d| d.time_ns.saturating_add(d.duration_ns.max(0)))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "status".into(),
                denials.iter().map(|d| d.status).collect::<Vec<_>>(),
            ),
            Column::new(
                "servicing_relevant".into(),
                denials
                    .iter()
                    .map(|d| d.servicing_relevant)
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "acl_plausible".into(),
                denials.iter().map(|d| d.acl_plausible).collect::<Vec<_>>(),
            ),
            Column::new(
                "object".into(),
                denials.iter().map(|d| d.object.clone()).collect::<Vec<_>>(),
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::synthetic::Builder;

    #[test]
    fn statuses() {
        assert!(is_denial_status(0xC000_0022));
        assert!(is_denial_status(0xC000_0061));
        assert!(is_denial_status(0xC000_0906));
        assert!(is_denial_status(0xC000_CF18));
        assert!(is_denial_status(0xE000_0001));
        for everyday in [
            0xC000_0034u32, // NAME NOT FOUND
            0xC000_0043,    // SHARING VIOLATION
            0x8000_0005,    // BUFFER OVERFLOW
            0x0000_0104,    // REPARSE
            0xC000_0054,    // FILE LOCK CONFLICT
            0,
        ] {
            assert!(!is_denial_status(everyday), "{everyday:#x}");
        }
        assert_eq!(iso_ns(0), "1970-01-01T00:00:00.0000000Z");
    }

    #[test]
    fn finds_and_marks() {
        let mut b = Builder::new();
        let ti = b.system_process(700, "TrustedInstaller.exe", 500);
        let user = b.process(900, "reg.exe", "PC\\bob", "Medium", 800);
        let child = b.system_process(710, "poqexec.exe", 700);
        b.event(
            ti,
            1,
            "RegSetValue",
            "HKLM\\System\\ControlSet001\\Services\\AmdK8\\Start",
            0xC000_0022,
            1000,
            500,
        );
        b.event(
            ti,
            1,
            "RegQueryValue",
            "HKLM\\Software\\X",
            0xC000_0034,
            1100,
            10,
        );
        b.event(
            user,
            2,
            "RegSetValue",
            "HKLM\\Software\\Vendor\\Key",
            0xC000_0022,
            2000,
            10,
        );
        b.event(
            child,
            3,
            "WriteFile",
            "C:\\Windows\\System32\\drivers\\a.sys",
            0xC000_0022,
            3000,
            10,
        );
        b.event(
            user,
            2,
            "CreateFile",
            "C:\\Users\\bob\\x.txt",
            0x8000_0005,
            4000,
            10,
        );
        let t = b.build();
        let d = find(&t).unwrap();
        assert_eq!(d.len(), 3);
        assert_eq!(
            d[0].object,
            "HKLM\\System\\CurrentControlSet\\Services\\AmdK8\\Start"
        );
        assert!(d[0].servicing_relevant && !d[0].acl_plausible && d[0].trustedinstaller);
        assert_eq!(d[0].status_hex(), "0xC0000022");
        assert!(!d[1].servicing_relevant && d[1].acl_plausible);
        assert_eq!(d[1].actor, ActorClass::User);
        // A child of TrustedInstaller inherits its token.
        assert!(d[2].trustedinstaller && !d[2].acl_plausible && d[2].servicing_relevant);
        let f = frame(&d).unwrap();
        assert_eq!(f.height(), 3);
        assert_eq!(cols::i64s(&f, "end_ns").unwrap()[0], d[0].time_ns + 500_000);
    }
}
