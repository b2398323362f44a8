/**
 * An event-sourced key-value store on the WAL.
 *
 * Shows: changes stored as write-sets of `Put` / `Delete` / `Append` mutations (a Schema union)
 * under `Codec.layerMsgPack`; snapshots written as checkpoint entries; state rebuilt at start-up
 * by replaying from the last checkpoint, and checked against a rebuild from the whole log; old
 * segments reclaimed once a snapshot covers them.
 *
 * Run: npx tsx examples/event-sourced-kv.ts   (uses a fresh directory under .data/ each run)
 */
import { NodeContext } from "@effect/platform-node"
import { Effect, Layer, Schema, Stream } from "effect"
import { Codec, Wal } from "../src/index.js"

const Put = Schema.TaggedStruct("Put", { key: Schema.String, value: Schema.String })
const Delete = Schema.TaggedStruct("Delete", { key: Schema.String })
const Append = Schema.TaggedStruct("Append", { key: Schema.String, suffix: Schema.String })
const Mutation = Schema.Union(Put, Delete, Append)

/** One atomic change: every mutation of a write-set is applied, or none. */
const WriteSet = Schema.TaggedStruct("WriteSet", { mutations: Schema.Array(Mutation) })
/** The whole state at a point in the log, written as a checkpoint entry. */
const Snapshot = Schema.TaggedStruct("Snapshot", { entries: Schema.Record({ key: Schema.String, value: Schema.String }) })
const Entry = Schema.Union(WriteSet, Snapshot)
type Entry = typeof Entry.Type

type State = Map<string, string>

const apply = (state: State, entry: Entry): State => {
  if (entry._tag === "Snapshot") return new Map(Object.entries(entry.entries))
  for (const mutation of entry.mutations) {
    switch (mutation._tag) {
      case "Put":
        state.set(mutation.key, mutation.value)
        break
      case "Delete":
        state.delete(mutation.key)
        break
      case "Append":
        state.set(mutation.key, (state.get(mutation.key) ?? "") + mutation.suffix)
        break
    }
  }
  return state
}

const rebuild = (entries: Stream.Stream<Wal.WalEntry<Entry>, Wal.ReadError>) =>
  Stream.runFold(entries, new Map() as State, (state, entry) => apply(state, entry.payload))

const directory = `.data/event-sourced-kv-${Date.now()}`
const options = { directory, schema: Entry, segmentBytes: 16 * 1024 }

const writeHistory = Effect.gen(function*() {
  const wal = yield* Wal.make(options)
  let state: State = new Map()
  const commit = (mutations: ReadonlyArray<typeof Mutation.Type>) =>
    Effect.tap(wal.append({ _tag: "WriteSet", mutations }), () => {
      state = apply(state, { _tag: "WriteSet", mutations })
    })
  for (let i = 0; i < 600; i++) {
    const account = `account-${i % 25}`
    yield* commit([
      { _tag: "Put", key: account, value: String(i) },
      { _tag: "Append", key: "journal", suffix: `${i % 10}` },
      ...(i % 7 === 0 ? [{ _tag: "Delete" as const, key: `account-${(i + 3) % 25}` }] : [])
    ])
    if (i % 200 === 199) {
      const seq = yield* wal.checkpoint({ _tag: "Snapshot", entries: Object.fromEntries(state) })
      // The snapshot covers everything before it: older segments can go.
      const removed = yield* wal.reclaim(seq)
      yield* Effect.log(`snapshot at ${seq} (${state.size} keys); reclaimed ${removed.length} segments`)
    }
  }
  return state
})

const program = Effect.gen(function*() {
  const expected = yield* Effect.scoped(writeHistory)
  const wal = yield* Wal.make(options)
  const fromCheckpoint = yield* rebuild(wal.replayFromCheckpoint)
  const fromStart = yield* rebuild(wal.replay())
  const same = (a: State, b: State) => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v)
  console.log(`codec: ${wal.recovery.codecId}, segments: ${wal.recovery.segments}, last sequence: ${wal.recovery.lastSequence}`)
  console.log(`last checkpoint: ${yield* wal.lastCheckpoint}`)
  console.log(`keys: ${fromCheckpoint.size}, journal length: ${fromCheckpoint.get("journal")?.length}`)
  console.log(`rebuilt from the checkpoint matches the live state: ${same(fromCheckpoint, expected)}`)
  console.log(`rebuilt from the first kept entry matches too: ${same(fromStart, expected)}`)
  if (!same(fromCheckpoint, expected) || !same(fromStart, expected)) return yield* Effect.die("state mismatch")
})

program.pipe(
  Effect.scoped,
  Effect.provide(Layer.merge(NodeContext.layer, Codec.layerMsgPack)),
  Effect.runPromise
).catch((error) => {
  console.error(error)
  process.exit(1)
})
