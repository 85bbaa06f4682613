#!/usr/bin/env python3
"""Read ETL files with dissect.etl, as a user of its public API, and print what it sees.

Usage: read_etl.py FILE.etl [FILE.etl ...]

For each file, one JSON line
  {"file", "total_events", "buffers_written", "pointer_size", "start_time", "end_time",
   "perf_freq", "log_file_mode", "logger_name", "error"}
then one JSON line per event, in dissect's order (buffer by buffer):
  {"header": header class name, "guid": provider GUID, "opcode", "version", "raw_time",
   "pid", "tid", "fields": {name: value} or null, "decode_error": text or null}
"fields" are the payload fields dissect decodes with its bundled kernel MOF templates
(integers as numbers, strings cut at the first NUL, SIDs as S-1-... text); events dissect has no
template for, or cannot decode, have null fields. Used by tests/etl_writer.rs when
FLTBLAME_PYTHON points at a Python that has dissect.etl (pip install dissect.etl).
"""
import json
import sys
import uuid

from dissect.etl import ETL

KERNEL_HEADERS = {"SystemHeader", "CompactSystemHeader", "PerfinfoTraceHeader"}


def plain(value):
    if isinstance(value, bytes):
        return value.split(b"\x00", 1)[0].decode("latin-1")
    if isinstance(value, str):
        return value.split("\x00", 1)[0]
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return str(value)


def field_value(value):
    # A SID field: the TOKEN_USER-like blob, then the SID structure.
    sid = getattr(value, "sid", None)
    if sid is not None and hasattr(sid, "subAuthorities"):
        authority = int.from_bytes(bytes(sid.authority), "big")
        subs = "".join(f"-{int(x)}" for x in sid.subAuthorities)
        return f"S-{int(sid.revision)}-{authority}{subs}"
    return plain(value)


def event_line(rec):
    h = rec.header
    kind = type(h).__name__
    line = {
        "header": kind,
        "guid": str(h.provider_id) if kind in KERNEL_HEADERS else None,
        "opcode": getattr(h, "opcode", None),
        "version": getattr(h, "version", None),
        "raw_time": h.time_delta,
        "pid": getattr(h, "process_id", None),
        "tid": getattr(h, "thread_id", None),
        "fields": None,
        "decode_error": None,
    }
    try:
        ev = rec.event
        struct = ev._struct
        if struct is not None:
            # dissect.cstruct 4 keeps a structure's fields in __values__ (3 in _values).
            raw = getattr(struct, "__values__", None) or getattr(struct, "_values", {})
            line["fields"] = {name: field_value(value) for name, value in raw.items()}
    except Exception as exc:  # a template that does not fit the payload
        line["decode_error"] = f"{type(exc).__name__}: {exc}"
    return line


def main(paths):
    for path in paths:
        with open(path, "rb") as fh:
            head = {"file": path, "total_events": 0, "error": None}
            lines = []
            try:
                etl = ETL(fh)
                lh = etl.logfile_header.header
                head.update({
                    "buffers_written": lh.BuffersWritten,
                    "pointer_size": lh.PointerSize,
                    "start_time": lh.StartTime,
                    "end_time": lh.EndTime,
                    "perf_freq": lh.PerfFreq,
                    "log_file_mode": lh.LogFileMode,
                    "logger_name": plain(etl.logfile_header.logger_name),
                })
                for rec in etl:
                    lines.append(event_line(rec))
            except Exception as exc:
                head["error"] = f"{type(exc).__name__}: {exc}"
            head["total_events"] = len(lines)
            print(json.dumps(head))
            for line in lines:
                print(json.dumps(line))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
