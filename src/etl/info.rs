//! `etl::info`: what a trace holds, and whether it can name a filter driver (§6).

use super::buffer::flag;
use super::event::HeaderKind;
use super::guid::{self, Guid};
use super::kernel::{self, DecodeCtx, KernelEvent};
use super::logfile::{filetime_iso, LogfileHeader};
use super::{Etl, Problem};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write;

/// Events of one (provider, opcode, version) key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CountRow {
    /// Provider GUID (kernel: group GUID with the Image Load rule; manifest: ProviderId;
    /// classic: event GUID).
    pub provider: Guid,
    /// Opcode slot of the key: kernel/classic Type, `EVENT_HEADER` event Id, WPP message number.
    pub opcode: u16,
    /// Event version.
    pub version: u16,
    /// Number of events.
    pub n: u64,
    /// `kernel`, `manifest`, `classic`, `message` or `other`.
    pub kind: &'static str,
    /// Event name when known (`Image/Load`, …), else empty.
    pub name: String,
}

/// Events of one provider.
#[derive(Clone, Debug, Serialize)]
pub struct ProviderRow {
    /// Provider GUID.
    pub provider: Guid,
    /// Name when known.
    pub name: String,
    /// Header family (`kernel`, `manifest`, …).
    pub kind: &'static str,
    /// Number of events.
    pub n: u64,
}

/// Events of one kernel group.
#[derive(Clone, Debug, Serialize)]
pub struct GroupRow {
    /// Group byte (`HookId >> 8`); Image Load counted under Image.
    pub group: u8,
    /// Group name.
    pub name: String,
    /// Provider GUID.
    pub provider: Guid,
    /// Number of events.
    pub n: u64,
}

/// Events per header kind.
#[derive(Clone, Debug, Serialize)]
pub struct KindRow {
    /// Header kind name (`PERFINFO64`, …).
    pub kind: &'static str,
    /// Number of events.
    pub n: u64,
}

/// One capability a filter question depends on.
#[derive(Clone, Debug, Serialize)]
pub struct Capability {
    /// Short name (`minifilter`, `file_io`, …).
    pub name: &'static str,
    /// What it gives the analysis.
    pub purpose: &'static str,
    /// On per the group masks (§6); `None` when the file has no group-mask event.
    pub by_group_mask: Option<bool>,
    /// Events of this kind present.
    pub events: u64,
    /// Enabled: mask bit on, or events present.
    pub enabled: bool,
}

/// Payloads the decoders could not read, per key.
#[derive(Clone, Debug, Serialize)]
pub struct DecodeProblemRow {
    /// Event name.
    pub event: String,
    /// Event version.
    pub version: u16,
    /// Count.
    pub n: u64,
    /// Why (first occurrence).
    pub error: String,
    /// Where the first occurrence is.
    pub first: String,
}

/// Summary of one ETL file.
#[derive(Clone, Debug, Serialize)]
pub struct EtlInfo {
    /// File path.
    pub file: String,
    /// File size in bytes.
    pub bytes: u64,
    /// The logfile header (§2.2).
    pub header: LogfileHeader,
    /// Session start, ISO 8601 UTC.
    pub start_utc: String,
    /// Session end, ISO 8601 UTC.
    pub end_utc: String,
    /// Names of the LogFileMode bits.
    pub log_file_mode_names: Vec<&'static str>,
    /// Buffers walked.
    pub buffers: usize,
    /// Of which compressed.
    pub compressed_buffers: usize,
    /// Buffers flagged EVENTS_LOST / BUFFER_LOST.
    pub buffers_flagged_lost: usize,
    /// Total events.
    pub events: u64,
    /// First event time (UTC, ISO 8601).
    pub first_event_utc: Option<String>,
    /// Last event time.
    pub last_event_utc: Option<String>,
    /// Events per header kind.
    pub header_kinds: Vec<KindRow>,
    /// Events per (provider, opcode, version).
    pub counts: Vec<CountRow>,
    /// Events per provider.
    pub providers: Vec<ProviderRow>,
    /// Events per kernel group.
    pub kernel_groups: Vec<GroupRow>,
    /// OR of all group-mask events (§6); `None` when there is none (not a kernel session).
    pub group_masks: Option<[u32; 8]>,
    /// Largest KernelEventVersion seen.
    pub kernel_event_version: Option<u32>,
    /// What the capture can show.
    pub capabilities: Vec<Capability>,
    /// True when the capture can name a minifilter (minifilter events or groups on, and the
    /// image list needed to turn a callback address into a driver).
    pub can_name_filter: bool,
    /// One-paragraph answer for a user.
    pub verdict: String,
    /// Kernel StackWalk stacks and EVENT_HEADER stack items.
    pub stacks: u64,
    /// Problems (first 50) and their total.
    pub problems: Vec<String>,
    /// Total problems.
    pub problem_count: usize,
    /// Kernel payloads the decoders could not read.
    pub decode_problems: Vec<DecodeProblemRow>,
}

/// Count, first error text, first buffer and offset of undecodable payloads of one key.
type DecodeTally = (u64, String, u32, u32);

struct Acc {
    events: u64,
    counts: HashMap<(u8, Guid, u16, u16), u64>,
    groups: HashMap<u8, u64>,
    kinds: [u64; 256],
    masks: Option<[u32; 8]>,
    kev: Option<u32>,
    min_ts: Option<u64>,
    max_ts: Option<u64>,
    stacks: u64,
    compressed: usize,
    lost: usize,
    problems: Vec<Problem>,
    decode: HashMap<(u8, u8, u16), DecodeTally>,
}

impl Acc {
    fn new() -> Acc {
        Acc {
            events: 0,
            counts: HashMap::new(),
            groups: HashMap::new(),
            kinds: [0; 256],
            masks: None,
            kev: None,
            min_ts: None,
            max_ts: None,
            stacks: 0,
            compressed: 0,
            lost: 0,
            problems: Vec::new(),
            decode: HashMap::new(),
        }
    }
}

fn family(k: HeaderKind) -> u8 {
    if k.is_kernel() {
        0
    } else if k.is_event_header() {
        1
    } else if k.is_classic() {
        2
    } else if k == HeaderKind::Message {
        3
    } else {
        4
    }
}

const FAMILY: [&str; 5] = ["kernel", "manifest", "classic", "message", "other"];

impl Acc {
    fn merge(mut self, o: Acc) -> Acc {
        self.events += o.events;
        for (k, v) in o.counts {
            *self.counts.entry(k).or_default() += v;
        }
        for (k, v) in o.groups {
            *self.groups.entry(k).or_default() += v;
        }
        for i in 0..256 {
            self.kinds[i] += o.kinds[i];
        }
        self.masks = match (self.masks, o.masks) {
            (Some(a), Some(b)) => Some(std::array::from_fn(|i| a[i] | b[i])),
            (a, b) => a.or(b),
        };
        self.kev = self.kev.max(o.kev);
        self.min_ts = match (self.min_ts, o.min_ts) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.max_ts = self.max_ts.max(o.max_ts);
        self.stacks += o.stacks;
        self.compressed += o.compressed;
        self.lost += o.lost;
        self.problems.extend(o.problems);
        for (k, v) in o.decode {
            let e = self.decode.entry(k).or_insert((0, v.1.clone(), v.2, v.3));
            e.0 += v.0;
        }
        self
    }
}

fn mask_bit(masks: &Option<[u32; 8]>, perf: u32) -> Option<bool> {
    masks.map(|m| m[(perf >> 29) as usize] & (perf & 0x1FFF_FFFF) != 0)
}

/// Scan `etl` (all cores) and summarise it.
pub fn info(etl: &Etl) -> EtlInfo {
    let ctx = etl.decode_ctx();
    let acc = etl.par_fold_buffers(
        Acc::new,
        |acc, b, evs| {
            if b.compressed() {
                acc.compressed += 1;
            }
            if b.flags & (flag::EVENTS_LOST | flag::BUFFER_LOST) != 0 {
                acc.lost += 1;
            }
            match evs {
                Ok(mut evs) => {
                    for ev in evs.by_ref() {
                        scan_event(acc, &ev, &ctx);
                    }
                    if let Some((off, e)) = evs.stopped() {
                        acc.problems
                            .push(etl.event_problem(b.index, off as u32, &e.to_string()));
                    }
                }
                Err(p) => acc.problems.push(p),
            }
        },
        Acc::merge,
    );
    build(etl, acc)
}

fn scan_event(acc: &mut Acc, ev: &super::Event<'_>, ctx: &DecodeCtx) {
    acc.events += 1;
    let kind = ev.kind();
    acc.kinds[kind as u8 as usize] += 1;
    let fam = family(kind);
    *acc.counts
        .entry((fam, ev.provider(), ev.key_id(), ev.version()))
        .or_default() += 1;
    let ts = ev.timestamp();
    acc.min_ts = Some(acc.min_ts.map_or(ts, |m| m.min(ts)));
    acc.max_ts = Some(acc.max_ts.map_or(ts, |m| m.max(ts)));
    if let Some(g) = ev.group() {
        *acc.groups
            .entry(guid::effective_group(g, ev.opcode()))
            .or_default() += 1;
        match kernel::decode(ev, ctx) {
            Ok(Some(KernelEvent::GroupMask(m))) => {
                let prev = acc.masks.unwrap_or_default();
                acc.masks = Some(std::array::from_fn(|i| prev[i] | m.masks[i]));
                acc.kev = acc.kev.max(m.kernel_event_version);
            }
            Ok(Some(KernelEvent::Stack(_))) => acc.stacks += 1,
            Ok(_) => {}
            Err(e) => {
                let key = (
                    guid::effective_group(g, ev.opcode()),
                    ev.opcode(),
                    ev.version(),
                );
                acc.decode
                    .entry(key)
                    .or_insert((0, e.to_string(), ev.buffer, ev.offset))
                    .0 += 1;
            }
        }
    } else if kind.is_event_header() {
        acc.stacks += ev
            .extended_items()
            .filter(|i| {
                matches!(
                    i.ext_type,
                    super::event::ext_type::STACK_TRACE32 | super::event::ext_type::STACK_TRACE64
                )
            })
            .count() as u64;
    }
}

fn count_group(acc: &Acc, g: u8, ops: &[u8]) -> u64 {
    let guid = guid::kernel_guid(g, 0);
    acc.counts
        .iter()
        .filter(|((f, p, o, _), _)| *f == 0 && *p == guid && ops.contains(&(*o as u8)))
        .map(|(_, n)| n)
        .sum()
}

fn build(etl: &Etl, acc: Acc) -> EtlInfo {
    let h = etl.header().clone();
    let clock = etl.clock();
    let mut counts: Vec<CountRow> = acc
        .counts
        .iter()
        .map(|(&(fam, provider, opcode, version), &n)| CountRow {
            provider,
            opcode,
            version,
            n,
            kind: FAMILY[fam as usize],
            name: if fam == 0 {
                let g = (0..=255u8)
                    .find(|&g| guid::kernel_guid(g, opcode as u8) == provider)
                    .unwrap_or(0);
                kernel::event_name(g, opcode as u8)
            } else {
                String::new()
            },
        })
        .collect();
    counts.sort_by(|a, b| {
        (a.kind, a.provider.to_string(), a.opcode, a.version).cmp(&(
            b.kind,
            b.provider.to_string(),
            b.opcode,
            b.version,
        ))
    });
    let mut prov: HashMap<(Guid, &'static str), u64> = HashMap::new();
    for c in &counts {
        *prov.entry((c.provider, c.kind)).or_default() += c.n;
    }
    let mut providers: Vec<ProviderRow> = prov
        .into_iter()
        .map(|((provider, kind), n)| ProviderRow {
            provider,
            name: guid::provider_name(&provider).unwrap_or("").to_string(),
            kind,
            n,
        })
        .collect();
    providers.sort_by(|a, b| b.n.cmp(&a.n).then(a.provider.cmp(&b.provider)));
    let mut kernel_groups: Vec<GroupRow> = acc
        .groups
        .iter()
        .map(|(&g, &n)| GroupRow {
            group: g,
            name: guid::group_name(g),
            provider: guid::kernel_guid(g, 0),
            n,
        })
        .collect();
    kernel_groups.sort_by_key(|g| g.group);
    let header_kinds = (0..256)
        .filter(|&i| acc.kinds[i] > 0)
        .map(|i| KindRow {
            kind: kind_name(i as u8),
            n: acc.kinds[i],
        })
        .collect();

    let m = &acc.masks;
    let fileio_starts: Vec<u8> = (64..=82).filter(|&o| o != 76).collect();
    let caps = vec![
        cap(
            "process",
            "process names and ids",
            mask_bit(m, 0x1),
            count_group(&acc, 3, &[1, 2, 3, 4, 39]),
        ),
        cap(
            "thread",
            "thread → process for PERFINFO events",
            mask_bit(m, 0x2),
            count_group(&acc, 5, &[1, 2, 3, 4]),
        ),
        cap(
            "image_load",
            "driver address ranges (callback address → .sys)",
            mask_bit(m, 0x4),
            count_group(&acc, 0x14, &[2, 3, 4, 10]),
        ),
        cap(
            "file_names",
            "file object → name",
            mask_bit(m, 0x200),
            count_group(&acc, 4, &[0, 32, 35, 36]),
        ),
        cap(
            "file_io",
            "final status of file operations (OperationEnd)",
            mask_bit(m, 0x0200_0000),
            count_group(&acc, 4, &[76]),
        ),
        cap(
            "file_io_init",
            "file operation start events (Create, SetInfo, …)",
            mask_bit(m, 0x0400_0000),
            count_group(&acc, 4, &fileio_starts),
        ),
        cap(
            "registry",
            "registry operations and their status",
            mask_bit(m, 0x0002_0000),
            count_group(&acc, 9, &(10..=33).collect::<Vec<_>>()),
        ),
        cap(
            "minifilter_init",
            "minifilter pre/post callbacks (FLT_IO_INIT)",
            mask_bit(m, 0x8008_0000),
            count_group(&acc, 4, &[96, 97]),
        ),
        cap(
            "minifilter_completion",
            "minifilter callback completions (FLT_IO)",
            mask_bit(m, 0x8010_0000),
            count_group(&acc, 4, &[98, 99]),
        ),
        cap(
            "minifilter_fastio",
            "minifilter fast I/O callbacks (FLT_FASTIO)",
            mask_bit(m, 0x8020_0000),
            0,
        ),
        cap(
            "minifilter_failure",
            "minifilter callbacks that failed an operation (FLT_IO_FAILURE)",
            mask_bit(m, 0x8040_0000),
            count_group(&acc, 4, &[100, 101]),
        ),
        cap(
            "object_handles",
            "handle create/close (OB_HANDLE)",
            mask_bit(m, 0x8000_0040),
            count_group(&acc, 0x11, &[32, 33, 34, 38, 39]),
        ),
        Capability {
            name: "stacks",
            purpose: "call stacks (not recorded in the masks; from StackWalk events)",
            by_group_mask: None,
            events: acc.stacks + count_group(&acc, 0x18, &[37, 38]),
            enabled: acc.stacks + count_group(&acc, 0x18, &[37, 38]) > 0,
        },
    ];
    let on = |n: &str| caps.iter().any(|c| c.name == n && c.enabled);
    let minifilter = on("minifilter_init")
        || on("minifilter_completion")
        || on("minifilter_fastio")
        || on("minifilter_failure");
    let can_name_filter = minifilter && on("image_load");
    let mut verdict = String::new();
    if acc.masks.is_none() && acc.groups.len() <= 1 {
        verdict.push_str(
            "Not a kernel trace (no kernel group mask, no kernel events besides the header): \
             it cannot name a filter driver. ",
        );
    } else if !minifilter {
        verdict.push_str(
            "No minifilter tracing in this capture (FLT_IO_* groups off, no FileIo 96-101 \
             events): it cannot name a filter driver. ",
        );
    } else if !on("image_load") {
        verdict.push_str(
            "Minifilter tracing is on, but without image load/rundown events a callback \
             address cannot be mapped to a driver. ",
        );
    } else {
        verdict.push_str(
            "Minifilter tracing and the driver list are present: callback addresses can be \
             mapped to filter drivers. ",
        );
        if !on("minifilter_failure") {
            verdict.push_str("FLT_IO_FAILURE is off, so failures are not logged directly. ");
        }
    }
    if !on("file_io") && !on("file_io_init") && !on("registry") {
        verdict.push_str(
            "No FileIo operation or Registry events: the failed operation itself is not visible. ",
        );
    }
    if !can_name_filter {
        verdict.push_str(
            "Record with e.g. `wpr -start GeneralProfile -start Minifilter -filemode` or `xperf -on \
             PROC_THREAD+LOADER+FLT_IO_INIT+FLT_IO+FLT_FASTIO+FLT_IO_FAILURE+FILENAME+FILE_IO+FILE_IO_INIT \
             -stackwalk MiniFilterPreOpInit+MiniFilterPostOpInit`.",
        );
    }

    let mut problems: Vec<Problem> = etl.open_problems().to_vec();
    problems.extend(acc.problems);
    let mut decode_problems: Vec<DecodeProblemRow> = acc
        .decode
        .iter()
        .map(|(&(g, op, v), (n, err, b, off))| DecodeProblemRow {
            event: kernel::event_name(g, op),
            version: v,
            n: *n,
            error: err.clone(),
            first: etl.event_problem(*b, *off, err).to_string(),
        })
        .collect();
    decode_problems.sort_by(|a, b| b.n.cmp(&a.n).then(a.event.cmp(&b.event)));
    EtlInfo {
        file: etl.name().to_string(),
        bytes: etl.bytes().len() as u64,
        start_utc: filetime_iso(h.start_time),
        end_utc: filetime_iso(h.end_time),
        log_file_mode_names: h.log_file_mode_names(),
        header: h,
        buffers: etl.buffers().len(),
        compressed_buffers: acc.compressed,
        buffers_flagged_lost: acc.lost,
        events: acc.events,
        first_event_utc: acc.min_ts.map(|t| filetime_iso(clock.filetime(t))),
        last_event_utc: acc.max_ts.map(|t| filetime_iso(clock.filetime(t))),
        header_kinds,
        counts,
        providers,
        kernel_groups,
        group_masks: acc.masks,
        kernel_event_version: acc.kev,
        capabilities: caps,
        can_name_filter,
        verdict: verdict.trim_end().to_string(),
        stacks: acc.stacks,
        problem_count: problems.len(),
        problems: problems.iter().take(50).map(|p| p.to_string()).collect(),
        decode_problems,
    }
}

fn cap(name: &'static str, purpose: &'static str, mask: Option<bool>, events: u64) -> Capability {
    Capability {
        name,
        purpose,
        by_group_mask: mask,
        events,
        enabled: mask == Some(true) || events > 0,
    }
}

fn kind_name(t: u8) -> &'static str {
    use HeaderKind::*;
    [
        System32,
        System64,
        Compact32,
        Compact64,
        Full32,
        Instance32,
        Timed,
        Error,
        Wnode,
        Message,
        PerfInfo32,
        PerfInfo64,
        EventHeader32,
        EventHeader64,
        Full64,
        Instance64,
        Unknown,
    ]
    .iter()
    .find(|k| **k as u8 == t)
    .map(|k| k.name())
    .unwrap_or("UNKNOWN")
}

/// Human-readable rendering of [`EtlInfo`].
pub fn render_text(i: &EtlInfo) -> String {
    let h = &i.header;
    let mut s = String::new();
    let _ = writeln!(s, "file:        {} ({} bytes)", i.file, i.bytes);
    let _ = writeln!(
        s,
        "session:     {} / {}  (OS {}.{} build {}, {} CPUs, {}-bit pointers, log format {}.{})",
        if h.logger_name.is_empty() {
            "-"
        } else {
            &h.logger_name
        },
        if h.log_file_name.is_empty() {
            "-"
        } else {
            &h.log_file_name
        },
        h.os_major,
        h.os_minor,
        h.os_build,
        h.cpus,
        h.pointer_size * 8,
        h.sub_version,
        h.sub_minor_version
    );
    let _ = writeln!(s, "time:        {} .. {} (UTC)", i.start_utc, i.end_utc);
    if let (Some(a), Some(b)) = (&i.first_event_utc, &i.last_event_utc) {
        let _ = writeln!(s, "events:      {} from {a} to {b}", i.events);
    } else {
        let _ = writeln!(s, "events:      {}", i.events);
    }
    let _ = writeln!(
        s,
        "clock:       {} at {} Hz; boot {}; time zone bias {} min ({})",
        h.clock_type.name(),
        h.perf_freq,
        filetime_iso(h.boot_time),
        h.time_zone.bias_minutes,
        h.time_zone.standard_name
    );
    let _ = writeln!(
        s,
        "buffers:     {} ({} compressed; session buffer size {}, {} written per header); mode {:#010x} {}",
        i.buffers,
        i.compressed_buffers,
        h.buffer_size,
        h.buffers_written,
        h.log_file_mode,
        i.log_file_mode_names.join("|")
    );
    let _ = writeln!(
        s,
        "losses:      {} events lost, {} buffers lost, {} buffers flagged",
        h.events_lost, h.buffers_lost, i.buffers_flagged_lost
    );
    match i.group_masks {
        Some(m) => {
            let _ = writeln!(
                s,
                "group masks: {} (KernelEventVersion {})",
                m.iter()
                    .map(|v| format!("{v:08x}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                i.kernel_event_version
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "-".into())
            );
        }
        None => {
            let _ = writeln!(s, "group masks: none (not a kernel session)");
        }
    }
    let _ = writeln!(
        s,
        "\ncan name a filter driver: {}",
        if i.can_name_filter { "yes" } else { "no" }
    );
    let _ = writeln!(s, "{}", i.verdict);
    let _ = writeln!(s, "\ncapabilities:");
    for c in &i.capabilities {
        let mask = match c.by_group_mask {
            Some(true) => "mask on ",
            Some(false) => "mask off",
            None => "        ",
        };
        let _ = writeln!(
            s,
            "  {:<22} {:<3} {mask} {:>9} events  {}",
            c.name,
            if c.enabled { "on" } else { "off" },
            c.events,
            c.purpose
        );
    }
    let _ = writeln!(s, "\nheader kinds:");
    for k in &i.header_kinds {
        let _ = writeln!(s, "  {:<16} {:>10}", k.kind, k.n);
    }
    if !i.kernel_groups.is_empty() {
        let _ = writeln!(s, "\nkernel groups:");
        for g in &i.kernel_groups {
            let _ = writeln!(
                s,
                "  {:#04x} {:<14} {:>10}  {}",
                g.group, g.name, g.n, g.provider
            );
        }
    }
    let _ = writeln!(s, "\nproviders:");
    for p in &i.providers {
        let _ = writeln!(s, "  {} {:<8} {:>10}  {}", p.provider, p.kind, p.n, p.name);
    }
    let _ = writeln!(s, "\nevents by (provider, opcode/id, version):");
    for c in &i.counts {
        let _ = writeln!(
            s,
            "  {} {:<8} {:>5} v{:<3} {:>10}  {}",
            c.provider, c.kind, c.opcode, c.version, c.n, c.name
        );
    }
    if i.stacks > 0 {
        let _ = writeln!(s, "\nstacks: {}", i.stacks);
    }
    if !i.decode_problems.is_empty() {
        let _ = writeln!(s, "\nundecodable kernel payloads:");
        for d in &i.decode_problems {
            let _ = writeln!(
                s,
                "  {} v{}: {} ({}); first: {}",
                d.event, d.version, d.n, d.error, d.first
            );
        }
    }
    if i.problem_count > 0 {
        let _ = writeln!(s, "\nproblems ({}):", i.problem_count);
        for p in &i.problems {
            let _ = writeln!(s, "  {p}");
        }
    }
    s
}
