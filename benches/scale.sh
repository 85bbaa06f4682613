#!/usr/bin/env bash
# Scale benchmark (not a test): makes 1 GB (and with SCALE_4GB=1 also 4 GB) captures in a temp
# folder with the project's writers (gen-scale), then times `info`, `export --format parquet`
# and `analyze` on each: wall time, events/s, MB/s and peak RSS (GNU time). Nothing is committed.
#
#   SCALE_FORMATS="pml etl"  formats to make (default both): a PML repeating the corpus's 64-bit
#                            capture, an ETL repeating case B's WPR kernel trace (Image, Process,
#                            FileIo, Registry, StackWalk, minifilter events; the denial only in
#                            the copy in the middle)
#   SCALE_4GB=1              also 4 GB files
#   SCALE_TMP=DIR            where to make them (default: mktemp -d; needs the space)
#
# Run from the repository root after `cargo build --release`. events/s counts the events the
# reader walks (`info --json` "events": every record of the file).
set -euo pipefail
bin=target/release
tmp=$(mktemp -d ${SCALE_TMP:+-p "$SCALE_TMP"})
trap 'rm -rf "$tmp"' EXIT
sizes="1073741824"
[ "${SCALE_4GB:-0}" = 1 ] && sizes="$sizes 4000000000"
formats=${SCALE_FORMATS:-pml etl}
echo "| file | command | wall s | events/s | MB/s | peak RSS MB |"
echo "|---|---|---|---|---|---|"
for fmt in $formats; do
  for n in $sizes; do
    f="$tmp/scale-$n.$fmt"
    "$bin/gen-scale" --format "$fmt" --out "$f" --bytes "$n" >/dev/null
    events=$("$bin/fltblame" info "$f" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')
    bytes=$(stat -c %s "$f")
    for cmd in "info" "export-parquet" "analyze"; do
      case $cmd in
        info) args=(info "$f" --json) ;;
        export-parquet) args=(export "$f" --format parquet --table events -o "$tmp/events.parquet") ;;
        analyze) args=(analyze "$f" -o "$tmp/out") ;;
      esac
      /usr/bin/time -f "%e %M" -o "$tmp/time" "$bin/fltblame" "${args[@]}" >"$tmp/stdout" 2>"$tmp/stderr" || {
        echo "| $fmt $bytes bytes | $cmd | failed: $(tail -1 "$tmp/stderr") | | | |"
        continue
      }
      read -r wall rss < "$tmp/time"
      python3 - "$fmt" "$cmd" "$wall" "$rss" "$events" "$bytes" <<'PY'
import sys
fmt, cmd, wall, rss, ev, b = sys.argv[1:]
wall = max(float(wall), 1e-3)
print(f"| {fmt} {int(b):,} bytes, {int(ev):,} events | {cmd} | {wall:.2f} | {int(ev)/wall:,.0f} | {int(b)/1e6/wall:,.1f} | {int(rss)/1024:,.0f} |")
PY
      [ "$cmd" = analyze ] && head -1 "$tmp/stdout" | sed 's/^/  analyze: /' >&2
    done
    rm -f "$f"
  done
done
