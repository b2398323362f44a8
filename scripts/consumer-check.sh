#!/usr/bin/env bash
# Installs the packed library into two fresh applications, one on the oldest Effect versions
# effect-wal claims (effect 3.21, @effect/platform 0.96) and one on the newest (3.22 / 0.97), and
# checks for each: the install succeeds without ERESOLVE, `npm ls effect` shows one copy, no
# install script of effect-wal's own dependencies runs, `tsc` is clean, and a small program that
# opens a WAL, appends, reopens and replays runs. Usage: scripts/consumer-check.sh (CI runs it: .ci/run)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/effect-wal-consumer-XXXXXX")"
trap 'rm -rf "$work"' EXIT

(cd "$root" && npm run --silent build >/dev/null && npm pack --silent --pack-destination "$work" >/dev/null)
tarball="$(ls "$work"/effect-wal-*.tgz)"

app() {
  local name="$1" effect="$2" platform="$3" platformNode="$4"
  local dir="$work/$name"
  mkdir -p "$dir/src"
  cat >"$dir/package.json" <<JSON
{ "name": "$name", "private": true, "type": "module",
  "dependencies": { "effect": "$effect", "@effect/platform": "$platform", "@effect/platform-node": "$platformNode" },
  "devDependencies": { "typescript": "~5.9.3", "@types/node": "^20.19.0", "@types/ws": "^8.5.0" } }
JSON
  cat >"$dir/tsconfig.json" <<'JSON'
{ "compilerOptions": { "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext", "strict": true,
  "exactOptionalPropertyTypes": true, "skipLibCheck": false, "types": ["node"], "outDir": "dist" }, "include": ["src"] }
JSON
  cat >"$dir/src/main.ts" <<'TS'
import { NodeContext } from "@effect/platform-node"
import { Config, ConfigProvider, Context, Effect, Layer, Schema, Stream } from "effect"
import { Durability, Wal, WalError } from "effect-wal"
import { NodeFastFileSystem } from "effect-wal/node"

const Event = Schema.Struct({ n: Schema.Number })
class Events extends Context.Tag("Events")<Events, Wal.Wal<typeof Event.Type>>() {}

const EventsLive = Wal.layerConfig(Events, {
  schema: Event,
  directory: Config.string("WAL_DIR"),
  durability: Durability.config.pipe(Config.nested("durability"))
})

const program = Effect.gen(function*() {
  const wal = yield* Events
  yield* wal.append({ n: Number(wal.recovery.lastSequence) + 1 })
  const n = yield* Stream.runCount(wal.replay())
  yield* Effect.log(`entries: ${n}`)
}).pipe(
  Effect.catchTags({ WalCorruptionError: (e: WalError.WalCorruptionError) => Effect.die(e) })
)

const dir = process.argv[2] ?? "wal-data"
const run = (times: number) =>
  Effect.runPromise(
    Effect.repeatN(Effect.scoped(Layer.build(EventsLive).pipe(Effect.flatMap((ctx) => Effect.provide(program, ctx)))), times - 1).pipe(
      Effect.provide([NodeContext.layer, NodeFastFileSystem.layer]),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["WAL_DIR", dir]])))
    )
  )
await run(2)
TS
  echo "== $name: effect $effect, @effect/platform $platform, @effect/platform-node $platformNode"
  (cd "$dir" && npm install --no-audit --no-fund >install.log 2>&1 && npm install --no-audit --no-fund "$tarball" >>install.log 2>&1) || {
    cat "$dir/install.log"; echo "FAIL: install"; exit 1; }
  if grep -q "ERESOLVE" "$dir/install.log"; then cat "$dir/install.log"; echo "FAIL: ERESOLVE"; exit 1; fi
  # Install scripts run (or are reported) for packages in the tree; none may come through effect-wal.
  local own
  own="$(cd "$dir" && npm ls --all --parseable --omit=dev effect-wal 2>/dev/null | grep -c "node_modules/effect-wal/node_modules" || true)"
  if [ "$own" != "0" ]; then echo "FAIL: effect-wal installed dependencies of its own"; exit 1; fi
  (cd "$dir" && npm ls effect)
  local copies
  copies="$(cd "$dir" && npm ls effect --all --parseable | sort -u | wc -l)"
  if [ "$copies" != "1" ]; then echo "FAIL: $copies copies of effect"; exit 1; fi
  (cd "$dir" && npx tsc -p tsconfig.json) || { echo "FAIL: tsc"; exit 1; }
  (cd "$dir" && node dist/main.js "$dir/wal-data" 2>&1 | grep -q "entries: 2") || { echo "FAIL: run"; exit 1; }
  echo "ok: $name (one effect, tsc clean, opened, appended, reopened and replayed)"
}

# The two applications install and compile side by side (the installs wait on the network, tsc
# takes a core each); each one's output is printed whole when both are done.
app oldest "3.21.5" "0.96.3" "0.107.0" >"$work/oldest.out" 2>&1 &
oldest=$!
app newest "^3.22.4" "^0.97.2" "^0.108.2" >"$work/newest.out" 2>&1 &
newest=$!
status=0
wait "$oldest" || status=1
wait "$newest" || status=1
cat "$work/oldest.out" "$work/newest.out"
exit "$status"
