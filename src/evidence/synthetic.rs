//! Hand-built tables of scenarios with a known answer, in the schema of `tables/mod.rs`: what
//! the weights are calibrated on and the tests check (a driver that denies from inside its
//! callback, ACL-only denials, ties ...). Times are ns since the Unix epoch, UTC.

use crate::evidence::{candidates, denials, Context, Evidence, KindFn};
use crate::tables::{InputInfo, Tables};
use polars::prelude::*;

/// 2024-09-10T10:44:44Z in ns since the Unix epoch.
pub const BASE_NS: i64 = 1_725_965_084_000_000_000;

#[derive(Clone)]
struct Proc {
    pid: u32,
    ppid: u32,
    name: String,
    user: String,
    integrity: String,
    command_line: String,
}

#[derive(Default)]
struct Ev {
    id: u64,
    time: i64,
    pid: u32,
    tid: u32,
    process: String,
    user: String,
    integrity: String,
    class: String,
    operation: String,
    path: String,
    status: u32,
    duration: i64,
    detail: String,
    stack: Option<u64>,
}

/// Builder of a small [`Tables`].
pub struct Builder {
    procs: Vec<Proc>,
    events: Vec<Ev>,
    frames: Vec<(u64, u32, u64, Option<String>, bool)>,
    modules: Vec<(u32, String, String, String, String)>,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// Empty tables with the System process and a few Windows kernel modules.
    pub fn new() -> Builder {
        let mut b = Builder {
            procs: Vec::new(),
            events: Vec::new(),
            frames: Vec::new(),
            modules: Vec::new(),
        };
        b.process(4, "System", "NT AUTHORITY\\SYSTEM", "System", 0);
        b.kernel_module("ntoskrnl.exe", "Microsoft Corporation", "6.1.7601.24545");
        b.kernel_module("FLTMGR.SYS", "Microsoft Corporation", "6.1.7601.23809");
        b.kernel_module(
            "PROCMON23.SYS",
            "Sysinternals - www.sysinternals.com",
            "3.50",
        );
        b.kernel_module("fileinfo.sys", "Microsoft Corporation", "6.1.7601.17514");
        b
    }

    /// Add a process; returns its index for [`Builder::event`].
    pub fn process(
        &mut self,
        pid: u32,
        name: &str,
        user: &str,
        integrity: &str,
        ppid: u32,
    ) -> usize {
        self.procs.push(Proc {
            pid,
            ppid,
            name: name.into(),
            user: user.into(),
            integrity: integrity.into(),
            command_line: name.into(),
        });
        self.procs.len() - 1
    }

    /// Add a process running as `NT AUTHORITY\SYSTEM` at System integrity; returns its index.
    pub fn system_process(&mut self, pid: u32, name: &str, ppid: u32) -> usize {
        self.process(pid, name, "NT AUTHORITY\\SYSTEM", "System", ppid)
    }

    /// Set a process's command line.
    pub fn command_line(&mut self, proc: usize, cmd: &str) {
        self.procs[proc].command_line = cmd.into();
    }

    /// Add a kernel module (System process).
    pub fn kernel_module(&mut self, name: &str, company: &str, version: &str) {
        self.module(
            4,
            name,
            &format!("C:\\Windows\\system32\\drivers\\{name}"),
            company,
            version,
        );
    }

    /// Add a module to a process.
    pub fn module(&mut self, pid: u32, name: &str, path: &str, company: &str, version: &str) {
        self.modules.push((
            pid,
            name.into(),
            path.into(),
            company.into(),
            version.into(),
        ));
    }

    /// Add an event at `t_us` microseconds after [`BASE_NS`] lasting `dur_us`; returns its id.
    #[allow(clippy::too_many_arguments)]
    pub fn event(
        &mut self,
        proc: usize,
        tid: u32,
        operation: &str,
        path: &str,
        status: u32,
        t_us: i64,
        dur_us: i64,
    ) -> u64 {
        let p = self.procs[proc].clone();
        let id = self.events.len() as u64;
        let class = if operation.starts_with("Reg") {
            "Registry"
        } else {
            "File System"
        };
        let detail = match operation {
            "RegSetValue" => "Type: REG_DWORD, Length: 4, Data: 3".to_string(),
            "RegOpenKey" | "RegCreateKey" => "Desired Access: Read".to_string(),
            "CreateFile" => "Desired Access: Generic Read, Disposition: Open".to_string(),
            _ => String::new(),
        };
        self.events.push(Ev {
            id,
            time: BASE_NS + t_us * 1000,
            pid: p.pid,
            tid,
            process: p.name,
            user: p.user,
            integrity: p.integrity,
            class: class.into(),
            operation: operation.into(),
            path: path.into(),
            status,
            duration: dur_us * 1000,
            detail,
            stack: None,
        });
        id
    }

    /// Set an event's Detail.
    pub fn detail(&mut self, event: u64, detail: &str) {
        self.events[event as usize].detail = detail.into();
    }

    /// Give an event a stack: module names innermost first (kernel frames).
    pub fn stack(&mut self, event: u64, modules: &[&str]) {
        self.events[event as usize].stack = Some(event);
        for (depth, m) in modules.iter().enumerate() {
            self.frames.push((
                event,
                depth as u32,
                0xFFFF_F800_0000_0000 + depth as u64 * 0x10,
                Some(m.to_string()),
                true,
            ));
        }
    }

    /// The tables.
    pub fn build(&self) -> Tables {
        let src = "test.pml";
        let e = &self.events;
        let n = e.len();
        let ut = DataType::Datetime(TimeUnit::Nanoseconds, Some(TimeZone::UTC));
        let s = |name: &str, v: Vec<String>| -> Column { Series::new(name.into(), v).into() };
        let events = DataFrame::new(
            n,
            vec![
                Series::new(
                    "event_id".into(),
                    e.iter().map(|x| x.id).collect::<Vec<_>>(),
                )
                .into(),
                s("source", vec![src.into(); n]),
                Series::new(
                    "time_utc".into(),
                    e.iter().map(|x| x.time).collect::<Vec<_>>(),
                )
                .cast(&ut)
                .expect("synthetic table")
                .into(),
                Series::new("pid".into(), e.iter().map(|x| x.pid).collect::<Vec<_>>()).into(),
                Series::new("tid".into(), e.iter().map(|x| x.tid).collect::<Vec<_>>()).into(),
                s(
                    "process_name",
                    e.iter().map(|x| x.process.clone()).collect(),
                ),
                s("user", e.iter().map(|x| x.user.clone()).collect()),
                s("integrity", e.iter().map(|x| x.integrity.clone()).collect()),
                s("class", e.iter().map(|x| x.class.clone()).collect()),
                s("operation", e.iter().map(|x| x.operation.clone()).collect()),
                s("path", e.iter().map(|x| x.path.clone()).collect()),
                Series::new(
                    "status".into(),
                    e.iter().map(|x| x.status).collect::<Vec<_>>(),
                )
                .into(),
                s(
                    "status_name",
                    e.iter()
                        .map(|x| crate::pml::text::status_text(x.status).into_owned())
                        .collect(),
                ),
                Series::new(
                    "duration_ns".into(),
                    e.iter().map(|x| x.duration).collect::<Vec<_>>(),
                )
                .into(),
                s("detail", e.iter().map(|x| x.detail.clone()).collect()),
                s("category", vec![String::new(); n]),
                Series::new(
                    "stack_id".into(),
                    e.iter().map(|x| x.stack).collect::<Vec<_>>(),
                )
                .into(),
            ],
        )
        .expect("synthetic table");
        let f = &self.frames;
        let frames = DataFrame::new(
            f.len(),
            vec![
                Series::new("stack_id".into(), f.iter().map(|x| x.0).collect::<Vec<_>>()).into(),
                Series::new("depth".into(), f.iter().map(|x| x.1).collect::<Vec<_>>()).into(),
                Series::new("address".into(), f.iter().map(|x| x.2).collect::<Vec<_>>()).into(),
                Series::new(
                    "module".into(),
                    f.iter().map(|x| x.3.clone()).collect::<Vec<_>>(),
                )
                .into(),
                Series::new(
                    "offset".into(),
                    f.iter().map(|_| Some(0x1234u64)).collect::<Vec<_>>(),
                )
                .into(),
                Series::new("kernel".into(), f.iter().map(|x| x.4).collect::<Vec<_>>()).into(),
            ],
        )
        .expect("synthetic table");
        let m = &self.modules;
        let modules = DataFrame::new(
            m.len(),
            vec![
                s("source", vec![src.into(); m.len()]),
                Series::new("pid".into(), m.iter().map(|x| x.0).collect::<Vec<_>>()).into(),
                Series::new(
                    "base".into(),
                    (0..m.len() as u64)
                        .map(|i| 0xFFFF_F880_0000_0000 + i * 0x10_0000)
                        .collect::<Vec<_>>(),
                )
                .into(),
                Series::new("size".into(), vec![0x10_0000u64; m.len()]).into(),
                s("path", m.iter().map(|x| x.2.clone()).collect()),
                s("name", m.iter().map(|x| x.1.clone()).collect()),
                s("company", m.iter().map(|x| x.3.clone()).collect()),
                s("version", m.iter().map(|x| x.4.clone()).collect()),
                s("description", vec![String::new(); m.len()]),
            ],
        )
        .expect("synthetic table");
        let p = &self.procs;
        let processes = DataFrame::new(
            p.len(),
            vec![
                s("source", vec![src.into(); p.len()]),
                Series::new("pid".into(), p.iter().map(|x| x.pid).collect::<Vec<_>>()).into(),
                Series::new("ppid".into(), p.iter().map(|x| x.ppid).collect::<Vec<_>>()).into(),
                s("name", p.iter().map(|x| x.name.clone()).collect()),
                s(
                    "image",
                    p.iter()
                        .map(|x| format!("C:\\Windows\\system32\\{}", x.name))
                        .collect(),
                ),
                s(
                    "command_line",
                    p.iter().map(|x| x.command_line.clone()).collect(),
                ),
                s("user", p.iter().map(|x| x.user.clone()).collect()),
                s("integrity", p.iter().map(|x| x.integrity.clone()).collect()),
                Series::new("session".into(), vec![0u32; p.len()]).into(),
                Series::new("start_utc".into(), vec![Some(BASE_NS); p.len()])
                    .cast(&ut)
                    .expect("synthetic table")
                    .into(),
                Series::new("end_utc".into(), vec![None::<i64>; p.len()])
                    .cast(&ut)
                    .expect("synthetic table")
                    .into(),
            ],
        )
        .expect("synthetic table");
        Tables {
            events,
            frames,
            modules,
            processes,
            inputs: vec![InputInfo {
                path: src.into(),
                kind: "pml".into(),
                events: n as u64,
                ..Default::default()
            }],
            logs: Default::default(),
            callbacks: crate::tables::etl::empty_callbacks().expect("callbacks schema"),
            traces: Vec::new(),
        }
    }
}

/// Run one evidence kind (`find`, e.g. [`crate::evidence::nested_io::find`]) over the tables of
/// `b`, in a [`Context`] of the denials ([`denials::find`]) and drivers ([`candidates::find`])
/// found in them: the scaffold of the evidence unit tests. Panics when any step fails.
pub fn run(b: &Builder, find: KindFn) -> Vec<Evidence> {
    let t = b.build();
    let den = denials::find(&t).expect("denials::find");
    let drivers = candidates::find(&t).expect("candidates::find");
    find(&Context {
        tables: &t,
        denials: &den,
        drivers: &drivers,
    })
    .expect("evidence kind")
}
