#!/usr/bin/env bash
# Run every fuzz target for a bounded time (default 60 s each; FUZZ_SECONDS=N to change) with
# libFuzzer through cargo-fuzz, from seeds cut from ../shared/corpus and the samples (made here,
# never committed). The stable toolchain runs it with RUSTC_BOOTSTRAP=1. Prints executions per
# target; exits 1 when a target crashed (the reproducer is under fuzz/artifacts/<target>/:
# turn it into a regression test).
set -euo pipefail
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
secs=${FUZZ_SECONDS:-60}
shared=${FLTBLAME_SHARED:-../../shared}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
seed() { mkdir -p "corpus/$1"; }
# PML: the committed sample (128 KB) and the head of a corpus capture.
seed pml_file; cp ../samples/case-a-amdk8/capture.pml corpus/pml_file/sample.pml
head -c 65536 "$shared/corpus/pml/CompressedLogFileUTC64Process.pml" > corpus/pml_file/head64.pml
seed pml_detail; printf '\x01\x02\x04\x00\x10AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' > corpus/pml_detail/reg.bin
printf '\x00\x03\x14\x00\x40AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' > corpus/pml_detail/fs.bin
# ETL: the small corpus traces, and a compressed buffer of the benchmark file for Xpress.
seed etl_file
for f in perfview_small_relogged_32bit perfview_selfdescribing_single_event perfview_primitive_types etlparser_lxcore_kernel; do
  cp "$shared/corpus/etl/$f.etl" corpus/etl_file/
done
seed xpress; dd if="$shared/corpus/etl/perfview_net452_x64.etl" of=corpus/xpress/buf.bin bs=1 skip=$((512 + 0x48)) count=4096 status=none
# Logs: the first 8 KB of each corpus text log; the smallest event log.
seed log_text
for f in "$shared"/corpus/logs/*.log; do head -c 8192 "$f" > "corpus/log_text/$(basename "$f")"; done
seed evtx_file; cp "$shared/corpus/logs/3gstudent_Setup.evtx" corpus/evtx_file/
status=0
for t in pml_file pml_detail etl_file xpress log_text evtx_file; do
  log="artifacts/$t.log"; mkdir -p artifacts
  if cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -max_len=262144 -rss_limit_mb=4096 > "$log" 2>&1; then
    execs=$(grep -Eo "Done [0-9]+ runs" "$log" | grep -Eo "[0-9]+" || echo "?")
    echo "$t: ok, $execs executions in ${secs}s"
  else
    echo "$t: CRASH (see fuzz/$log and fuzz/artifacts/$t/)"; status=1
  fi
done
exit $status
