//! Registry events (group 0x09, §4.6) and full key names through KCB create/rundown.

use super::{need, DecodeError};
use crate::etl::bytes::{ptr_at, u32_at, u64_at, wstr_at, Hex, WStr};
use serde::Serialize;
use std::collections::HashMap;

/// Name of a Registry type. 30–32 are the TxR (transaction) events and 33+ hive / counter /
/// notification events with other payloads (per the kernel MOF classes as bundled by
/// dissect.etl), not the `evntrace.h` reading of §4.6.
pub(super) fn op_name(op: u8) -> Option<&'static str> {
    Some(match op {
        10 => "Create",
        11 => "Open",
        12 => "Delete",
        13 => "Query",
        14 => "SetValue",
        15 => "DeleteValue",
        16 => "QueryValue",
        17 => "EnumerateKey",
        18 => "EnumerateValueKey",
        19 => "QueryMultipleValue",
        20 => "SetInformation",
        21 => "Flush",
        22 => "KCBCreate",
        23 => "KCBDelete",
        24 => "KCBRundownBegin",
        25 => "KCBRundownEnd",
        26 => "Virtualize",
        27 => "Close",
        28 => "SetSecurity",
        29 => "QuerySecurity",
        30 => "TxRCommit",
        31 => "TxRPrepare",
        32 => "TxRRollback",
        34 => "Counters",
        35 => "Config",
        36 => "HiveInit",
        37 => "HiveDestroy",
        38 => "HiveLink",
        39 => "HiveDCEnd",
        40 => "HiveDirty",
        48 => "ChangeNotify",
        _ => return None,
    })
}

/// Registry operation or KCB event, version 2 (`Registry_TypeGroup1` / `WMI_REGISTRY`, §4.6):
/// opcodes 10–29.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct RegistryEvent<'a> {
    /// Event type (10 Create … 29 QuerySecurity; 22–25 KCB events).
    pub opcode: u8,
    /// Event version.
    pub version: u16,
    /// Raw session clock when the operation started (the event time is its completion).
    pub initial_time: u64,
    /// NTSTATUS of the operation (0xC0000022 = ACCESS_DENIED).
    pub status: u32,
    /// Index or information class.
    pub index: u32,
    /// KeyHandle field: really the KCB address of the key (or of the parent for relative names).
    pub kcb: Hex,
    /// Key name (absolute `\REGISTRY\…`, relative to `kcb`, or empty) for key operations;
    /// the value name for value operations (13–16, 18, 19).
    pub name: WStr<'a>,
}

impl<'a> RegistryEvent<'a> {
    pub(super) fn decode(
        opcode: u8,
        version: u16,
        p: &'a [u8],
        ps: usize,
    ) -> Result<Self, DecodeError> {
        if version < 2 {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        need(p, 16 + ps)?;
        Ok(RegistryEvent {
            opcode,
            version,
            initial_time: u64_at(p, 0).unwrap_or(0),
            status: u32_at(p, 8).unwrap_or(0),
            index: u32_at(p, 12).unwrap_or(0),
            kcb: Hex(ptr_at(p, 16, ps).unwrap_or(0)),
            name: wstr_at(p, 16 + ps).map(|x| x.0).unwrap_or_default(),
        })
    }

    /// True for a KCB bookkeeping event (22 create, 23 delete, 24/25 rundown).
    pub fn is_kcb_event(&self) -> bool {
        (22..=25).contains(&self.opcode)
    }

    /// True when `name` is a value name rather than a key name (13–16, 18, 19; PerfView's
    /// reading, §4.6).
    pub fn names_value(&self) -> bool {
        matches!(self.opcode, 13..=16 | 18 | 19)
    }
}

/// Registry TxR event: TxRCommit 30, TxRPrepare 31, TxRRollback 32 (version 2; layout of the
/// kernel MOF class as bundled by dissect.etl — not in the corpus).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct RegistryTxrEvent<'a> {
    /// Event type.
    pub opcode: u8,
    /// Transaction GUID.
    pub txr: crate::etl::Guid,
    /// NTSTATUS.
    pub status: u32,
    /// Units of work.
    pub uow_count: u32,
    /// OperationTime (raw session clock).
    pub operation_time: u64,
    /// Hive name.
    pub hive: WStr<'a>,
}

impl<'a> RegistryTxrEvent<'a> {
    pub(super) fn decode(opcode: u8, p: &'a [u8]) -> Result<Self, DecodeError> {
        need(p, 32)?;
        Ok(RegistryTxrEvent {
            opcode,
            txr: crate::etl::Guid::read(p, 0).unwrap_or_default(),
            status: u32_at(p, 16).unwrap_or(0),
            uow_count: u32_at(p, 20).unwrap_or(0),
            operation_time: u64_at(p, 24).unwrap_or(0),
            hive: wstr_at(p, 32).map(|x| x.0).unwrap_or_default(),
        })
    }
}

/// Registry hive and notification events (version 2; layouts of the kernel MOF classes as
/// bundled by dissect.etl — not in the corpus): HiveInit 36, HiveDestroy 37, HiveLink 38,
/// HiveDCEnd 39, HiveDirty 40, ChangeNotify 48. Fields a type does not have are `None`.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct RegistryHiveEvent<'a> {
    /// Event type.
    pub opcode: u8,
    /// CMHIVE address (36–40); the notification block for 48.
    pub hive: Hex,
    /// Hive file name (36, 37, 39).
    pub file_name: Option<WStr<'a>>,
    /// Registry path the hive is linked at (37, 38, 39, 40).
    pub path: Option<WStr<'a>>,
    /// Size in bytes (36, 39).
    pub size: Option<u64>,
    /// OperationType (36), LoadedKeyCount (39), DirtyReason (40).
    pub value: Option<u32>,
    /// ChangeNotify: KCB of the watched key.
    pub kcb: Option<Hex>,
}

impl<'a> RegistryHiveEvent<'a> {
    pub(super) fn decode(opcode: u8, p: &'a [u8], ps: usize) -> Result<Self, DecodeError> {
        let w = |o: usize| wstr_at(p, o).map(|x| x.0);
        let mut e = RegistryHiveEvent {
            opcode,
            hive: Hex(ptr_at(p, 0, ps).unwrap_or(0)),
            file_name: None,
            path: None,
            size: None,
            value: None,
            kcb: None,
        };
        match opcode {
            36 => {
                need(p, ps + 12)?;
                e.value = u32_at(p, ps);
                e.size = u32_at(p, ps + 8).map(u64::from);
                e.file_name = w(ps + 12);
            }
            37 => {
                need(p, ps)?;
                let (f, next) = wstr_at(p, ps).unwrap_or_default();
                e.file_name = Some(f);
                e.path = w(next);
            }
            38 => {
                need(p, ps)?;
                e.path = w(ps);
            }
            39 => {
                need(p, 12 + ps)?;
                e.size = u64_at(p, 0);
                e.hive = Hex(ptr_at(p, 8, ps).unwrap_or(0));
                e.value = u32_at(p, 8 + ps);
                let (f, next) = wstr_at(p, 12 + ps).unwrap_or_default();
                e.file_name = Some(f);
                e.path = w(next);
            }
            40 => {
                need(p, ps)?;
                let (l, next) = wstr_at(p, ps).unwrap_or_default();
                e.path = Some(l);
                e.value = u32_at(p, next);
            }
            _ => {
                need(p, 2 * ps)?;
                e.kcb = ptr_at(p, ps, ps).map(Hex);
                e.value = u32_at(p, 2 * ps).map(|v| v & 0x00FF_FFFF);
            }
        }
        Ok(e)
    }
}

/// Full name of the key an operation touched (§4.6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum KeyName {
    /// Known full path (`\REGISTRY\MACHINE\…`).
    Resolved {
        /// Full key path.
        path: String,
    },
    /// The KCB is not known at that time (no rundown / create seen): never guessed.
    Unresolved {
        /// KCB address.
        kcb: Hex,
        /// The relative name the event carried (may be empty).
        relative: String,
    },
}

impl std::fmt::Display for KeyName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyName::Resolved { path } => f.write_str(path),
            KeyName::Unresolved { kcb, relative } if relative.is_empty() => {
                write!(f, "<unresolved KCB {kcb}>")
            }
            KeyName::Unresolved { kcb, relative } => {
                write!(f, "<unresolved KCB {kcb}>\\{relative}")
            }
        }
    }
}

#[derive(Clone, Debug)]
struct KcbSpan {
    start: u64,
    end: u64,
    name: String,
}

/// KCB address → full key name, valid in time ranges (addresses are reused after a
/// KCBDelete). Build it from all KCB events ([`KcbMap::add`] in any order, then
/// [`KcbMap::finish`]) and resolve operations at their own time.
#[derive(Clone, Debug, Default)]
pub struct KcbMap {
    raw: Vec<(u64, u8, u64, String)>,
    spans: HashMap<u64, Vec<KcbSpan>>,
}

impl KcbMap {
    /// Record a KCB event (22–25) seen at raw time `ts`. Other events are ignored.
    pub fn add(&mut self, ts: u64, ev: &RegistryEvent<'_>) {
        if ev.is_kcb_event() {
            self.raw
                .push((ts, ev.opcode, ev.kcb.0, ev.name.to_string_lossy()));
        }
    }

    /// Take the not-yet-finished records of `other` (to combine maps built in parallel).
    pub fn merge_raw(&mut self, mut other: KcbMap) {
        self.raw.append(&mut other.raw);
    }

    /// Build the time ranges: rundown-begin entries hold from the start of the trace, create
    /// entries from their time; a delete ends the range; rundown-end entries cover the time
    /// since the last delete of that address.
    pub fn finish(&mut self) {
        let mut raw = std::mem::take(&mut self.raw);
        raw.sort_by_key(|r| (r.0, r.1));
        for (ts, op, kcb, name) in raw {
            let spans = self.spans.entry(kcb).or_default();
            let open = spans.last_mut().filter(|s| s.end == u64::MAX);
            match op {
                22 | 24 => {
                    if let Some(s) = open {
                        s.end = ts;
                    }
                    let start = if op == 24 { 0 } else { ts };
                    spans.push(KcbSpan {
                        start,
                        end: u64::MAX,
                        name,
                    });
                }
                23 => match open {
                    Some(s) => s.end = ts,
                    None => {
                        let start = spans.last().map(|s| s.end).unwrap_or(0);
                        spans.push(KcbSpan {
                            start,
                            end: ts,
                            name,
                        });
                    }
                },
                _ => {
                    if open.is_none() {
                        let start = spans.last().map(|s| s.end).unwrap_or(0);
                        spans.push(KcbSpan {
                            start,
                            end: u64::MAX,
                            name,
                        });
                    }
                }
            }
        }
    }

    /// Name of KCB `kcb` at raw time `ts`, if known.
    pub fn lookup(&self, kcb: u64, ts: u64) -> Option<&str> {
        self.spans
            .get(&kcb)?
            .iter()
            .rev()
            .find(|s| s.start <= ts && ts <= s.end)
            .map(|s| s.name.as_str())
    }

    /// Number of KCB addresses known.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when no KCB is known.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Full name of the key of operation `ev` at raw time `ts` (§4.6 steps 2–4).
    pub fn key_name(&self, ts: u64, ev: &RegistryEvent<'_>) -> KeyName {
        let rel = if ev.names_value() {
            String::new()
        } else {
            ev.name.to_string_lossy()
        };
        if rel.len() >= 9 && rel[..9].eq_ignore_ascii_case("\\REGISTRY") {
            return KeyName::Resolved { path: rel };
        }
        if ev.is_kcb_event() && !rel.is_empty() {
            return KeyName::Resolved { path: rel };
        }
        match self.lookup(ev.kcb.0, ts) {
            Some(base) if rel.is_empty() => KeyName::Resolved {
                path: base.to_string(),
            },
            Some(base) => KeyName::Resolved {
                path: format!("{}\\{}", base.trim_end_matches('\\'), rel),
            },
            None => KeyName::Unresolved {
                kcb: ev.kcb,
                relative: rel,
            },
        }
    }
}
