#!/usr/bin/env python3
"""Read PML files with procmon-parser, as a user of its public API, and print what it sees.

Usage: read_pml.py FILE.pml [FILE.pml ...]

For each file, one JSON line {"file": path, "event_count": n}, then one JSON line per event:
{"process_name", "pid", "tid", "operation", "path", "result", "detail"}. Operation, Path and
Detail are the Procmon CSV texts procmon-parser renders (get_compatible_csv_info); result is the
raw NTSTATUS number. Used by tests/pml_writer.rs when FLTBLAME_PYTHON points at a Python that has
procmon-parser (python3 -m venv .venv && .venv/bin/pip install procmon-parser).
"""
import json
import sys

from procmon_parser import ProcmonLogsReader


def main(paths):
    for path in paths:
        with open(path, "rb") as f:
            reader = ProcmonLogsReader(f, should_get_stacktrace=False)
            events = list(reader)
            print(json.dumps({"file": path, "event_count": len(events)}))
            for event in events:
                csv = event.get_compatible_csv_info()
                print(json.dumps({
                    "process_name": event.process.process_name,
                    "pid": event.process.pid,
                    "tid": event.tid,
                    "operation": csv["Operation"],
                    "path": csv["Path"],
                    "result": event.result,
                    "detail": csv["Detail"],
                }))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
