#!/usr/bin/env bash
# Run the test suite N times in a row and report each run, so a test that fails one run in several shows up.
#   bash scripts/repeat_tests.sh 3                 # `make test`'s pytest, 3 times, in this checkout
#   bash scripts/repeat_tests.sh --fresh-clone 3   # 3 times `git clone` of HEAD + `make test` (.venv and all), as CI
# Every run goes on whatever the one before it did; the summary lists each run's last pytest line and wall time,
# and the exit status is non-zero if any run failed. Logs: $REPEAT_DIR (default: a new temp folder).
set -uo pipefail
cd "$(dirname "$0")/.."
fresh=0
if [ "${1:-}" = "--fresh-clone" ]; then fresh=1; shift; fi
n="${1:-3}"
out="${REPEAT_DIR:-$(mktemp -d -t genlab-repeat-XXXX)}"
mkdir -p "$out"
failed=0
for i in $(seq 1 "$n"); do
  start=$(date +%s)
  if [ "$fresh" = 1 ]; then
    clone="$out/clone-$i"
    rm -rf "$clone"
    git clone -q "$PWD" "$clone"
    (cd "$clone" && make test) > "$out/run-$i.log" 2>&1
  else
    make test > "$out/run-$i.log" 2>&1
  fi
  rc=$?
  secs=$(( $(date +%s) - start ))
  result=$(grep -E "^=+ .*(passed|failed|error).* in [0-9.]+s" "$out/run-$i.log" | tail -1)
  echo "run $i of $n: exit $rc, ${secs} s wall: ${result:-no pytest summary (see $out/run-$i.log)}" | tee -a "$out/summary.txt"
  [ "$rc" = 0 ] || failed=$((failed + 1))
  [ "$fresh" = 1 ] && rm -rf "$clone/.venv"
done
echo "$((n - failed)) of $n runs green; logs in $out" | tee -a "$out/summary.txt"
[ "$failed" = 0 ]
