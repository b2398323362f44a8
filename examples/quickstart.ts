/**
 * Quickstart (the `npm start` demo): a write-ahead log of typed events in a local directory.
 *
 * Shows: a Schema for the entries, `Wal.make`, 100 concurrent appends and one atomic `appendAll`,
 * closing, reopening (and what recovery found), replaying with `Stream.runForEach`, and tailing
 * live entries as they are appended.
 *
 * Directory: `.data/quickstart` in the repository (gitignored), or the directory given as the
 * first argument. It is kept between runs, so a second run first replays the first run's entries
 * too, and sequence numbers go on where they stopped. Delete the directory to start over.
 *
 *   npx tsx examples/quickstart.ts [directory]
 */
import { NodePath } from "@effect/platform-node"
import { Effect, Fiber, Option, Schema, Stream } from "effect"
import { fileURLToPath } from "node:url"
import { Wal } from "../src/index.js" // in an application: from "effect-wal"
import { NodeFastFileSystem } from "../src/node.js" // in an application: from "effect-wal/node"

// The typed shape of an entry. The default JSON codec turns its encoded form into bytes.
const Event = Schema.Struct({
  account: Schema.String,
  amount: Schema.Number
})
type Event = typeof Event.Type

const directory = process.argv[2] ?? fileURLToPath(new URL("../.data/quickstart", import.meta.url))

const deposit = (i: number): Event => ({ account: `acct-${i % 5}`, amount: 10 + i })

const program = Effect.gen(function*() {
  // 1. Open (or create) the WAL, append from many fibers, close (the scope ends).
  yield* Effect.scoped(Effect.gen(function*() {
    const wal = yield* Wal.make({ directory, schema: Event })
    // 100 appends from 100 fibers: they share fsyncs (group commit), and each returns its
    // sequence number once its entry is durable (the default mode, `Durability.strict`).
    const seqs = yield* Effect.forEach(Array.from({ length: 100 }, (_, i) => i), (i) => wal.append(deposit(i)), {
      concurrency: "unbounded"
    })
    // An atomic batch: after a crash, either all three entries are in the log or none is.
    const batch = yield* wal.appendAll([
      { account: "acct-0", amount: -30 },
      { account: "acct-1", amount: 15 },
      { account: "acct-2", amount: 15 }
    ])
    console.log(`appended 100 entries (seq ${Math.min(...seqs)}..${Math.max(...seqs)}) and a batch of 3 (seq ${batch.join(", ")})`)
  }))
  console.log("closed")

  // 2. Reopen: recovery scans and verifies the log before the first append.
  yield* Effect.scoped(Effect.gen(function*() {
    const wal = yield* Wal.make({ directory, schema: Event })
    const report = wal.recovery
    console.log(
      `recovery: created=${report.created} segments=${report.segments} lastSequence=${report.lastSequence} ` +
        `tornTail=${Option.isSome(report.tornTail) ? `${report.tornTail.value.bytes} bytes cut` : "none"} ` +
        `elapsed=${report.elapsedMillis} ms`
    )

    // 3. Replay every entry from the start to rebuild state.
    const balances = new Map<string, number>()
    let replayed = 0
    yield* wal.replay().pipe(Stream.runForEach((entry) =>
      Effect.sync(() => {
        replayed++
        balances.set(entry.payload.account, (balances.get(entry.payload.account) ?? 0) + entry.payload.amount)
      })
    ))
    const summary = [...balances].sort(([a], [b]) => a.localeCompare(b)).map(([account, total]) => `${account}=${total}`)
    console.log(`replayed ${replayed} entries: ${summary.join(" ")}`)

    // 4. Tail: follow entries as they are acknowledged, starting after the last one.
    const from = (yield* wal.lastSequence) + 1
    const tail = yield* wal.tail({ from }).pipe(
      Stream.take(3),
      Stream.runForEach((entry) => Effect.sync(() => console.log(`tail: seq ${entry.seq} ${entry.payload.account} ${entry.payload.amount}`))),
      Effect.fork
    )
    for (const amount of [1, 2, 3]) yield* wal.append({ account: "acct-live", amount })
    yield* Fiber.join(tail)
    console.log(`done: the log in ${directory} now ends at seq ${yield* wal.lastSequence}`)
  }))
})

// NodeFastFileSystem: Node's FileSystem with synchronous writes and fsyncs on open files. It also
// runs under Bun (`npx bun examples/quickstart.ts`), whose own FileSystem misplaces positioned
// writes (see test/bun/smoke.ts).
program.pipe(Effect.provide([NodeFastFileSystem.layer, NodePath.layer]), Effect.runPromise).catch((error) => {
  console.error(error)
  process.exit(1)
})
