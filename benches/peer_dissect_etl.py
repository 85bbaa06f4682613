# Peer side of the ETL benchmark (`fltblame::etl::bench::run`): dissect.etl walks every event of
# the file and reads its header fields (size, opcode, raw timestamp, provider GUID), exactly the
# middle mode ("iterate_plus_header_fields") of shared/corpus/oracles/etl/BENCH.md. Like BENCH.md,
# only the `for rec in etl` loop is timed.
# Usage: python peer_dissect_etl.py FILE RUNS ; prints one JSON object:
#   {"median_s": ..., "runs_s": [...], "events": N, "dissect_etl": "3.14"}
import json
import statistics
import sys
import time
from importlib import metadata

from dissect.etl import ETL

path, runs = sys.argv[1], max(1, int(sys.argv[2]))
times = []
events = 0
for _ in range(runs):
    with open(path, "rb") as fh:
        etl = ETL(fh)
        t0 = time.perf_counter()
        n = 0
        for rec in etl:
            n += 1
            h = rec.header
            _ = (h.size, getattr(h, "opcode", None), h.time_delta)
            _ = h.provider_id
        times.append(time.perf_counter() - t0)
        events = n
print(json.dumps({"median_s": statistics.median(times), "runs_s": times, "events": events,
                  "dissect_etl": metadata.version("dissect.etl")}))
