#!/usr/bin/env bash
# Two commits' benchmarks side by side in one run: each command runs on both trees in turn
# (before, after, then after, before in the next round, so the machine's load weighs on both),
# each tree with its own code, migrations and environment.
#
#   bench/compare.sh [--rounds N] BEFORE AFTER ['COMMAND' ...] > comparison.md
#
#   bench/compare.sh 64b3a2b main                 # P1–P7: the commands listed below
#   bench/compare.sh 64b3a2b main 'python -m bench.ranking --candidates 100000 --small 20000'
#
# BEFORE and AFTER are any commits (a branch, a tag, a hash). Each is checked out once, detached,
# in $MAILLON_COMPARE_DIR (default: ../maillon-compare beside the repository), with its own
# .venv (scripts/bootstrap: a few minutes the first time); ../shared (the reference data the
# benchmarks read as ../shared/data; elsewhere: MAILLON_SHARED=DIR) is linked beside the trees. Each command is run from the
# tree's root with the tree's .venv first on PATH; its Markdown goes to stdout under a heading
# naming the round and the tree, its progress to stderr. The benchmarks create and drop their
# own databases (DATABASE_URL, REDIS_URL as usual), one at a time.
set -euo pipefail

rounds=1
if [ "${1:-}" = "--rounds" ]; then
  rounds="$2"
  shift 2
fi
if [ "$#" -lt 2 ]; then
  sed -n '2,17p' "$0" >&2
  exit 2
fi
before="$1"
after="$2"
shift 2
commands=("$@")
if [ "${#commands[@]}" -eq 0 ]; then
  commands=(
    # P1, P2
    "python -m bench.ranking --candidates 1000000 --small 100000 --samples 100"
    # P3, P7 (idle and under P4 load)
    "python -m bench.pipeline --candidates 100000 --offers 2000 --publishes 40"
    # P4, P7
    "python -m bench.intake --requests 3000 --api-processes 2 --batches 10 --import-rows 20000 --import-workers 1"
    # P5, P6
    "python -m bench.callbacks --cases 1000000"
  )
fi

root="$(git rev-parse --show-toplevel)"
base="${MAILLON_COMPARE_DIR:-$(dirname "$root")/maillon-compare}"
mkdir -p "$base"
shared="${MAILLON_SHARED:-$root/../shared}"
if [ -d "$shared" ] && [ ! -e "$base/shared" ]; then
  ln -s "$(cd "$shared" && pwd)" "$base/shared"
fi

tree_of() {
  local commit tree
  commit="$(git -C "$root" rev-parse --short "$1^{commit}")"
  tree="$base/$commit"
  if [ ! -d "$tree" ]; then
    git -C "$root" worktree add --detach "$tree" "$commit" >&2
  fi
  (cd "$tree" && source scripts/bootstrap >&2)
  echo "$tree"
}

before_tree="$(tree_of "$before")"
after_tree="$(tree_of "$after")"
label() { echo "$1 ($(git -C "$2" rev-parse --short HEAD))"; }

echo "# $(label "$before" "$before_tree") vs $(label "$after" "$after_tree") — $(date -u +%Y-%m-%d)"
echo
echo "Machine: $(uname -m), $(nproc) cores; load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)."
for command in "${commands[@]}"; do
  for ((round = 1; round <= rounds; round++)); do
    if ((round % 2)); then
      order=("$before" "$before_tree" "$after" "$after_tree")
    else
      order=("$after" "$after_tree" "$before" "$before_tree")
    fi
    for k in 0 2; do
      name="${order[$k]}"
      tree="${order[$((k + 1))]}"
      echo
      echo "## \`$command\` — round $round, $(label "$name" "$tree")"
      echo
      echo "Load average before: $(cut -d' ' -f1-3 /proc/loadavg)."
      echo
      (cd "$tree" && PATH="$tree/.venv/bin:$PATH" bash -c "$command")
    done
  done
done
