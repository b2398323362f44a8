#!/usr/bin/env bash
# `npm test`: the typecheck of every file (src, test, examples, bench) runs beside vitest, not
# before it. vitest's globalSetup builds dist/ for the real-process tests when src/ is newer, so
# the two tsc runs share the 2 cores, and an unchanged src/ is not built again. The typecheck's
# output is printed after vitest's summary; the command fails when either fails.
set -u
cd "$(dirname "$0")/.."
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# Incremental: a run after a change checks what the change touched (about 5 s instead of 12 s).
npx tsc -p tsconfig.json --noEmit --incremental --tsBuildInfoFile node_modules/.cache/effect-wal-typecheck.tsbuildinfo > "$log" 2>&1 &
typecheck=$!
npx vitest run --coverage "$@"
tests=$?
if wait "$typecheck"; then
  echo "typecheck: ok"
else
  cat "$log"
  echo "typecheck: FAILED (npm run typecheck)"
  exit 1
fi
exit "$tests"
