//! Global time order (`format-etl.md` §3.8): a k-way merge of the per-CPU streams (buffers of
//! one CPU in file order), smallest raw timestamp first, ties by CPU. The logfile-header event
//! comes first.
//!
//! Compressed buffers are decompressed ahead of the merge by background threads (one fewer
//! than the cores, at least one; buffers claimed in file order, roughly the order the merge
//! consumes them), so decompression and merging overlap. Memory holds a bounded window of
//! decoded buffers: the channel bounds how far the producers run ahead, and a buffer the merge
//! needs before they reach it is decoded on the spot instead.

use super::buffer::{events_region, plain_region, BufferInfo};
use super::event::{parse_at, Event, Parsed};
use super::{Etl, Problem, Source};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, TryRecvError};
use std::sync::{Arc, Mutex};

enum Body<'e> {
    None,
    Mapped(&'e [u8]),
    Owned(Vec<u8>),
}

impl Body<'_> {
    #[inline]
    fn slice(&self) -> &[u8] {
        match self {
            Body::None => &[],
            Body::Mapped(s) => s,
            Body::Owned(v) => v,
        }
    }
}

struct Stream<'e> {
    cpu: u16,
    queue: Vec<u32>,
    qpos: usize,
    body: Body<'e>,
    buffer: u32,
    off: usize,
    last_ts: u64,
    pending: Option<(usize, Parsed)>,
    force_first: bool,
}

const UNCLAIMED: u8 = 0;
const PRODUCER: u8 = 1;
const CONSUMER: u8 = 2;

type Decoded = (u32, Result<Vec<u8>, String>);

/// Shared between the merge and its decompression thread.
struct Shared {
    state: Vec<AtomicU8>,
    pool: Mutex<Vec<Vec<u8>>>,
    stop: AtomicBool,
    /// Next buffer (file order) for a decompressing thread to look at.
    next: AtomicUsize,
}

impl Shared {
    /// Claim the next unclaimed compressed buffer in file order for `who`.
    fn claim_next(&self, buffers: &[BufferInfo], who: u8) -> Option<usize> {
        loop {
            let i = self.next.fetch_add(1, Ordering::AcqRel);
            let b = buffers.get(i)?;
            if b.compressed()
                && self.state[i]
                    .compare_exchange(UNCLAIMED, who, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
            {
                return Some(i);
            }
        }
    }

    fn take_vec(&self) -> Vec<u8> {
        self.pool
            .lock()
            .ok()
            .and_then(|mut p| p.pop())
            .unwrap_or_default()
    }
}

struct Producer {
    rx: Receiver<Decoded>,
    handles: Vec<std::thread::JoinHandle<()>>,
}

/// Events of a file in global time order. A lending cursor: call [`Merged::next`] in a
/// `while let` loop; each event borrows the cursor until the next call.
pub struct Merged<'e> {
    etl: &'e Etl,
    streams: Vec<Stream<'e>>,
    heap: BinaryHeap<Reverse<(u64, u32)>>,
    /// Stream of the event returned last (advanced on the next call).
    last: Option<u32>,
    shared: Arc<Shared>,
    producer: Option<Producer>,
    cache: HashMap<u32, Vec<u8>>,
    /// Compressed buffers that failed to decode (already reported).
    failed: HashSet<u32>,
    problems: Vec<Problem>,
}

impl<'e> Merged<'e> {
    pub(super) fn new(etl: &'e Etl) -> Merged<'e> {
        let mut by_cpu: BTreeMap<u16, Vec<u32>> = BTreeMap::new();
        for b in etl.buffers() {
            by_cpu.entry(b.cpu).or_default().push(b.index);
        }
        let streams = by_cpu
            .into_iter()
            .map(|(cpu, queue)| Stream {
                cpu,
                force_first: queue.first() == Some(&0),
                queue,
                qpos: 0,
                body: Body::None,
                buffer: 0,
                off: 0,
                last_ts: 0,
                pending: None,
            })
            .collect::<Vec<_>>();
        let shared = Arc::new(Shared {
            state: (0..etl.buffers().len())
                .map(|_| AtomicU8::new(UNCLAIMED))
                .collect(),
            pool: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            next: AtomicUsize::new(0),
        });
        let producer = if etl.buffers().iter().any(|b| b.compressed()) {
            spawn_producer(etl, shared.clone())
        } else {
            None
        };
        let n = streams.len();
        let mut m = Merged {
            etl,
            streams,
            heap: BinaryHeap::with_capacity(n),
            last: None,
            shared,
            producer,
            cache: HashMap::new(),
            failed: HashSet::new(),
            problems: Vec::new(),
        };
        for si in 0..n {
            if m.advance(si) {
                m.push(si);
            }
        }
        m
    }

    /// Next event in time order, or `None` at the end.
    #[allow(clippy::should_implement_trait)]
    #[inline]
    pub fn next(&mut self) -> Option<Event<'_>> {
        let si = match self.last.take() {
            Some(si) => {
                let si = si as usize;
                if self.advance(si) {
                    // Keep emitting from this stream while it stays first: no heap traffic
                    // for runs of events of one CPU.
                    let ts = self.streams[si].pending.map_or(0, |p| p.1.timestamp);
                    match self.heap.peek() {
                        Some(&Reverse((t, o))) if (t, o) < (ts, si as u32) => {
                            self.push(si);
                            self.heap.pop()?.0 .1 as usize
                        }
                        _ => si,
                    }
                } else {
                    self.heap.pop()?.0 .1 as usize
                }
            }
            None => self.heap.pop()?.0 .1 as usize,
        };
        self.last = Some(si as u32);
        let s = &self.streams[si];
        let (off, p) = s.pending?;
        Some(Event::new(s.body.slice(), off, p, s.cpu, s.buffer))
    }

    /// Problems met so far (bad buffers, corrupt events), with their locations.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// Take the problems met so far.
    pub fn take_problems(&mut self) -> Vec<Problem> {
        std::mem::take(&mut self.problems)
    }

    #[inline]
    fn push(&mut self, si: usize) {
        let s = &mut self.streams[si];
        if let Some((_, p)) = s.pending {
            let key = if s.force_first { 0 } else { p.timestamp };
            s.force_first = false;
            self.heap.push(Reverse((key, si as u32)));
        }
    }

    /// Move stream `si` to its next event; false when it has none left.
    fn advance(&mut self, si: usize) -> bool {
        loop {
            {
                let s = &mut self.streams[si];
                s.pending = None;
                let data = s.body.slice();
                if !data.is_empty() {
                    match parse_at(data, s.off, s.last_ts) {
                        Ok(Some(p)) => {
                            s.pending = Some((s.off, p));
                            s.off += p.stride as usize;
                            s.last_ts = p.timestamp;
                            return true;
                        }
                        Ok(None) => {}
                        Err(e) => {
                            let (b, off) = (s.buffer, s.off);
                            self.problems.push(self.etl.event_problem(
                                b,
                                off as u32,
                                &e.to_string(),
                            ));
                        }
                    }
                }
                if let Body::Owned(v) = std::mem::replace(&mut s.body, Body::None) {
                    if let Ok(mut pool) = self.shared.pool.lock() {
                        pool.push(v);
                    }
                }
                if s.qpos >= s.queue.len() {
                    return false;
                }
            }
            let bi = {
                let s = &mut self.streams[si];
                let bi = s.queue[s.qpos];
                s.qpos += 1;
                bi
            };
            let body = self.load(bi);
            let s = &mut self.streams[si];
            s.body = body;
            s.buffer = bi;
            s.off = 0;
        }
    }

    fn load(&mut self, bi: u32) -> Body<'e> {
        let etl = self.etl;
        let b = etl.buffers()[bi as usize];
        if !b.compressed() {
            return Body::Mapped(plain_region(etl.bytes(), &b));
        }
        if let Some(v) = self.cache.remove(&bi) {
            return Body::Owned(v);
        }
        if self.failed.contains(&bi) {
            return Body::None;
        }
        let claimed = self.shared.state[bi as usize]
            .compare_exchange(UNCLAIMED, CONSUMER, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if !claimed {
            // A producer has it: while it is not there, decode the next unclaimed buffer here
            // (into the cache) rather than wait idle.
            while self.producer.is_some() {
                let got = match self.producer.as_ref().map(|p| p.rx.try_recv()) {
                    Some(Ok(x)) => Some(x),
                    Some(Err(TryRecvError::Empty)) => {
                        match self.shared.claim_next(etl.buffers(), CONSUMER) {
                            Some(j) => {
                                let bj = etl.buffers()[j];
                                let mut v = self.shared.take_vec();
                                match events_region(etl.bytes(), &bj, &mut v) {
                                    Ok(_) => {
                                        self.cache.insert(j as u32, v);
                                    }
                                    Err(e) => {
                                        self.failed.insert(j as u32);
                                        self.problems.push(etl.buffer_problem(&bj, &e.to_string()))
                                    }
                                }
                                None
                            }
                            None => self.producer.as_ref().and_then(|p| p.rx.recv().ok()),
                        }
                    }
                    Some(Err(TryRecvError::Disconnected)) | None => {
                        // Producers gone (cannot happen before they sent all they claimed,
                        // unless one panicked): decode here.
                        self.producer = None;
                        None
                    }
                };
                let Some((i, r)) = got else {
                    continue;
                };
                let v = match r {
                    Ok(v) => Some(v),
                    Err(msg) => {
                        let bb = etl.buffers()[i as usize];
                        self.failed.insert(i);
                        self.problems.push(etl.buffer_problem(&bb, &msg));
                        None
                    }
                };
                if i == bi {
                    return v.map_or(Body::None, Body::Owned);
                }
                if let Some(v) = v {
                    self.cache.insert(i, v);
                }
            }
        }
        let mut v = self.shared.take_vec();
        match events_region(etl.bytes(), &b, &mut v) {
            Ok(_) => Body::Owned(v),
            Err(e) => {
                self.problems.push(etl.buffer_problem(&b, &e.to_string()));
                Body::None
            }
        }
    }
}

impl Drop for Merged<'_> {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(p) = self.producer.take() {
            let Producer { rx, handles } = p;
            drop(rx); // unblocks producers waiting to send
            for h in handles {
                let _ = h.join();
            }
        }
    }
}

/// Start the decompression threads: each claims the next compressed buffer in file order,
/// decodes it and sends it (bounded channel). Plain threads, not the rayon pool: a merge may
/// run inside a rayon task (several files at once), and a consumer blocked on the channel
/// must never wait for pool workers it is itself occupying.
fn spawn_producer(etl: &Etl, shared: Arc<Shared>) -> Option<Producer> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 5)
        - 1;
    let (tx, rx) = sync_channel::<Decoded>(8 * threads + 8);
    let (source, buffers): (Arc<Source>, Arc<[BufferInfo]>) = etl.shared_source();
    let mut handles = Vec::with_capacity(threads);
    for k in 0..threads {
        let (tx, source, buffers, shared) =
            (tx.clone(), source.clone(), buffers.clone(), shared.clone());
        let h = std::thread::Builder::new()
            .name(format!("etl-decompress-{k}"))
            .spawn(move || {
                let file = source.bytes();
                loop {
                    if shared.stop.load(Ordering::Acquire) {
                        return;
                    }
                    let Some(i) = shared.claim_next(&buffers, PRODUCER) else {
                        return;
                    };
                    let b = &buffers[i];
                    let mut v = shared.take_vec();
                    let r = match events_region(file, b, &mut v) {
                        Ok(_) => Ok(v),
                        Err(e) => Err(e.to_string()),
                    };
                    if tx.send((b.index, r)).is_err() {
                        return;
                    }
                }
            });
        match h {
            Ok(h) => handles.push(h),
            Err(_) => break,
        }
    }
    if handles.is_empty() {
        return None;
    }
    Some(Producer { rx, handles })
}
