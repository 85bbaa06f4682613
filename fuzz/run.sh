#!/usr/bin/env bash
# Run the fuzz targets (libFuzzer through cargo-fuzz), one at a time, each until FUZZ_RUNS
# executions or FUZZ_SECONDS seconds, whichever comes first; print a table of executions per
# target. Never run by CI's test step (a long run is done by hand, see README "Bad and big input").
#
#   FUZZ_SECONDS=N     seconds per target (default 60)
#   FUZZ_RUNS=N        stop a target after N executions (default: no limit, time only)
#   FUZZ_TARGETS="a b" targets to run (default: all)
#   FUZZ_SANITIZER=s   cargo-fuzz sanitizer (default none: the crate is safe Rust, and ASan costs
#                      3-10x executions; use address to check the dependencies' unsafe code)
#   FUZZ_TRACE_COMPARES=1  instrument comparisons too (value profile; about half the speed)
#   FUZZ_NICE=N        nice level of the fuzz process (default 19: the machine is shared)
#   FUZZ_TABLE=FILE    also append "target executions seconds result" lines to FILE
#
# Seeds: small inputs made by `gen-scale --seeds` from the samples' models and the corpus
# captures (a few KB each), plus short slices of ../shared/corpus logs and small ETL traces;
# they go to fuzz/seeds/<target> (regenerated every run, never committed). libFuzzer adds what it
# finds to fuzz/corpus/<target> (kept between runs). A crash stops the target: the reproducer is
# fuzz/artifacts/<target>/crash-*; make it a regression test in the normal suite, fix, re-run.
# The stable toolchain runs cargo-fuzz with RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
export RUST_BACKTRACE=0 # a backtrace per caught error or panic makes every execution slow
secs=${FUZZ_SECONDS:-60}
runs=${FUZZ_RUNS:--1}
san=${FUZZ_SANITIZER:-none}
nicelvl=${FUZZ_NICE:-19}
targets=${FUZZ_TARGETS:-xpress pml_detail pml_file intake etl_file log_text evtx_file}
shared=$(cd "${FLTBLAME_SHARED:-../../shared}" && pwd)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

# Seeds.
rm -rf seeds && mkdir -p seeds
[ -x ../target/release/gen-scale ] || (cd .. && cargo build --quiet --release --bin gen-scale)
../target/release/gen-scale --seeds seeds --shared "$shared" >/dev/null
mkdir -p seeds/etl_file seeds/log_text seeds/evtx_file
for f in perfview_small_relogged_32bit perfview_selfdescribing_single_event; do
  cp "$shared/corpus/etl/$f.etl" seeds/etl_file/
done
# log_text: the first byte picks the parser (0 sniff, 1 CBS, 2 setupapi, 3 WindowsUpdate,
# 4 fltmc); each corpus log's first 2000 bytes, with its own parser and with sniffing.
byte() { printf "$(printf '\\%03o' "$1")"; }
i=0
for f in "$shared"/corpus/logs/*.log ../samples/case-a-amdk8/*.log; do
  case $(basename "$f") in
    *CBS*) k=1 ;; *setupapi*) k=2 ;; *WindowsUpdate*) k=3 ;; *Filter*) k=4 ;; *) k=0 ;;
  esac
  { byte $k; head -c 2000 "$f"; } > "seeds/log_text/$i-$(basename "$f")"
  { byte $((k + 8)); head -c 2000 "$f"; } > "seeds/log_text/$i-utf8-$(basename "$f")"
  { printf '\x00'; head -c 2000 "$f"; } > "seeds/log_text/$i-sniff-$(basename "$f")"
  i=$((i + 1))
done
# evtx: one whole file (a chunk is 64 KB: smaller slices are refused before any record).
cp "$shared/corpus/logs/3gstudent_Setup.evtx" seeds/evtx_file/

# Build every target once, then run the binaries directly (no cargo between runs).
tc=--no-trace-compares
[ "${FUZZ_TRACE_COMPARES:-0}" = 1 ] && tc=
cargo fuzz build -s "$san" $tc --release 2>&1 | grep -E "^error" -A20 || true
[ -x target/x86_64-unknown-linux-gnu/release/pml_file ] || { echo "fuzz build failed" >&2; exit 2; }
bin=target/x86_64-unknown-linux-gnu/release
status=0
printf '%-11s %12s %8s %10s  %s\n' target executions seconds exec/s result
for t in $targets; do
  maxlen=4096
  [ "$t" = evtx_file ] && maxlen=70000
  [ "$t" = etl_file ] && maxlen=6144
  [ "$t" = log_text ] && maxlen=2048
  mkdir -p "corpus/$t" "artifacts/$t"
  log="artifacts/$t.log"
  start=$(date +%s.%N)
  if nice -n "$nicelvl" "$bin/$t" "corpus/$t" "seeds/$t" -max_total_time="$secs" -runs="$runs" \
      -max_len="$maxlen" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="artifacts/$t/" > "$log" 2>&1; then
    result=ok
  else
    result="CRASH (fuzz/$log, fuzz/artifacts/$t/)"; status=1
  fi
  took=$(echo "$(date +%s.%N) - $start" | bc)
  execs=$(grep -Eo "stat::number_of_executed_units: *[0-9]+" "$log" | grep -Eo "[0-9]+$" || echo 0)
  rate=$(echo "$execs / $took" | bc)
  printf '%-11s %12s %8.0f %10s  %s\n' "$t" "$execs" "$took" "$rate" "$result"
  [ -n "${FUZZ_TABLE:-}" ] && echo "$t $execs $took $result" >> "$FUZZ_TABLE"
done
exit $status
