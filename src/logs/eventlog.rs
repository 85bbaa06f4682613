//! Windows event logs (`.evtx`), read with the `evtx` crate (`format-logs.md` section 4).
//!
//! Every record is kept with its System fields and its EventData / UserData fields flattened to
//! `name -> text`; the events servicing cares about are also decoded into typed details:
//! Setup `Microsoft-Windows-Servicing` 1-4 (package, states, `ErrorCode`), System
//! `Service Control Manager` 7000/7023/7040/7045, `Microsoft-Windows-FilterManager` 1/6 (with the
//! altitudes of `ExtraInfoString`), `Ntfs` 55/98/135 and `Microsoft-Windows-WindowsUpdateClient`
//! 19/20/43/44. All record times are UTC (the record header's FILETIME).

use super::codes::parse_code;
use super::ReadStats;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// One event record.
#[derive(Clone, Debug)]
pub struct EventRecord {
    /// `EventRecordID` of the record header.
    pub record_id: u64,
    /// Record time, UTC.
    pub time_utc: Option<DateTime<Utc>>,
    /// Channel (`System`, `Setup`).
    pub channel: String,
    /// Provider name (`Service Control Manager`, `Microsoft-Windows-Servicing`).
    pub provider: String,
    /// Event id (without qualifiers).
    pub event_id: u32,
    /// Level (1 critical, 2 error, 3 warning, 4 information, 0 always).
    pub level: Option<u8>,
    /// Computer name.
    pub computer: String,
    /// The UserData child element (`CbsPackageChangeState`), when the fields come from UserData.
    pub user_data_element: Option<String>,
    /// EventData / UserData fields, flattened, sorted by name (case-insensitive).
    pub fields: Vec<(String, String)>,
    /// Decoded details of the events servicing cares about.
    pub detail: EventDetail,
}

/// Typed details of known events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventDetail {
    /// Setup log, `Microsoft-Windows-Servicing` 1-4.
    Servicing {
        /// `PackageIdentifier` (`KB4093137`).
        package: String,
        /// `InitialPackageState` (event 1).
        initial_state: Option<String>,
        /// `IntendedPackageState` (word, or the number when not rendered).
        intended_state: Option<String>,
        /// `ErrorCode`, normalised (`None` for event 1, which has none).
        error_code: Option<u32>,
        /// `Client` (`WindowsUpdateAgent`).
        client: Option<String>,
    },
    /// System log, `Service Control Manager`.
    ServiceControl {
        /// Service display name (7000/7023/7040 `param1`, 7045 `ServiceName`).
        service: String,
        /// Service key name (7000/7023 from `Binary`, 7040 `param4`).
        service_key: Option<String>,
        /// The error of 7000/7023 (`param2` insert `%%N`), normalised to an HRESULT.
        error: Option<u32>,
        /// 7040: old start type; 7045: start type.
        old_start: Option<String>,
        /// 7040: new start type.
        new_start: Option<String>,
        /// 7045: image path.
        image_path: Option<String>,
        /// 7045: service type (`kernel mode driver`).
        service_type: Option<String>,
    },
    /// System log, `Microsoft-Windows-FilterManager`.
    FilterManager {
        /// Filter name (`DeviceName`).
        filter: String,
        /// `FinalStatus`.
        final_status: Option<u32>,
        /// Instance altitudes from `ExtraInfoString` (decimal strings, as written).
        altitudes: Vec<String>,
        /// `class_name` from `ExtraInfoString`: the load-order group (`FSFilter Bottom`).
        load_order_group: Option<String>,
        /// `frame` from `ExtraInfoString`.
        frame: Option<u32>,
    },
    /// System log, `Ntfs` / `Microsoft-Windows-Ntfs`.
    Ntfs {
        /// `DriveName` (`C:`), if present.
        volume: Option<String>,
        /// `DeviceName` (`\Device\HarddiskVolume2`), if present.
        device: Option<String>,
    },
    /// System log, `Microsoft-Windows-WindowsUpdateClient`.
    WindowsUpdateClient {
        /// `updateTitle`.
        title: Option<String>,
        /// `errorCode` (20), normalised.
        error_code: Option<u32>,
    },
    /// Any other event.
    Other,
}

/// A parsed event log.
#[derive(Clone, Debug, Default)]
pub struct EventLog {
    /// Records in the order the reader yields them (chunk order).
    pub records: Vec<EventRecord>,
    /// Records the reader could not decode: (ordinal among yielded items, error text).
    pub failed: Vec<(usize, String)>,
    /// Accounting: `lines` = items yielded, `entries` = records decoded, `unparsed` = ordinals of
    /// the failures.
    pub stats: ReadStats,
}

impl EventRecord {
    /// A field by name (case-insensitive).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The record as one line for the classifier:
    /// `Provider/EventID | name=value | name=value |` with the fields sorted by name, plus derived
    /// fields (`ServiceKey`, `Altitude`).
    pub fn canonical_text(&self) -> String {
        let mut f: Vec<(String, String)> = self.fields.clone();
        match &self.detail {
            EventDetail::ServiceControl {
                service_key: Some(k),
                ..
            } if self.field("ServiceKey").is_none() => f.push(("ServiceKey".into(), k.clone())),
            EventDetail::FilterManager { altitudes, .. } if !altitudes.is_empty() => {
                f.push(("Altitude".into(), altitudes.join(",")))
            }
            _ => {}
        }
        f.sort_by_key(|(k, _)| k.to_ascii_lowercase());
        let mut s = format!("{}/{} |", self.provider, self.event_id);
        for (k, v) in f {
            s.push(' ');
            s.push_str(&k);
            s.push('=');
            s.push_str(&v.replace(['\r', '\n'], " "));
            s.push_str(" |");
        }
        s
    }
}

/// Read an `.evtx` file held in memory. Never panics: a panic inside the `evtx` crate on a
/// damaged file is caught and reported as a failed read.
pub fn parse(bytes: &[u8], mut stats: ReadStats) -> Result<EventLog, String> {
    let owned = bytes.to_vec();
    let res = std::panic::catch_unwind(move || -> Result<EventLog, String> {
        let settings = evtx::ParserSettings::new().num_threads(1);
        let mut p = evtx::EvtxParser::from_buffer(owned)
            .map_err(|e| format!("not a readable evtx file: {e}"))?
            .with_configuration(settings);
        let mut log = EventLog::default();
        for (i, r) in p.records_json_value().enumerate() {
            match r {
                Ok(rec) => {
                    let secs = rec.timestamp.as_second();
                    let nanos = rec.timestamp.subsec_nanosecond();
                    let t = DateTime::from_timestamp(secs, u32::try_from(nanos).unwrap_or(0));
                    log.records.push(record(rec.event_record_id, t, &rec.data));
                }
                Err(e) => log.failed.push((i + 1, e.to_string())),
            }
        }
        Ok(log)
    });
    let mut log = match res {
        Ok(r) => r?,
        Err(_) => return Err("the evtx reader failed on this file (damaged?)".into()),
    };
    stats.lines = log.records.len() + log.failed.len();
    stats.entries = log.records.len();
    stats.unparsed = log.failed.iter().map(|(i, _)| *i).collect();
    log.stats = stats;
    Ok(log)
}

fn text_of(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(a) => a.iter().map(text_of).collect::<Vec<_>>().join(", "),
        Value::Object(o) => match o.get("#text") {
            Some(t) => text_of(t),
            None => o
                .iter()
                .filter(|(k, _)| k.as_str() != "#attributes")
                .map(|(k, v)| format!("{k}={}", text_of(v)))
                .collect::<Vec<_>>()
                .join(", "),
        },
    }
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(o) if !o.contains_key("#text") => {
            for (k, x) in o {
                if k == "#attributes" {
                    continue;
                }
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, x, out);
            }
        }
        other => {
            if !prefix.is_empty() {
                out.push((prefix.to_string(), text_of(other)));
            }
        }
    }
}

fn record(record_id: u64, time_utc: Option<DateTime<Utc>>, data: &Value) -> EventRecord {
    let ev = data.get("Event").unwrap_or(&Value::Null);
    let sys = ev.get("System").unwrap_or(&Value::Null);
    let provider = sys
        .get("Provider")
        .and_then(|p| p.get("#attributes"))
        .and_then(|a| a.get("Name"))
        .map(text_of)
        .unwrap_or_default();
    let event_id = sys
        .get("EventID")
        .map(text_of)
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(0);
    let level = sys
        .get("Level")
        .map(text_of)
        .and_then(|s| s.parse::<u8>().ok());
    let channel = sys.get("Channel").map(text_of).unwrap_or_default();
    let computer = sys.get("Computer").map(text_of).unwrap_or_default();
    let mut fields = Vec::new();
    let mut user_data_element = None;
    if let Some(ed) = ev.get("EventData").filter(|v| !v.is_null()) {
        flatten("", ed, &mut fields);
        if fields.is_empty() {
            let t = text_of(ed);
            if !t.is_empty() {
                fields.push(("Data".into(), t));
            }
        }
    }
    if let Some(Value::Object(ud)) = ev.get("UserData") {
        for (k, v) in ud {
            if k == "#attributes" {
                continue;
            }
            user_data_element = Some(k.clone());
            flatten("", v, &mut fields);
        }
    }
    fields.sort_by_key(|(k, _)| k.to_ascii_lowercase());
    let mut r = EventRecord {
        record_id,
        time_utc,
        channel,
        provider,
        event_id,
        level,
        computer,
        user_data_element,
        fields,
        detail: EventDetail::Other,
    };
    r.detail = detail(&r);
    r
}

/// Decode the UTF-16LE hex of an SCM `Binary` field (the service key name).
pub fn binary_utf16(hex: &str) -> Option<String> {
    let h = hex.trim();
    if h.is_empty() || !h.len().is_multiple_of(4) || !h.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let units: Vec<u16> = (0..h.len() / 4)
        .filter_map(|i| {
            let b = |k: usize| u8::from_str_radix(&h[i * 4 + k..i * 4 + k + 2], 16).ok();
            Some(u16::from_le_bytes([b(0)?, b(2)?]))
        })
        .take_while(|&u| u != 0)
        .collect();
    let s = String::from_utf16_lossy(&units);
    (!s.is_empty()).then_some(s)
}

/// Values of the `instances` list and `class_name` / `frame` of a FilterManager `ExtraInfoString`.
fn extra_info(s: &str) -> (Vec<String>, Option<String>, Option<u32>) {
    if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(s) {
        let alts = o
            .get("instances")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|i| i.as_array().and_then(|p| p.first()).map(text_of))
                    .collect()
            })
            .unwrap_or_default();
        let class = o.get("class_name").map(text_of);
        let frame = o.get("frame").and_then(|f| text_of(f).parse().ok());
        return (alts, class, frame);
    }
    (Vec::new(), None, None)
}

fn detail(r: &EventRecord) -> EventDetail {
    let f = |n: &str| r.field(n).map(str::to_string);
    let provider = r.provider.as_str();
    match (provider, r.event_id) {
        ("Microsoft-Windows-Servicing", 1..=4) => EventDetail::Servicing {
            package: f("PackageIdentifier").unwrap_or_default(),
            initial_state: f("InitialPackageState"),
            intended_state: f("IntendedPackageStateTextized").or_else(|| f("IntendedPackageState")),
            error_code: r.field("ErrorCode").and_then(parse_code),
            client: f("Client"),
        },
        ("Service Control Manager", 7000 | 7023 | 7040 | 7045) => {
            let seven045 = r.event_id == 7045;
            EventDetail::ServiceControl {
                service: if seven045 {
                    f("ServiceName")
                } else {
                    f("param1")
                }
                .unwrap_or_default(),
                service_key: if r.event_id == 7040 {
                    f("param4")
                } else {
                    r.field("Binary").and_then(binary_utf16)
                },
                error: if matches!(r.event_id, 7000 | 7023) {
                    r.field("param2").and_then(parse_code)
                } else {
                    None
                },
                old_start: if seven045 {
                    f("StartType")
                } else if r.event_id == 7040 {
                    f("param2")
                } else {
                    None
                },
                new_start: if r.event_id == 7040 {
                    f("param3")
                } else {
                    None
                },
                image_path: if seven045 { f("ImagePath") } else { None },
                service_type: if seven045 { f("ServiceType") } else { None },
            }
        }
        ("Microsoft-Windows-FilterManager", _) => {
            let (altitudes, load_order_group, frame) =
                extra_info(r.field("ExtraInfoString").unwrap_or(""));
            EventDetail::FilterManager {
                filter: f("DeviceName").unwrap_or_default(),
                final_status: r.field("FinalStatus").and_then(|s| {
                    let s = s.trim().trim_start_matches("0x").trim_start_matches("0X");
                    u32::from_str_radix(s, 16).ok()
                }),
                altitudes,
                load_order_group,
                frame,
            }
        }
        ("Ntfs" | "Microsoft-Windows-Ntfs", _) => EventDetail::Ntfs {
            volume: f("DriveName"),
            device: f("DeviceName"),
        },
        ("Microsoft-Windows-WindowsUpdateClient", _) => EventDetail::WindowsUpdateClient {
            title: f("updateTitle"),
            error_code: r.field("errorCode").and_then(parse_code),
        },
        _ => EventDetail::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(
            binary_utf16("43006C00640046006C0074000000").as_deref(),
            Some("CldFlt")
        );
        assert_eq!(binary_utf16("zz"), None);
        let (a, c, fr) = extra_info(
            "{ \"flags\" : \"0x00000010\" , \"frame\" : 0 , \"class_name\" : \"FSFilter Bottom\" , \"instances\" : [[\"40500\",\"0x00000000\"]] }",
        );
        assert_eq!(a, vec!["40500"]);
        assert_eq!(c.as_deref(), Some("FSFilter Bottom"));
        assert_eq!(fr, Some(0));
        assert!(parse(b"not an evtx", ReadStats::default()).is_err());
        let mut junk = b"ElfFile\0".to_vec();
        junk.extend(std::iter::repeat_n(0xAAu8, 70_000));
        let _ = parse(&junk, ReadStats::default());
    }
}
