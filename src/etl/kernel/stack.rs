//! StackWalk events and stack keys (group 0x18, §4.7) and Object handle events (group 0x11, §4.8).

use super::{need, DecodeError};
use crate::etl::bytes::{ptr_at, u16_at, u32_at, u64_at, wstr_at, Hex, Pointers, WStr};
use serde::Serialize;
use std::collections::HashMap;

/// StackWalk Stack, type 32 (`StackWalk_Event`, §4.7). Belongs to the event with the same raw
/// timestamp and thread.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct StackEvent<'a> {
    /// Raw timestamp (session clock) of the event this stack belongs to.
    pub event_timestamp: u64,
    /// Process id.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// Return addresses, innermost first (pointer size of the StackWalk header).
    pub frames: Pointers<'a>,
}

impl<'a> StackEvent<'a> {
    pub(super) fn decode(p: &'a [u8], ps: usize) -> Result<Self, DecodeError> {
        need(p, 16)?;
        Ok(StackEvent {
            event_timestamp: u64_at(p, 0).unwrap_or(0),
            pid: u32_at(p, 8).unwrap_or(0),
            tid: u32_at(p, 12).unwrap_or(0),
            frames: Pointers::new(&p[16..], ps),
        })
    }
}

/// StackWalk StackKeyKernel 37 / StackKeyUser 38 (§4.7): the stack of an event by reference.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct StackKeyEvent {
    /// 37 kernel part, 38 user part.
    pub opcode: u8,
    /// Raw timestamp of the event this stack belongs to.
    pub event_timestamp: u64,
    /// Process id.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// Stack key (resolve with [`StackKeyMap`]).
    pub key: Hex,
}

impl StackKeyEvent {
    pub(super) fn decode(opcode: u8, p: &[u8], ps: usize) -> Result<Self, DecodeError> {
        need(p, 16 + ps)?;
        Ok(StackKeyEvent {
            opcode,
            event_timestamp: u64_at(p, 0).unwrap_or(0),
            pid: u32_at(p, 8).unwrap_or(0),
            tid: u32_at(p, 12).unwrap_or(0),
            key: Hex(ptr_at(p, 16, ps).unwrap_or(0)),
        })
    }
}

/// StackWalk KeyCreate 34 / KeyDelete 35 / KeyRundown 36 (§4.7): the frames of a stack key.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct StackKeyDefinitionEvent<'a> {
    /// 34 create, 35 delete (key may be reused afterwards), 36 rundown (end of trace).
    pub opcode: u8,
    /// Stack key.
    pub key: Hex,
    /// Return addresses, innermost first.
    pub frames: Pointers<'a>,
}

impl<'a> StackKeyDefinitionEvent<'a> {
    pub(super) fn decode(opcode: u8, p: &'a [u8], ps: usize) -> Result<Self, DecodeError> {
        need(p, ps)?;
        Ok(StackKeyDefinitionEvent {
            opcode,
            key: Hex(ptr_at(p, 0, ps).unwrap_or(0)),
            frames: Pointers::new(&p[ps..], ps),
        })
    }
}

/// Stack key → frames, time-ranged: a definition covers the uses since the previous
/// definition of the same key (keys are reused after KeyDelete). Add definitions in any order,
/// then [`StackKeyMap::finish`].
#[derive(Clone, Debug, Default)]
pub struct StackKeyMap {
    defs: HashMap<u64, Vec<(u64, Vec<u64>)>>,
}

impl StackKeyMap {
    /// Record a key definition seen at raw time `ts`.
    pub fn add(&mut self, ts: u64, def: &StackKeyDefinitionEvent<'_>) {
        self.defs
            .entry(def.key.0)
            .or_default()
            .push((ts, def.frames.iter().collect()));
    }

    /// Sort the definitions of each key by time.
    pub fn finish(&mut self) {
        for v in self.defs.values_mut() {
            v.sort_by_key(|d| d.0);
        }
    }

    /// Frames of `key` as used at raw time `ts`: the first definition at or after `ts` (a
    /// definition is logged when the key is deleted or at rundown, i.e. after its uses).
    pub fn frames(&self, key: u64, ts: u64) -> Option<&[u64]> {
        let v = self.defs.get(&key)?;
        let i = v.partition_point(|d| d.0 < ts);
        v.get(i).map(|d| d.1.as_slice())
    }

    /// Number of keys known.
    pub fn len(&self) -> usize {
        self.defs.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }
}

/// Object CreateHandle 32 / CloseHandle 33 / HandleDCStart 38 / HandleDCEnd 39 (§4.8).
/// Layouts from phnt ntwmi.h and PerfView, unconfirmed by a real trace: fields are read by
/// length.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct HandleEvent<'a> {
    /// Event type.
    pub opcode: u8,
    /// Object address.
    pub object: Hex,
    /// Handle value.
    pub handle: u32,
    /// Object type index (see TypeDCStart events for names).
    pub object_type: u16,
    /// Owning process (rundown events 38/39 only).
    pub pid: Option<u32>,
    /// Object name, when the payload carries one.
    pub object_name: Option<WStr<'a>>,
}

impl<'a> HandleEvent<'a> {
    pub(super) fn decode(opcode: u8, p: &'a [u8], ps: usize) -> Result<Self, DecodeError> {
        let object = Hex(ptr_at(p, 0, ps).unwrap_or(0));
        if opcode >= 38 {
            need(p, ps + 10)?;
            Ok(HandleEvent {
                opcode,
                object,
                pid: u32_at(p, ps),
                handle: u32_at(p, ps + 4).unwrap_or(0),
                object_type: u16_at(p, ps + 8).unwrap_or(0),
                object_name: (p.len() > ps + 10)
                    .then(|| wstr_at(p, ps + 10).map(|x| x.0))
                    .flatten(),
            })
        } else {
            need(p, ps + 6)?;
            // The MOF puts ObjectName right after ObjectType (P+6); the C struct it comes from
            // is padded to P+8. A zero u16 at P+6 followed by more bytes means the padded form.
            let name_at = if p.len() > ps + 8 && u16_at(p, ps + 6) == Some(0) {
                ps + 8
            } else {
                ps + 6
            };
            Ok(HandleEvent {
                opcode,
                object,
                handle: u32_at(p, ps).unwrap_or(0),
                object_type: u16_at(p, ps + 4).unwrap_or(0),
                pid: None,
                object_name: (p.len() > name_at)
                    .then(|| wstr_at(p, name_at).map(|x| x.0))
                    .flatten(),
            })
        }
    }
}

/// Object DuplicateHandle 34 (§4.8). The MOF (v2) ends at ObjectType; ntwmi adds
/// SourceProcessId, packed right after ObjectType or aligned to 4 — chosen by length and
/// recorded in `packed`.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct DuplicateHandleEvent {
    /// Object address.
    pub object: Hex,
    /// Handle in the source process.
    pub source_handle: u32,
    /// Handle in the target process.
    pub target_handle: u32,
    /// Target process id.
    pub target_pid: u32,
    /// Object type index.
    pub object_type: u16,
    /// Source process id, when the payload carries it.
    pub source_pid: Option<u32>,
    /// True when SourceProcessId was read packed at P+14 (else aligned at P+16).
    pub packed: bool,
}

impl DuplicateHandleEvent {
    pub(super) fn decode(p: &[u8], ps: usize) -> Result<Self, DecodeError> {
        need(p, ps + 14)?;
        let packed = p.len() < ps + 20;
        Ok(DuplicateHandleEvent {
            object: Hex(ptr_at(p, 0, ps).unwrap_or(0)),
            source_handle: u32_at(p, ps).unwrap_or(0),
            target_handle: u32_at(p, ps + 4).unwrap_or(0),
            target_pid: u32_at(p, ps + 8).unwrap_or(0),
            object_type: u16_at(p, ps + 12).unwrap_or(0),
            source_pid: u32_at(p, if packed { ps + 14 } else { ps + 16 }),
            packed,
        })
    }
}

/// Object TypeDCStart 36 / TypeDCEnd 37 (§4.8): object type index → name.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ObjectTypeEvent<'a> {
    /// Event type.
    pub opcode: u8,
    /// Object type index.
    pub object_type: u16,
    /// Type name (`File`, `Key`, …).
    pub name: WStr<'a>,
}

impl<'a> ObjectTypeEvent<'a> {
    pub(super) fn decode(opcode: u8, p: &'a [u8]) -> Result<Self, DecodeError> {
        need(p, 4)?;
        Ok(ObjectTypeEvent {
            opcode,
            object_type: u16_at(p, 0).unwrap_or(0),
            name: wstr_at(p, 4).map(|x| x.0).unwrap_or_default(),
        })
    }
}
