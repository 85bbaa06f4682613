//! Log readers and the failure classifier against the real log corpus
//! (`shared/corpus/logs`, figures in `EXPECTED.md` / `expected.json`, made by `expected.py`).

use fltblame::logs::eventlog::EventLog;
use fltblame::logs::fltmc::FltmcTable;
use fltblame::logs::setupapi::{Marker, SetupApiLog};
use fltblame::logs::windowsupdate::WuLayout;
use fltblame::logs::{classify, read_path, Finding, LogFile, LogKind, Parsed, ReadOptions};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// `../shared` beside the crate, or `$FLTBLAME_SHARED`.
fn shared_dir() -> PathBuf {
    std::env::var_os("FLTBLAME_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

fn logs_dir() -> PathBuf {
    shared_dir().join("corpus/logs")
}

fn expected() -> BTreeMap<String, Value> {
    let p = logs_dir().join("expected.json");
    let t = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&t).expect("expected.json")
}

fn read(name: &str) -> LogFile {
    read_path(&logs_dir().join(name), &ReadOptions::default())
        .unwrap_or_else(|e| panic!("{name}: {e:#}"))
}

fn counts<'a>(it: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for s in it {
        *m.entry(s.to_string()).or_insert(0) += 1;
    }
    m
}

fn obj_counts(v: &Value) -> BTreeMap<String, u64> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

fn u(v: &Value, k: &str) -> usize {
    v[k].as_u64()
        .unwrap_or_else(|| panic!("expected.json: no {k}")) as usize
}

/// The coarse kind of a finding as the oracle names it (`EXPECTED.md`, mapping table).
fn oracle_kind(f: &Finding) -> &str {
    &f.kind
}

#[test]
fn every_corpus_log_is_read_with_the_oracle_figures() {
    let exp = expected();
    assert!(exp.len() >= 15, "expected.json lists {} files", exp.len());
    let mut on_disk: BTreeSet<String> = std::fs::read_dir(logs_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".log") || n.ends_with(".evtx"))
        .collect();
    for (name, e) in &exp {
        on_disk.remove(name);
        let log = read(name);
        let st = log.stats();
        assert!(st.accounted(), "{name}: lines not accounted: {st:?}");
        assert!(
            st.unparsed.is_empty(),
            "{name}: unparsed lines {:?}",
            &st.unparsed[..st.unparsed.len().min(20)]
        );
        let ty = e["type"].as_str().unwrap();
        let want_kind = match ty {
            "cbs" => LogKind::Cbs,
            "setupapi" => LogKind::SetupApi,
            "windowsupdate" => LogKind::WindowsUpdate,
            "filterlist" => LogKind::Fltmc,
            "evtx" => LogKind::EventLog,
            other => panic!("{name}: unknown oracle type {other}"),
        };
        assert_eq!(log.kind, want_kind, "{name}: sniffed kind");
        if ty != "evtx" {
            assert_eq!(st.lines, u(e, "physical_lines"), "{name}: physical lines");
            assert_eq!(st.line_ends.crlf, u(e, "crlf"), "{name}: CRLF");
            assert_eq!(st.line_ends.lone_cr, u(e, "lone_cr"), "{name}: lone CR");
            assert_eq!(
                st.line_ends.ends_with_lf,
                e["ends_with_lf"].as_bool().unwrap(),
                "{name}: ends with LF"
            );
            assert_eq!(st.replaced, 0, "{name}: decoding replaced characters");
        }
        match &log.parsed {
            Parsed::Cbs(c) => {
                assert_eq!(st.entries, u(e, "entries"), "{name}: entries");
                assert_eq!(
                    st.continuations,
                    u(e, "continuation_lines"),
                    "{name}: continuations"
                );
                assert_eq!(st.blank, u(e, "blank_lines"), "{name}: blank");
                let fmt = |t: Option<chrono::NaiveDateTime>| {
                    t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                };
                assert_eq!(
                    fmt(c.entries.first().and_then(|x| x.time_local)).as_deref(),
                    e["first_timestamp"].as_str(),
                    "{name}"
                );
                assert_eq!(
                    fmt(c.entries.last().and_then(|x| x.time_local)).as_deref(),
                    e["last_timestamp"].as_str(),
                    "{name}"
                );
                assert_eq!(
                    counts(c.entries.iter().map(|x| x.component.as_str())),
                    obj_counts(&e["components"]),
                    "{name}: components"
                );
                assert_eq!(
                    counts(c.entries.iter().map(|x| x.severity.as_str())),
                    obj_counts(&e["severities"]),
                    "{name}: severities"
                );
                // HRESULT fields over every physical line (continuations too)
                let mut hr: BTreeMap<String, (u64, BTreeSet<String>)> = BTreeMap::new();
                let all_lines = c
                    .entries
                    .iter()
                    .flat_map(|x| {
                        std::iter::once(x.text.as_str())
                            .chain(x.continuation.iter().map(|(_, t)| t.as_str()))
                    })
                    .chain(c.preamble.iter().map(|(_, t)| t.as_str()));
                for t in all_lines {
                    for f in fltblame::logs::codes::hresult_fields(t) {
                        let en = hr.entry(format!("0x{:08x}", f.code)).or_default();
                        en.0 += 1;
                        if let Some(n) = f.name {
                            en.1.insert(n);
                        }
                    }
                }
                let want: BTreeMap<String, (u64, BTreeSet<String>)> = e["hresults"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| {
                        let names = v["names"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|n| n.as_str().unwrap().to_string())
                            .collect();
                        (k.clone(), (v["count"].as_u64().unwrap(), names))
                    })
                    .collect();
                assert_eq!(hr, want, "{name}: HRESULT fields");
                let offs: BTreeMap<String, u64> = c
                    .csi_offset_counts()
                    .into_iter()
                    .map(|(k, v)| (k, v as u64))
                    .collect();
                assert_eq!(
                    offs,
                    obj_counts(&e["csi_utc_offsets"]),
                    "{name}: CSI UTC offsets"
                );
                assert!(
                    c.entries.iter().all(|x| x.time_utc.is_some()),
                    "{name}: an entry without UTC time"
                );
                assert_eq!(
                    e["driver_ops"].as_array().unwrap().len(),
                    0,
                    "{name}: the corpus has no driver ops"
                );
            }
            Parsed::SetupApi(s) => check_setupapi(name, s, e),
            Parsed::WindowsUpdate(w) => {
                let want_layout = if e["layout"].as_str().unwrap().starts_with("converted") {
                    WuLayout::Converted
                } else {
                    WuLayout::Legacy
                };
                assert_eq!(w.layout, want_layout, "{name}: layout");
                let nconv = w
                    .lines
                    .iter()
                    .filter(|l| l.layout == WuLayout::Converted)
                    .count();
                assert_eq!(nconv, u(e, "converted_lines"), "{name}: converted lines");
                assert_eq!(
                    w.lines.len() - nconv,
                    u(e, "legacy_lines"),
                    "{name}: legacy lines"
                );
                assert_eq!(
                    st.lines - w.lines.len(),
                    u(e, "unmatched_lines"),
                    "{name}: unmatched"
                );
                assert_eq!(
                    w.lines.first().map(|l| l.stamp.as_str()),
                    e["first"].as_str(),
                    "{name}: first"
                );
                assert_eq!(
                    w.lines.last().map(|l| l.stamp.as_str()),
                    e["last"].as_str(),
                    "{name}: last"
                );
                let comps = counts(w.lines.iter().map(|l| l.component.as_str()));
                assert_eq!(
                    comps.len(),
                    u(e, "components_distinct"),
                    "{name}: distinct components"
                );
                for (k, v) in obj_counts(&e["components_top20"]) {
                    assert_eq!(comps.get(&k), Some(&v), "{name}: component {k}");
                }
                let mut codes: BTreeMap<String, u64> = BTreeMap::new();
                for l in &w.lines {
                    for c in hex8_tokens(&l.text) {
                        *codes.entry(c).or_insert(0) += 1;
                    }
                }
                for (k, v) in obj_counts(&e["codes_0x8_top20"]) {
                    assert_eq!(codes.get(&k), Some(&v), "{name}: code {k}");
                }
                if want_layout == WuLayout::Legacy {
                    assert!(
                        w.lines.iter().all(|l| l.time_utc.is_some()),
                        "{name}: legacy line without UTC"
                    );
                }
            }
            Parsed::Fltmc(f) => {
                let FltmcTable::List(rows) = &f.table else {
                    panic!("{name}: not read as a list: {:?}", f.table)
                };
                let got: Vec<Vec<String>> = rows
                    .iter()
                    .map(|r| vec![r.name.clone(), r.first.to_string(), r.second.to_string()])
                    .collect();
                let want: Vec<Vec<String>> = e["table"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| {
                        r.as_array()
                            .unwrap()
                            .iter()
                            .map(|x| x.as_str().unwrap().to_string())
                            .collect()
                    })
                    .collect();
                assert_eq!(got, want, "{name}: rows");
                assert_eq!(rows.len(), u(e, "rows"));
            }
            Parsed::EventLog(ev) => check_evtx(name, ev, e),
        }
    }
    assert!(
        on_disk.is_empty(),
        "corpus logs missing from expected.json: {on_disk:?}"
    );
}

/// Every `0x8xxxxxxx` token (the oracle's regex `0x8[0-9A-Fa-f]{7}`), lower-cased.
fn hex8_tokens(t: &str) -> Vec<String> {
    let b = t.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 10 <= b.len() {
        if b[i] == b'0'
            && b[i + 1] == b'x'
            && b[i + 2] == b'8'
            && b[i + 3..i + 10].iter().all(u8::is_ascii_hexdigit)
        {
            out.push(t[i..i + 10].to_ascii_lowercase());
            i += 10;
        } else {
            i += 1;
        }
    }
    out
}

fn check_setupapi(name: &str, s: &SetupApiLog, e: &Value) {
    assert_eq!(s.boots.len(), u(e, "boot_sessions"), "{name}: boots");
    assert_eq!(s.sections.len(), u(e, "sections"), "{name}: sections");
    let exits = counts(s.sections.iter().map(|x| {
        x.exit
            .as_ref()
            .map(|x| x.text.as_str())
            .unwrap_or("(no exit line)")
    }));
    assert_eq!(exits, obj_counts(&e["exit_status"]), "{name}: exit status");
    assert_eq!(
        counts(s.sections.iter().map(|x| x.kind.as_str())),
        obj_counts(&e["section_kinds"]),
        "{name}: section kinds"
    );
    let failed: Vec<usize> = s
        .sections
        .iter()
        .filter(|x| x.exit.as_ref().is_some_and(|x| !x.success))
        .map(|x| x.line)
        .collect();
    assert_eq!(
        failed.len(),
        e["failed_sections"].as_array().unwrap().len(),
        "{name}: failed sections"
    );
    let bang3: Vec<u64> = s
        .body
        .iter()
        .filter(|b| b.marker == Marker::Error)
        .map(|b| b.line as u64)
        .collect();
    let want3: Vec<u64> = e["bang3_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["line"].as_u64().unwrap())
        .collect();
    assert_eq!(bang3, want3, "{name}: !!! lines");
    let bang1: Vec<u64> = s
        .body
        .iter()
        .filter(|b| b.marker == Marker::Warning)
        .map(|b| b.line as u64)
        .collect();
    let want1: Vec<u64> = e["bang1_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["line"].as_u64().unwrap())
        .collect();
    assert_eq!(bang1, want1, "{name}: ! lines");
    assert_eq!(bang1.len(), u(e, "bang1_count"));
    let tags = counts(
        s.body
            .iter()
            .filter(|b| b.tag.len() == 3)
            .map(|b| b.tag.as_str()),
    );
    assert_eq!(tags, obj_counts(&e["prefixes"]), "{name}: tags");
    let start_type: Vec<usize> = s
        .body
        .iter()
        .filter(|b| b.text.contains("Failed to set Start Type"))
        .map(|b| b.line)
        .collect();
    assert_eq!(
        start_type.len(),
        e["failed_to_set_start_type_lines"]
            .as_array()
            .unwrap()
            .len()
    );
    let fmt =
        |t: Option<chrono::NaiveDateTime>| t.map(|t| t.format("%Y/%m/%d %H:%M:%S%.3f").to_string());
    assert_eq!(
        fmt(s.sections.iter().find_map(|x| x.start)).as_deref(),
        e["first_section_start"].as_str(),
        "{name}"
    );
    assert_eq!(
        fmt(s.sections.iter().rev().find_map(|x| x.start)).as_deref(),
        e["last_section_start"].as_str(),
        "{name}"
    );
    // every section closes, and every block closes with an exit value
    assert!(
        s.sections
            .iter()
            .all(|x| x.start.is_some() && x.end.is_some() && x.exit.is_some()),
        "{name}"
    );
    assert_eq!(s.unclosed_blocks, 0, "{name}: unclosed blocks");
}

fn evtx_time(s: &str) -> i64 {
    // "2018-04-30T20:49:08.9575731Z UTC" -> ns since the epoch
    let t = s.trim_end_matches(" UTC").trim_end_matches('Z');
    let (main, frac) = t.split_once('.').unwrap_or((t, "0"));
    let dt = chrono::NaiveDateTime::parse_from_str(main, "%Y-%m-%dT%H:%M:%S").unwrap();
    let frac = format!("{frac:0<9}");
    dt.and_utc().timestamp() * 1_000_000_000 + frac[..9].parse::<i64>().unwrap()
}

fn ns(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp() * 1_000_000_000 + i64::from(t.timestamp_subsec_nanos())
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    fn text(v: &Value) -> String {
        match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(", "),
            Value::Object(o) => o.get("#text").map(text).unwrap_or_default(),
        }
    }
    match v {
        Value::Object(o) if !o.contains_key("#text") => {
            for (k, x) in o {
                if k != "#attributes" {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    flatten(&key, x, out);
                }
            }
        }
        other => out.push((prefix.to_string(), text(other))),
    }
}

/// FILETIME values inside EventData: the `evtx` crate 0.15 renders all 7 fraction digits
/// (`44.4858175Z`); the oracle's 0.14 bindings rendered microseconds (`44.485817Z`). Cut to the
/// oracle's precision for the comparison (only values of exactly that shape).
fn filetime_as_oracle(v: &str) -> String {
    let b = v.as_bytes();
    let shape = b.len() == 28
        && b[4] == b'-'
        && b[10] == b'T'
        && b[19] == b'.'
        && b[27] == b'Z'
        && b[20..27].iter().all(u8::is_ascii_digit);
    if shape {
        format!("{}Z", &v[..26])
    } else {
        v.to_string()
    }
}

/// GUID values: 0.15 renders `{4d36e972-...}`, the 0.14 oracle `4D36E972-...`; compare without
/// braces, upper-cased.
fn guid_as_oracle(v: &str) -> String {
    let t = v.trim_start_matches('{').trim_end_matches('}');
    let b = t.as_bytes();
    let shape = b.len() == 36
        && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
        && b.iter()
            .enumerate()
            .all(|(i, c)| [8, 13, 18, 23].contains(&i) || c.is_ascii_hexdigit());
    if shape {
        t.to_ascii_uppercase()
    } else {
        v.to_string()
    }
}

fn check_evtx(name: &str, ev: &EventLog, e: &Value) {
    assert_eq!(ev.records.len(), u(e, "records"), "{name}: records");
    assert!(
        ev.failed.is_empty(),
        "{name}: failed records {:?}",
        ev.failed
    );
    // First and last record times. expected.py takes them by comparing the rendered strings,
    // which trims trailing zeros: in 3gstudent_Setup.evtx "08.95757Z" sorts after "08.9575731Z",
    // so its `first` is not the earliest record. Compare with the oracle records' times as
    // numbers, and check that the oracle's own figure is one of those times.
    let oracle_times: Vec<i64> = std::fs::read_to_string(logs_dir().join(format!("{name}.jsonl")))
        .unwrap()
        .lines()
        .map(|l| {
            evtx_time(
                serde_json::from_str::<Value>(l).unwrap()["timestamp"]
                    .as_str()
                    .unwrap(),
            )
        })
        .collect();
    let first = ev.records.iter().filter_map(|r| r.time_utc).map(ns).min();
    let last = ev.records.iter().filter_map(|r| r.time_utc).map(ns).max();
    assert_eq!(first, oracle_times.iter().copied().min(), "{name}: first");
    assert_eq!(last, oracle_times.iter().copied().max(), "{name}: last");
    assert!(
        oracle_times.contains(&evtx_time(e["first"].as_str().unwrap())),
        "{name}"
    );
    assert_eq!(
        last,
        Some(evtx_time(e["last"].as_str().unwrap())),
        "{name}: last"
    );
    let mut got: BTreeMap<(String, String, u64), u64> = BTreeMap::new();
    for r in &ev.records {
        *got.entry((r.channel.clone(), r.provider.clone(), u64::from(r.event_id)))
            .or_insert(0) += 1;
    }
    let want: BTreeMap<(String, String, u64), u64> = e["by_channel_provider_eventid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            let a = x.as_array().unwrap();
            (
                (
                    a[0].as_str().unwrap_or("").to_string(),
                    a[1].as_str().unwrap_or("").to_string(),
                    a[2].as_u64().unwrap(),
                ),
                a[3].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, want, "{name}: (channel, provider, id) counts");
    // field by field against the oracle's JSON rendering
    let p = logs_dir().join(format!("{name}.jsonl"));
    let oracle = std::fs::read_to_string(&p).unwrap();
    let by_id: BTreeMap<u64, &fltblame::logs::eventlog::EventRecord> =
        ev.records.iter().map(|r| (r.record_id, r)).collect();
    let mut n = 0;
    let mut mismatches = Vec::new();
    for line in oracle.lines() {
        let j: Value = serde_json::from_str(line).unwrap();
        let id = j["event_record_id"].as_u64().unwrap();
        let r = by_id
            .get(&id)
            .unwrap_or_else(|| panic!("{name}: record {id} missing"));
        assert_eq!(
            Some(ns(r.time_utc.unwrap())),
            Some(evtx_time(j["timestamp"].as_str().unwrap())),
            "{name} #{id}: time"
        );
        let mut want = Vec::new();
        if let Some(ed) = j["Event"].get("EventData").filter(|v| !v.is_null()) {
            flatten("", ed, &mut want);
        }
        if let Some(Value::Object(ud)) = j["Event"].get("UserData") {
            for (k, v) in ud {
                if k != "#attributes" {
                    flatten("", v, &mut want);
                }
            }
        }
        // evtx 0.15 leaves out some empty elements the 0.14 oracle rendered as null (`Binary`):
        // empty values carry nothing, so they are compared as absent on both sides.
        want.retain(|(_, v)| !v.is_empty());
        want.sort_by_key(|(k, _)| k.to_ascii_lowercase());
        let got: Vec<(String, String)> = r
            .fields
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.clone(), guid_as_oracle(&filetime_as_oracle(v))))
            .collect();
        let want: Vec<(String, String)> = want
            .into_iter()
            .map(|(k, v)| (k, guid_as_oracle(&v)))
            .collect();
        if got != want {
            mismatches.push(format!("#{id}: {got:?}\n   oracle {want:?}"));
        }
        n += 1;
    }
    assert!(
        mismatches.is_empty(),
        "{name}: {} records differ:\n{}",
        mismatches.len(),
        mismatches[..mismatches.len().min(8)].join("\n")
    );
    assert_eq!(n, ev.records.len(), "{name}: oracle record count");
}

#[test]
fn ansi_code_pages_decode() {
    for name in ["ttx_setupapi.dev.log", "ttx_setupapi.dev.derived-gbk.log"] {
        let log = read(name);
        let Parsed::SetupApi(s) = &log.parsed else {
            panic!("{name}")
        };
        for line in [7367, 7874, 7883, 7924, 8903, 8945, 8954] {
            let b = s
                .body
                .iter()
                .find(|b| b.line == line)
                .unwrap_or_else(|| panic!("{name}:{line}"));
            assert!(
                b.text
                    .chars()
                    .any(|c| ('\u{0400}'..='\u{04FF}').contains(&c)),
                "{name}:{line} not Cyrillic: {}",
                b.text
            );
        }
        let b = s.body.iter().find(|b| b.line == 7367).unwrap();
        assert_eq!(b.text, "Display Name  = Драйвер UMPass Microsoft", "{name}");
    }
    let log = read("alborz25_CBS.derived-utf16le.log");
    assert_eq!(log.stats().encoding, "UTF-16LE");
    assert!(log.stats().bom);
}

/// The oracle's failure lines of a CBS file: line -> kind.
fn oracle_failures(e: &Value) -> BTreeMap<usize, String> {
    e["failure_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["line"].as_u64().unwrap() as usize,
                f["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn classifier_finds_what_the_corpus_holds_and_nothing_else() {
    let exp = expected();
    let mut by_sig: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (name, e) in &exp {
        let log = read(name);
        let found = classify(&log);
        for f in &found {
            *by_sig
                .entry((name.clone(), f.signature.clone()))
                .or_insert(0) += 1;
            // The real logs hold no filter denial: none may be reported from them.
            assert!(
                !f.filter_possible,
                "{name}:{}: filter-possible finding {f:?}",
                f.line
            );
            assert_ne!(f.kind, "access_denied", "{name}:{}: {f:?}", f.line);
            assert!(
                !f.signature.ends_with("_denied"),
                "{name}:{}: {f:?}",
                f.line
            );
            assert_eq!(f.file, logs_dir().join(name).display().to_string());
        }
        match log.kind {
            LogKind::Cbs => {
                let got: BTreeMap<usize, String> = found
                    .iter()
                    .map(|f| (f.line, oracle_kind(f).to_string()))
                    .collect();
                assert_eq!(got.len(), found.len(), "{name}: two findings on one line");
                let want = oracle_failures(e);
                let missing: Vec<_> = want
                    .iter()
                    .filter(|(l, _)| !got.contains_key(l))
                    .take(10)
                    .collect();
                let extra: Vec<_> = got
                    .iter()
                    .filter(|(l, _)| !want.contains_key(l))
                    .take(10)
                    .collect();
                assert!(
                    missing.is_empty() && extra.is_empty(),
                    "{name}: missing {missing:?}, extra {extra:?}"
                );
                for (l, k) in &want {
                    assert_eq!(&got[l], k, "{name}:{l}: kind");
                }
                assert!(!e["access_denied_present"].as_bool().unwrap());
                // every finding names its time (local and UTC) and the store findings their object
                for f in &found {
                    assert!(
                        f.time_local.is_some() && f.time_utc.is_some(),
                        "{name}:{}",
                        f.line
                    );
                    if f.rule.starts_with("cbs.store.") && f.rule != "cbs.store.mark" {
                        assert!(
                            f.object.is_some(),
                            "{name}:{}: no object: {}",
                            f.line,
                            f.text
                        );
                    }
                    assert!(
                        !f.fix.is_empty() && !f.meaning.is_empty(),
                        "{name}:{}",
                        f.line
                    );
                }
            }
            LogKind::SetupApi | LogKind::WindowsUpdate | LogKind::Fltmc => {
                assert!(
                    found.is_empty(),
                    "{name}: unexpected findings {:?}",
                    &found[..found.len().min(5)]
                );
            }
            LogKind::EventLog => {
                let Parsed::EventLog(ev) = &log.parsed else {
                    unreachable!()
                };
                // exactly: Servicing 3 with a non-zero code, SCM 7000 / 7023, WindowsUpdateClient 20
                let want: BTreeSet<u64> = ev
                    .records
                    .iter()
                    .filter(|r| {
                        let code = |k: &str| r.field(k).is_some_and(|c| c != "0x0");
                        (r.provider == "Microsoft-Windows-Servicing"
                            && r.event_id == 3
                            && code("ErrorCode"))
                            || (r.provider == "Service Control Manager"
                                && matches!(r.event_id, 7000 | 7023))
                            || (r.provider == "Microsoft-Windows-WindowsUpdateClient"
                                && r.event_id == 20)
                    })
                    .map(|r| r.record_id)
                    .collect();
                let got: BTreeSet<u64> = found.iter().map(|f| f.line as u64).collect();
                assert_eq!(got, want, "{name}: evtx findings");
                for f in &found {
                    assert!(
                        f.code.is_some() && f.object.is_some() && f.time_utc.is_some(),
                        "{name}: {f:?}"
                    );
                }
            }
            LogKind::Unknown => unreachable!(),
        }
    }
    // the Setup log's two failed stagings (records 12 and 14)
    let setup = classify(&read("3gstudent_Setup.evtx"));
    let pf: Vec<&Finding> = setup
        .iter()
        .filter(|f| f.signature == "package_failed")
        .collect();
    assert_eq!(pf.iter().map(|f| f.line).collect::<Vec<_>>(), vec![12, 14]);
    assert!(pf.iter().all(|f| f.code == Some(0x800f0816)), "{pf:#?}");
    let names: Vec<&str> = pf
        .iter()
        .filter_map(|f| f.object.as_ref())
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(names, vec!["KB4093137", "KB4091461"]);
    assert!(pf
        .iter()
        .all(|f| f.detail.as_deref() == Some("intended state Staged")));
    for ((file, sig), n) in &by_sig {
        eprintln!("{file}: {sig} x{n}");
    }
}

#[test]
fn no_corpus_line_is_silently_dropped_by_the_classifier_inputs() {
    // every physical line of the text logs reaches the classifier (entries and continuations)
    for (name, e) in &expected() {
        let log = read(name);
        let n = fltblame::logs::signatures::inputs(&log).len();
        match log.kind {
            LogKind::Cbs | LogKind::WindowsUpdate => {
                assert_eq!(n, u(e, "physical_lines") - log.stats().separators, "{name}")
            }
            LogKind::SetupApi => {
                let Parsed::SetupApi(s) = &log.parsed else {
                    unreachable!()
                };
                assert_eq!(n, s.body.len() + s.sections.len(), "{name}");
            }
            LogKind::EventLog => assert_eq!(n, u(e, "records"), "{name}"),
            _ => {}
        }
    }
}
