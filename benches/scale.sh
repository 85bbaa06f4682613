#!/usr/bin/env bash
# Scale benchmark (not a test): makes 1 GB (and with SCALE_4GB=1 also 4 GB) PML captures in a
# temp folder with the project's writer (gen-scale), then times `info`, `export --format parquet`
# and `analyze` on each: wall time, events/s, MB/s and peak RSS (GNU time). Nothing is committed.
# Run from the repository root after `cargo build --release`.
set -euo pipefail
bin=target/release
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sizes="1073741824"
[ "${SCALE_4GB:-0}" = 1 ] && sizes="$sizes 4000000000"
echo "| file | command | wall s | events/s | MB/s | peak RSS MB |"
echo "|---|---|---|---|---|---|"
for n in $sizes; do
  f="$tmp/scale-$n.pml"
  "$bin/gen-scale" --out "$f" --bytes "$n" >/dev/null
  events=$("$bin/fltblame" info "$f" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')
  bytes=$(stat -c %s "$f")
  for cmd in "info" "export-parquet" "analyze"; do
    case $cmd in
      info) args=(info "$f" --json) ;;
      export-parquet) args=(export "$f" --format parquet --table events -o "$tmp/events.parquet") ;;
      analyze) args=(analyze "$f" -o "$tmp/out") ;;
    esac
    /usr/bin/time -f "%e %M" -o "$tmp/time" "$bin/fltblame" "${args[@]}" >/dev/null
    read -r wall rss < "$tmp/time"
    python3 - "$f" "$cmd" "$wall" "$rss" "$events" "$bytes" <<'PY'
import sys
f, cmd, wall, rss, ev, b = sys.argv[1:]
wall = max(float(wall), 1e-3)
print(f"| {b} bytes | {cmd} | {wall:.2f} | {int(ev)/wall:,.0f} | {int(b)/1e6/wall:,.1f} | {int(rss)/1024:,.0f} |")
PY
  done
done
