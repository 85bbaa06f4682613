# Peer side of `fltblame bench`: procmon-parser reads the PML and renders Procmon's CSV rows
# (get_compatible_csv_info + csv.writer, into memory), as corpus/oracles/pml/BENCH.md mode b.
# Usage: python peer_procmon_parser.py FILE RUNS ; prints the median seconds.
import csv, io, statistics, sys, time
from procmon_parser import ProcmonLogsReader

path, runs = sys.argv[1], int(sys.argv[2])
times = []
for _ in range(runs):
    t = time.perf_counter()
    with open(path, "rb") as f:
        reader = ProcmonLogsReader(f)
        out = io.StringIO()
        w = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        for ev in reader:
            w.writerow(list(ev.get_compatible_csv_info().values()))
    times.append(time.perf_counter() - t)
print(statistics.median(times))
