//! PML file reader: header, string/process/module/host/port tables, event records.
//!
//! Layout: `shared/docs/format-pml.md` (§1 file layout, §2 header, §3 event offsets, §4 strings,
//! §5 processes and modules, §6 hosts/ports, §8 event records, §12 captures not closed cleanly).
//! The file is memory-mapped (or held in memory for data from archives); events are decoded on
//! demand by index, so a caller can spread them across threads (`rayon`).

use super::bytes::{utf16_lossy, Rd};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Size of the PML file header (`format-pml.md` §2).
pub const HEADER_SIZE: usize = 0x3A8;
/// Size of the fixed event header (`format-pml.md` §8).
pub const EVENT_HEADER_SIZE: usize = 0x34;

/// Why a PML could not be opened at all.
#[derive(Debug, thiserror::Error)]
pub enum PmlError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is a raw Procmon boot log.
    #[error("{path}: this is a raw Procmon boot log (.pmb), whose layout is not public; convert it on Windows with `Procmon.exe /ConvertBootLog \"{path}\" out.pml` and analyze out.pml")]
    BootLog {
        /// The file.
        path: PathBuf,
    },
    /// Not a PML file.
    #[error("{path}: not a Process Monitor log (expected signature \"PML_\" at offset 0, found {found:?}); give a .pml saved by Procmon")]
    NotPml {
        /// The file.
        path: PathBuf,
        /// The first bytes found.
        found: String,
    },
    /// Shorter than a header.
    #[error("{path}: truncated PML: {len} bytes, the header alone needs {HEADER_SIZE}; the file was cut off while copying")]
    TooShort {
        /// The file.
        path: PathBuf,
        /// Its length.
        len: usize,
    },
    /// An unknown format version.
    #[error("{path}: PML format version {version} at offset 0x4 is not supported (only version 9 is known); save the capture again with a Procmon 3.x/4.x")]
    Version {
        /// The file.
        path: PathBuf,
        /// The version found.
        version: u32,
    },
}

/// The PML file header (`format-pml.md` §2). Offsets are absolute file offsets.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Header {
    /// Format version (9).
    pub version: u32,
    /// Pointer size of the capture: true = 8 bytes.
    pub is_64bit: bool,
    /// Computer name.
    pub computer_name: String,
    /// System root, e.g. `C:\Windows`.
    pub system_root: String,
    /// Number of entries in the event offsets array (0 when the capture was not closed).
    pub event_count: u32,
    /// Start of the first event record.
    pub events_offset: u64,
    /// Start of the event offsets array.
    pub event_offsets_offset: u64,
    /// Start of the process table.
    pub process_table_offset: u64,
    /// Start of the string table.
    pub string_table_offset: u64,
    /// Start of the icon table.
    pub icon_table_offset: u64,
    /// Highest user-mode address (splits kernel from user stack frames).
    pub max_user_address: u64,
    /// OS major version (6 = Windows 7, 10 = Windows 10/11).
    pub os_major: u32,
    /// OS minor version.
    pub os_minor: u32,
    /// OS build number.
    pub os_build: u32,
    /// Platform id (2 = VER_PLATFORM_WIN32_NT).
    pub platform_id: u32,
    /// Service pack text, e.g. `Service Pack 1`.
    pub service_pack: String,
    /// Logical processors.
    pub cpu_count: u32,
    /// Physical memory in bytes.
    pub ram_bytes: u64,
    /// Second copy of the events offset (0x3A8 when the file was closed).
    pub events_offset_copy: u64,
    /// Start of the host table.
    pub hosts_ports_offset: u64,
}

impl Header {
    /// True when the header's table offsets were written, i.e. Procmon closed the file.
    pub fn closed_cleanly(&self) -> bool {
        self.event_offsets_offset != 0
            && self.process_table_offset != 0
            && self.string_table_offset != 0
            && self.hosts_ports_offset != 0
    }

    /// A readable OS name, e.g. `Windows 10 (build 16299)`.
    pub fn os_name(&self) -> String {
        let name = match (self.os_major, self.os_minor) {
            (10, 0) if self.os_build >= 22000 => "Windows 11",
            (10, 0) => "Windows 10",
            (6, 3) => "Windows 8.1",
            (6, 2) => "Windows 8",
            (6, 1) => "Windows 7",
            (6, 0) => "Windows Vista",
            _ => "Windows",
        };
        let sp = if self.service_pack.is_empty() {
            String::new()
        } else {
            format!(", {}", self.service_pack)
        };
        format!("{name} (build {}{sp})", self.os_build)
    }
}

/// A module (image) known in a process (`format-pml.md` §5.2).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Module {
    /// Image base address.
    pub base: u64,
    /// Image size in bytes.
    pub size: u32,
    /// Image path as stored.
    pub path: String,
    /// Version resource text.
    pub version: String,
    /// Company resource text.
    pub company: String,
    /// Description resource text.
    pub description: String,
    /// PE timestamp, seconds since 1970.
    pub timestamp: u32,
}

impl Module {
    /// The file name part of the path (after the last `\` or `/`).
    pub fn name(&self) -> &str {
        self.path.rsplit(['\\', '/']).next().unwrap_or(&self.path)
    }
}

/// A process record (`format-pml.md` §5.1).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Process {
    /// Key events use to name this process.
    pub index: u32,
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Parent's process-table key.
    pub parent_index: u32,
    /// Logon session LUID.
    pub auth_id: u64,
    /// Terminal session id.
    pub session: u32,
    /// Start time, FILETIME (UTC).
    pub start_time: u64,
    /// End time, FILETIME (UTC), 0 while running.
    pub end_time: u64,
    /// UAC virtualization on.
    pub virtualized: bool,
    /// Native 64-bit process.
    pub is_64bit: bool,
    /// Integrity level text (`System`, `High`, `Medium`, `Low`, `Untrusted`).
    pub integrity: String,
    /// `DOMAIN\user`.
    pub user: String,
    /// Process name, e.g. `TrustedInstaller.exe`.
    pub name: String,
    /// Image path.
    pub image_path: String,
    /// Command line (cut at the first NUL, as Procmon prints it).
    pub command_line: String,
    /// Company resource text.
    pub company: String,
    /// Version resource text.
    pub version: String,
    /// Description resource text.
    pub description: String,
    /// Modules known in this process; for PID 4 (System) the kernel modules.
    pub modules: Vec<Module>,
}

/// One raw event record (`format-pml.md` §8), borrowing the file bytes.
#[derive(Clone, Debug)]
pub struct RawEvent<'a> {
    /// Index in the event offsets array (= Procmon's CSV row - 1).
    pub index: usize,
    /// Absolute file offset of the record.
    pub offset: usize,
    /// Process-table key.
    pub process_index: u32,
    /// Thread id.
    pub tid: u32,
    /// Event class (1 Process, 2 Registry, 3 File System, 4 Profiling, 5 Network, 6 IPC).
    pub class: u32,
    /// Class-specific operation number.
    pub operation: u16,
    /// The u32 at +0x10 (looks like a capture sequence counter; not printed by Procmon).
    pub sequence: u32,
    /// Duration in 100 ns units.
    pub duration: u64,
    /// Event time, FILETIME (UTC).
    pub time: u64,
    /// NTSTATUS result.
    pub result: u32,
    /// Raw stack: `depth` return addresses, `ptr` bytes each, innermost first.
    pub stack_bytes: &'a [u8],
    /// Number of stack frames.
    pub stack_depth: u16,
    /// The class-specific detail block.
    pub detail: &'a [u8],
    /// The extra-detail block (after its u16 size prefix), when present.
    pub extra: Option<&'a [u8]>,
    /// File bytes from the start of the detail block to the end of the file. Procmon's text for
    /// some registry data over-reads into the next record (`procmon-text.md` §3.3).
    pub detail_and_beyond: &'a [u8],
    /// Total record length in bytes (header + stack + detail + extra).
    pub record_len: usize,
    /// Set when the record claimed more bytes than the file holds.
    pub truncated: bool,
}

impl RawEvent<'_> {
    /// Stack return addresses, innermost first.
    pub fn stack(&self, is_64bit: bool) -> impl Iterator<Item = u64> + '_ {
        let w = if is_64bit { 8 } else { 4 };
        self.stack_bytes.chunks_exact(w).map(move |c| {
            if is_64bit {
                u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))
            } else {
                u64::from(u32::from_le_bytes(c.try_into().unwrap_or([0; 4])))
            }
        })
    }
}

/// How QueryDirectory's Detail is printed. Procmon builds differ and nothing in the PML says
/// which one exported a given CSV (`procmon-text.md` §3.2.4, §7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QueryDirectoryStyle {
    /// The slot rule (2 of the 3 corpus exporters): FileInformationClass in slot 2.
    #[default]
    Slots,
    /// Every entry printed and no FileInformationClass (the exporter of
    /// `CompressedLogfileTests32bitUTC`).
    AllEntries,
}

/// Choices of Procmon text that depend on the Procmon build, not on the PML bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TextStyle {
    /// QueryDirectory Detail rule.
    pub query_directory: QueryDirectoryStyle,
}

enum Data {
    Map(memmap2::Mmap),
    Vec(Vec<u8>),
}

/// An opened PML capture. Tables are decoded at open; events on demand.
pub struct Pml {
    data: Data,
    /// Where the bytes came from (for messages).
    pub path: PathBuf,
    /// The header.
    pub header: Header,
    /// The string table, each string cut at its first NUL (Procmon's text).
    pub strings: Vec<String>,
    /// Processes in table order.
    pub processes: Vec<Process>,
    process_by_index: HashMap<u32, usize>,
    /// Host names by 16-byte address (IPv4 in the first 4 bytes).
    pub hosts: HashMap<[u8; 16], String>,
    /// Service names by (port, is_tcp).
    pub ports: HashMap<(u16, bool), String>,
    /// Absolute offset of each event record, display order.
    pub event_offsets: Vec<u64>,
    /// Problems met while opening (damaged tables, a capture not closed cleanly ...): each names
    /// the file offset and what was done.
    pub warnings: Vec<String>,
    /// Build-dependent text choices used when rendering Procmon's columns.
    pub text_style: TextStyle,
}

impl Pml {
    /// Open a PML file, memory-mapped.
    ///
    /// Errors: [`PmlError`] when the file is unreadable, not a PML, a raw `.pmb` boot log, shorter
    /// than a header, or of an unknown version. Damaged tables are not errors: they become
    /// [`Pml::warnings`] and whatever could be read is kept.
    pub fn open(path: &Path) -> Result<Pml, PmlError> {
        let io = |source| PmlError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let data = if len == 0 {
            Data::Vec(Vec::new())
        } else {
            // SAFETY: the map is read-only; fltblame never writes its inputs. A file truncated
            // by another process while mapped may fault; that is the documented memmap risk.
            Data::Map(unsafe { memmap2::Mmap::map(&file) }.map_err(io)?)
        };
        Self::from_data(data, path)
    }

    /// Parse a PML held in memory (e.g. read from an archive). `name` is used in messages.
    pub fn from_bytes(bytes: Vec<u8>, name: &Path) -> Result<Pml, PmlError> {
        Self::from_data(Data::Vec(bytes), name)
    }

    fn from_data(data: Data, path: &Path) -> Result<Pml, PmlError> {
        let buf: &[u8] = match &data {
            Data::Map(m) => m,
            Data::Vec(v) => v,
        };
        let path_buf = path.to_path_buf();
        if buf.len() >= 4 && &buf[..4] != b"PML_" {
            let is_pmb = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("pmb"));
            if is_pmb {
                return Err(PmlError::BootLog { path: path_buf });
            }
            return Err(PmlError::NotPml {
                path: path_buf,
                found: String::from_utf8_lossy(&buf[..4]).into_owned(),
            });
        }
        if buf.len() < HEADER_SIZE {
            if buf.len() < 4 {
                return Err(PmlError::NotPml {
                    path: path_buf,
                    found: String::from_utf8_lossy(buf).into_owned(),
                });
            }
            return Err(PmlError::TooShort {
                path: path_buf,
                len: buf.len(),
            });
        }
        let header = parse_header(buf);
        if header.version != 9 {
            return Err(PmlError::Version {
                path: path_buf,
                version: header.version,
            });
        }
        let mut warnings = Vec::new();
        let strings = parse_strings(buf, &header, &mut warnings);
        let (processes, process_by_index) = parse_processes(buf, &header, &strings, &mut warnings);
        let (hosts, ports) = parse_hosts_ports(buf, &header, &mut warnings);
        let event_offsets = parse_event_offsets(buf, &header, &mut warnings);
        let mut pml = Pml {
            data: Data::Vec(Vec::new()),
            path: path_buf,
            header,
            strings,
            processes,
            process_by_index,
            hosts,
            ports,
            event_offsets,
            warnings,
            text_style: TextStyle::default(),
        };
        pml.data = data;
        Ok(pml)
    }

    /// All bytes of the file.
    pub fn bytes(&self) -> &[u8] {
        match &self.data {
            Data::Map(m) => m,
            Data::Vec(v) => v,
        }
    }

    /// Number of events that can be addressed.
    pub fn event_count(&self) -> usize {
        self.event_offsets.len()
    }

    /// The process with table key `index`.
    pub fn process(&self, index: u32) -> Option<&Process> {
        self.process_by_index
            .get(&index)
            .map(|&i| &self.processes[i])
    }

    /// The file offset of event `index`'s record (`None` out of range).
    pub fn event_offset(&self, index: usize) -> Option<u64> {
        self.event_offsets.get(index).copied()
    }

    /// Tell the OS that bytes `[start, end)` of a memory-mapped capture will not be read
    /// again soon, so their pages leave this process's resident set (a later read faults them
    /// back in from the file: correct, only slower). A no-op for captures read into memory and
    /// on platforms without `madvise`. Used by the tables builder after each batch of events so
    /// a multi-GB capture never becomes resident as a whole.
    pub fn release(&self, start: usize, end: usize) {
        #[cfg(unix)]
        if let Data::Map(m) = &self.data {
            const PAGE: usize = 4096;
            let start = start.div_ceil(PAGE) * PAGE;
            let end = end.min(m.len()) / PAGE * PAGE;
            if end > start {
                // SAFETY: the mapping is read-only and backed by the file; dropping its pages
                // changes no content this process can observe (they are re-read on access).
                let _ = unsafe {
                    m.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
                };
            }
        }
        #[cfg(not(unix))]
        let _ = (start, end);
    }

    /// The System process (PID 4), which carries the kernel modules.
    pub fn system_process(&self) -> Option<&Process> {
        self.processes.iter().find(|p| p.pid == 4)
    }

    /// Decode the header and locate the blocks of event `index`. `None` when the index is out of
    /// range or the record's header does not fit in the file.
    pub fn event(&self, index: usize) -> Option<RawEvent<'_>> {
        let off = usize::try_from(*self.event_offsets.get(index)?).ok()?;
        decode_event(self.bytes(), off, index, self.header.is_64bit)
    }

    /// Is `addr` a kernel-mode address in this capture (`format-pml.md` §8, stack encoding)?
    pub fn is_kernel_address(&self, addr: u64) -> bool {
        if self.header.is_64bit {
            addr >= 0xFFFF_8000_0000_0000
        } else {
            addr >= 0x8000_0000
        }
    }

    /// The module containing `addr`: kernel addresses through the System process's modules,
    /// user addresses through the event's own process; first match in list order (as the
    /// `stacks.jsonl` oracle resolves them).
    pub fn resolve_frame<'s>(
        &'s self,
        process: Option<&'s Process>,
        addr: u64,
    ) -> Option<&'s Module> {
        let owner = if self.is_kernel_address(addr) {
            self.system_process()
        } else {
            process
        };
        owner?
            .modules
            .iter()
            .find(|m| addr >= m.base && addr < m.base.saturating_add(u64::from(m.size)))
    }
}

fn parse_header(buf: &[u8]) -> Header {
    let mut r = Rd::at(buf, 4);
    let version = r.u32();
    let is_64bit = r.u32() != 0;
    let computer_name = cut_nul(&utf16_lossy(&buf[0x0C..0x2C]));
    let system_root = cut_nul(&utf16_lossy(&buf[0x2C..0x234]));
    let mut r = Rd::at(buf, 0x234);
    let event_count = r.u32();
    r.skip(8);
    let events_offset = r.u64();
    let event_offsets_offset = r.u64();
    let process_table_offset = r.u64();
    let string_table_offset = r.u64();
    let icon_table_offset = r.u64();
    let max_user_address = r.u64();
    let _ver_size = r.u32();
    let os_major = r.u32();
    let os_minor = r.u32();
    let os_build = r.u32();
    let platform_id = r.u32();
    let service_pack = cut_nul(&utf16_lossy(&buf[0x284..0x384]));
    let mut r = Rd::at(buf, 0x38C);
    let cpu_count = r.u32();
    let ram_bytes = r.u64();
    let events_offset_copy = r.u64();
    let hosts_ports_offset = r.u64();
    Header {
        version,
        is_64bit,
        computer_name,
        system_root,
        event_count,
        events_offset,
        event_offsets_offset,
        process_table_offset,
        string_table_offset,
        icon_table_offset,
        max_user_address,
        os_major,
        os_minor,
        os_build,
        platform_id,
        service_pack,
        cpu_count,
        ram_bytes,
        events_offset_copy,
        hosts_ports_offset,
    }
}

fn cut_nul(s: &str) -> String {
    s.split('\0').next().unwrap_or("").to_string()
}

/// Offset as usize when it lies inside the buffer.
fn in_file(buf: &[u8], off: u64) -> Option<usize> {
    usize::try_from(off).ok().filter(|&o| o < buf.len())
}

fn parse_strings(buf: &[u8], h: &Header, warnings: &mut Vec<String>) -> Vec<String> {
    let Some(base) = in_file(buf, h.string_table_offset).filter(|_| h.string_table_offset != 0)
    else {
        if h.string_table_offset != 0 {
            warnings.push(format!(
                "string table offset 0x{:X} (header +0x258) lies outside the file ({} bytes); names are unavailable",
                h.string_table_offset,
                buf.len()
            ));
        }
        return Vec::new();
    };
    let mut r = Rd::at(buf, base);
    let n = r.u32() as usize;
    // each string needs at least 4 bytes of offset + 4 bytes of length
    let n_ok = n.min(r.remaining() / 8);
    if n_ok < n {
        warnings.push(format!(
            "string table at 0x{base:X} claims {n} strings but only room for {n_ok}; the rest read as empty"
        ));
    }
    let mut out = Vec::with_capacity(n_ok);
    // Strings of a sound table do not overlap, so together they hold at most the bytes after the
    // table start; a damaged table whose entries all point at one long run would otherwise cost
    // strings x length. Past this budget strings read as empty.
    let mut budget = buf.len() - base;
    let (mut cut, mut first_cut) = (0usize, None);
    for i in 0..n_ok {
        let rel = Rd::at(buf, base + 4 + 4 * i).u32() as usize;
        let mut s = Rd::at(buf, base.saturating_add(rel));
        let len = s.u32() as usize;
        let take = len.min(budget);
        let bytes = s.bytes(take);
        budget -= bytes.len();
        if s.short || take < len {
            cut += 1;
            first_cut.get_or_insert((i, base.saturating_add(rel)));
        }
        out.push(cut_nul(&utf16_lossy(bytes)));
    }
    if let Some((i, at)) = first_cut {
        warnings.push(format!(
            "{cut} strings of the string table at 0x{base:X} run past the end of the file or overlap (first: string {i} at 0x{at:X}); they are cut short"
        ));
    }
    out
}

type ProcessTables = (Vec<Process>, HashMap<u32, usize>);

fn parse_processes(
    buf: &[u8],
    h: &Header,
    strings: &[String],
    warnings: &mut Vec<String>,
) -> ProcessTables {
    let mut procs = Vec::new();
    let mut by_index = HashMap::new();
    let Some(base) = in_file(buf, h.process_table_offset).filter(|_| h.process_table_offset != 0)
    else {
        if h.process_table_offset != 0 {
            warnings.push(format!(
                "process table offset 0x{:X} (header +0x250) lies outside the file; process names are unavailable",
                h.process_table_offset
            ));
        }
        return (procs, by_index);
    };
    // Process and module records name strings by index; a damaged table can name one huge string
    // from every record. Copies are budgeted (16 x the file size + 1 MiB, far above any real
    // capture); past the budget names read as empty and one warning says so.
    let budget = std::cell::Cell::new(buf.len().saturating_mul(16).saturating_add(1 << 20));
    let over = std::cell::Cell::new(false);
    let s = |i: u32| -> String {
        let t = strings.get(i as usize).map(String::as_str).unwrap_or("");
        if t.len() > budget.get() {
            over.set(true);
            return String::new();
        }
        budget.set(budget.get() - t.len());
        t.to_string()
    };
    let p64 = h.is_64bit;
    let mut r = Rd::at(buf, base);
    let n = r.u32() as usize;
    let n_ok = n.min(r.remaining() / 8);
    if n_ok < n {
        warnings.push(format!(
            "process table at 0x{base:X} claims {n} processes, room for {n_ok}"
        ));
    }
    let mut module_budget = (buf.len() - base) / if p64 { 64 } else { 56 };
    let (mut cut_records, mut first_cut) = (0usize, None);
    for i in 0..n_ok {
        let rel = Rd::at(buf, base + 4 + 4 * n + 4 * i).u32() as usize;
        let start = base.saturating_add(rel);
        let mut r = Rd::at(buf, start);
        let index = r.u32();
        let pid = r.u32();
        let ppid = r.u32();
        let parent_index = r.u32();
        let auth_id = r.u64();
        let session = r.u32();
        r.skip(4);
        let start_time = r.u64();
        let end_time = r.u64();
        let virtualized = r.u32() != 0;
        let is_64bit = r.u32() != 0;
        let integrity = s(r.u32());
        let user = s(r.u32());
        let name = s(r.u32());
        let image_path = s(r.u32());
        let command_line = s(r.u32());
        let company = s(r.u32());
        let version = s(r.u32());
        let description = s(r.u32());
        r.skip(8); // icon indexes
        r.ptr(p64);
        let m = r.u32() as usize;
        let entry = if p64 { 64 } else { 56 };
        // Module entries of a sound table do not overlap: all processes together hold at most
        // as many as fit after the table start.
        let m_ok = m.min(r.remaining() / entry).min(module_budget);
        module_budget -= m_ok;
        if m_ok < m || r.short {
            cut_records += 1;
            first_cut.get_or_insert((start, pid, m_ok, m));
        }
        let mut modules = Vec::with_capacity(m_ok);
        for _ in 0..m_ok {
            let mut e = Rd::at(buf, r.pos);
            r.skip(entry);
            e.ptr(p64);
            let mbase = e.ptr(p64);
            let size = e.u32();
            modules.push(Module {
                base: mbase,
                size,
                path: s(e.u32()),
                version: s(e.u32()),
                company: s(e.u32()),
                description: s(e.u32()),
                timestamp: e.u32(),
            });
        }
        by_index.insert(index, procs.len());
        procs.push(Process {
            index,
            pid,
            ppid,
            parent_index,
            auth_id,
            session,
            start_time,
            end_time,
            virtualized,
            is_64bit,
            integrity,
            user,
            name,
            image_path,
            command_line,
            company,
            version,
            description,
            modules,
        });
    }
    if let Some((start, pid, m_ok, m)) = first_cut {
        warnings.push(format!(
            "{cut_records} process records of the process table at 0x{base:X} are cut off or overlap (first: 0x{start:X}, pid {pid}: {m_ok} of {m} modules read)"
        ));
    }
    if over.get() {
        warnings.push(format!(
            "the process table at 0x{base:X} names more string text than the file can hold; some names read as empty"
        ));
    }
    (procs, by_index)
}

type HostPortTables = (HashMap<[u8; 16], String>, HashMap<(u16, bool), String>);

fn parse_hosts_ports(buf: &[u8], h: &Header, warnings: &mut Vec<String>) -> HostPortTables {
    let mut hosts = HashMap::new();
    let mut ports = HashMap::new();
    let Some(base) = in_file(buf, h.hosts_ports_offset).filter(|_| h.hosts_ports_offset != 0)
    else {
        return (hosts, ports);
    };
    let mut r = Rd::at(buf, base);
    let n = r.u32() as usize;
    for _ in 0..n.min(r.remaining() / 20) {
        let addr: [u8; 16] = r.bytes(16).try_into().unwrap_or([0; 16]);
        let len = r.u32() as usize;
        let name = utf16_lossy(r.bytes(len));
        hosts.insert(addr, cut_nul(&name));
    }
    let np = r.u32() as usize;
    for _ in 0..np.min(r.remaining() / 8) {
        let port = r.u16();
        let tcp = r.u16() != 0;
        let len = r.u32() as usize;
        let name = utf16_lossy(r.bytes(len));
        ports.insert((port, tcp), cut_nul(&name));
    }
    if r.short {
        warnings.push(format!(
            "host/port tables at 0x{base:X} run past the end of the file"
        ));
    }
    (hosts, ports)
}

fn parse_event_offsets(buf: &[u8], h: &Header, warnings: &mut Vec<String>) -> Vec<u64> {
    if h.event_offsets_offset != 0 {
        if let Some(base) = in_file(buf, h.event_offsets_offset) {
            let n = h.event_count as usize;
            let room = (buf.len() - base) / 5;
            if room < n {
                warnings.push(format!(
                    "event offsets array at 0x{base:X} holds {n} entries by the header but the file has room for {room}; {} events are lost",
                    n - room
                ));
            }
            return (0..n.min(room))
                .map(|i| u64::from(Rd::at(buf, base + 5 * i).u32()))
                .collect();
        }
        if h.event_count == 0 && h.event_offsets_offset as usize == buf.len() {
            return Vec::new();
        }
    }
    // Not closed cleanly (format-pml.md §12): walk the records from the events offset.
    let start = if h.events_offset != 0 {
        h.events_offset
    } else {
        HEADER_SIZE as u64
    };
    let offsets = walk_events(buf, start as usize, h.is_64bit);
    warnings.push(format!(
        "the header's event offsets array is missing (offset 0x{:X}): the capture was not closed cleanly; {} event records recovered by walking the file from 0x{start:X}",
        h.event_offsets_offset,
        offsets.len()
    ));
    offsets
}

/// Walk the event records from `start` while they look sane, for captures whose tables were
/// never written (`format-pml.md` §12) or whose offsets array is lost. Records normally follow
/// each other back to back, but Procmon sometimes leaves 1-3 unused bytes after one (`format-pml.md`
/// §8: 79 such gaps in `CompressedLogFileUTC32Filesystem`), so up to 3 bytes are skipped when the
/// next header does not look like an event. A header looks like an event when its class is 1-6,
/// its operation below 64, its record fits in the file, and its time lies within a day of the
/// previous event (the first: between 1990 and 2100).
pub fn walk_events(buf: &[u8], start: usize, is_64bit: bool) -> Vec<u64> {
    const DAY: u64 = 864_000_000_000;
    const Y1990: u64 = 0x01B4_1E2A_18D6_4000; // 1990-01-01 as FILETIME
    const Y2100: u64 = 0x022F_7163_7764_0000; // 2100-01-01
    let plausible = |ev: &RawEvent, prev: Option<u64>| {
        let time_ok = match prev {
            Some(p) => ev.time.abs_diff(p) < DAY,
            None => (Y1990..Y2100).contains(&ev.time),
        };
        !ev.truncated && (1..=6).contains(&ev.class) && ev.operation < 64 && time_ok
    };
    let mut out = Vec::new();
    let mut off = start;
    let mut prev = None;
    'records: loop {
        for skip in 0..4 {
            // A start taken from a damaged header can lie anywhere, even near usize::MAX.
            let Some(at) = off.checked_add(skip) else {
                break 'records;
            };
            if let Some(ev) = decode_event(buf, at, out.len(), is_64bit) {
                if plausible(&ev, prev) {
                    out.push(at as u64);
                    prev = Some(ev.time);
                    off = at + ev.record_len;
                    continue 'records;
                }
            }
        }
        break;
    }
    out
}

/// Decode the fixed header of the event record at `off` and slice its blocks. `None` when the
/// fixed header itself does not fit.
pub fn decode_event(buf: &[u8], off: usize, index: usize, is_64bit: bool) -> Option<RawEvent<'_>> {
    if off.checked_add(EVENT_HEADER_SIZE)? > buf.len() {
        return None;
    }
    let mut r = Rd::at(buf, off);
    let process_index = r.u32();
    let tid = r.u32();
    let class = r.u32();
    let operation = r.u16();
    r.skip(2);
    let sequence = r.u32();
    let duration = r.u64();
    let time = r.u64();
    let result = r.u32();
    let stack_depth = r.u16();
    r.skip(2);
    let detail_size = r.u32() as usize;
    let extra_off = r.u32() as usize;
    let w = if is_64bit { 8 } else { 4 };
    let mut truncated = false;
    let stack_bytes = r.bytes(usize::from(stack_depth) * w);
    let detail_start = r.pos.min(buf.len());
    let detail = r.bytes(detail_size);
    truncated |= r.short;
    let mut end = r.pos;
    let extra = if extra_off != 0 {
        let mut x = Rd::at(buf, off.saturating_add(extra_off));
        let n = usize::from(x.u16());
        let b = x.bytes(n);
        truncated |= x.short;
        end = end.max(x.pos);
        Some(b)
    } else {
        None
    };
    Some(RawEvent {
        index,
        offset: off,
        process_index,
        tid,
        class,
        operation,
        sequence,
        duration,
        time,
        result,
        stack_bytes,
        stack_depth,
        detail,
        extra,
        detail_and_beyond: &buf[detail_start..],
        record_len: end - off,
        truncated,
    })
}

impl Pml {
    /// FILETIME of the first event in display order (Relative Time's zero), 0 when there is none.
    pub fn first_time(&self) -> u64 {
        self.event(0).map(|e| e.time).unwrap_or(0)
    }

    /// FILETIME of the last event in display order, 0 when there is none.
    pub fn last_time(&self) -> u64 {
        self.event_count()
            .checked_sub(1)
            .and_then(|i| self.event(i))
            .map(|e| e.time)
            .unwrap_or(0)
    }
}
