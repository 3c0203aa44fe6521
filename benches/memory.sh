#!/usr/bin/env bash
# Peak memory and wall time of one whole CLI run over the corpus
# (`fix --dry-run`, output discarded). Usage: benches/memory.sh [CORPUS]
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-../shared/corpus}
cargo build --release --quiet
if [ -x /usr/bin/time ]; then
  /usr/bin/time -f 'wall %e s, peak RSS %M KiB' target/release/slimfile fix --dry-run "$corpus" >/dev/null 2>/tmp/slimfile-mem.err || true
  tail -n 1 /tmp/slimfile-mem.err
else
  start=$(date +%s%N)
  target/release/slimfile fix --dry-run "$corpus" >/dev/null 2>&1 || true
  echo "wall $(( ($(date +%s%N) - start) / 1000000 )) ms (install GNU time for peak memory)"
fi
