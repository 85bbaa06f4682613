//! Stack frame → module lookup in O(log n) per frame.
//!
//! [`Pml::resolve_frame`] scans a process's module list in order; a capture of millions of
//! stacked events resolves tens of millions of frames, so the tables builder uses this index
//! instead. It gives the same answer: kernel addresses through the System process's modules,
//! user addresses through the event's own process (`format-pml.md` §8), and, where a list has
//! overlapping ranges, the first match in list order (the list is then scanned as Procmon's
//! `stacks.jsonl` oracle resolves it).

use super::{Module, Pml, Process};
use std::collections::HashMap;

/// The module ranges of one process, sorted by base.
struct Ranges<'p> {
    process: &'p Process,
    /// `(base, end exclusive, index into process.modules)`, sorted by base.
    sorted: Vec<(u64, u64, usize)>,
    /// Two ranges overlap: fall back to the list-order scan.
    overlap: bool,
}

impl<'p> Ranges<'p> {
    fn new(process: &'p Process) -> Self {
        let mut sorted: Vec<(u64, u64, usize)> = process
            .modules
            .iter()
            .enumerate()
            .map(|(i, m)| (m.base, m.base.saturating_add(u64::from(m.size)), i))
            .collect();
        sorted.sort_unstable();
        let overlap = sorted.windows(2).any(|w| w[1].0 < w[0].1);
        Ranges {
            process,
            sorted,
            overlap,
        }
    }

    fn find(&self, addr: u64) -> Option<&'p Module> {
        let modules = &self.process.modules;
        if self.overlap {
            return modules
                .iter()
                .find(|m| addr >= m.base && addr < m.base.saturating_add(u64::from(m.size)));
        }
        let k = self.sorted.partition_point(|r| r.0 <= addr);
        let (_, end, i) = *self.sorted.get(k.checked_sub(1)?)?;
        (addr < end).then(|| &modules[i])
    }
}

/// Module lookup for every process of a capture, built once (cost: sorting each module list).
pub struct FrameResolver<'p> {
    pml: &'p Pml,
    system: Option<Ranges<'p>>,
    /// Keyed by the process-table key events use ([`crate::pml::RawEvent::process_index`]).
    by_index: HashMap<u32, Ranges<'p>>,
}

impl<'p> FrameResolver<'p> {
    /// Index every process of `pml`.
    pub fn new(pml: &'p Pml) -> Self {
        FrameResolver {
            pml,
            system: pml.system_process().map(Ranges::new),
            by_index: pml
                .processes
                .iter()
                .map(|p| (p.index, Ranges::new(p)))
                .collect(),
        }
    }

    /// The module holding return address `addr` of an event of process `process_index`;
    /// `None` when no module covers it (same answer as [`Pml::resolve_frame`]).
    pub fn resolve(&self, process_index: u32, addr: u64) -> Option<&'p Module> {
        if self.pml.is_kernel_address(addr) {
            self.system.as_ref()?.find(addr)
        } else {
            self.by_index.get(&process_index)?.find(addr)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every frame of the committed case-A sample resolves as `resolve_frame` does.
    #[test]
    fn same_answer_as_the_list_scan() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples/case-a-amdk8/capture.pml");
        let pml = Pml::open(&path).unwrap();
        let r = FrameResolver::new(&pml);
        let (mut frames, mut resolved) = (0, 0);
        for i in 0..pml.event_count() {
            let ev = pml.event(i).unwrap();
            let p = pml.process(ev.process_index);
            for a in ev.stack(pml.header.is_64bit) {
                let want = pml.resolve_frame(p, a).map(|m| m as *const Module);
                let got = r.resolve(ev.process_index, a).map(|m| m as *const Module);
                assert_eq!(got, want, "event {i} address {a:#x}");
                frames += 1;
                resolved += usize::from(got.is_some());
            }
        }
        assert!(
            frames > 1000 && resolved > frames / 2,
            "{resolved}/{frames}"
        );
    }

    /// Overlapping ranges keep the first module in list order.
    #[test]
    fn overlap_keeps_list_order() {
        let m = |base, size, path: &str| Module {
            base,
            size,
            path: path.into(),
            version: String::new(),
            company: String::new(),
            description: String::new(),
            timestamp: 0,
        };
        let mut p = Process {
            index: 1,
            pid: 8,
            ppid: 4,
            parent_index: 0,
            auth_id: 0,
            session: 0,
            start_time: 0,
            end_time: 0,
            virtualized: false,
            is_64bit: true,
            integrity: String::new(),
            user: String::new(),
            name: String::new(),
            image_path: String::new(),
            command_line: String::new(),
            company: String::new(),
            version: String::new(),
            description: String::new(),
            modules: Vec::new(),
        };
        p.modules = vec![m(0x2000, 0x1000, "b.dll"), m(0x1000, 0x2000, "a.dll")];
        let r = Ranges::new(&p);
        assert!(r.overlap);
        assert_eq!(r.find(0x2100).unwrap().path, "b.dll");
        assert_eq!(r.find(0x1100).unwrap().path, "a.dll");
        assert!(r.find(0x3000).is_none());
        p.modules = vec![m(0x3000, 0x1000, "c.dll"), m(0x1000, 0x1000, "a.dll")];
        let r = Ranges::new(&p);
        assert!(!r.overlap);
        assert_eq!(r.find(0x3FFF).unwrap().path, "c.dll");
        assert!(r.find(0x2000).is_none());
        assert!(r.find(0x0FFF).is_none());
    }
}
