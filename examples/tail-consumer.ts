/**
 * Tail consumer: a live projection that follows the log as it is written.
 *
* Shows: one fiber appends transfers between accounts (single appends and atomic `appendAll`
 * batches), while another fiber tails the log with `wal.tail()` and keeps running balances per
 * account, printing a line every 60 entries and stopping after N entries with `Stream.take(N)`.
 * The tail only ever delivers acknowledged entries, in sequence order, with no gap and no
 * duplicate, so at the end the projection equals the balances recomputed by a full `replay`.
 *
 * Directory: a fresh temporary directory, removed at the end.
 *
 *   npx tsx examples/tail-consumer.ts
 */
import { NodeContext } from "@effect/platform-node"
import { Effect, Fiber, Schema, Stream } from "effect"
import * as NodeFs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Wal } from "../src/index.js" // in an application: from "effect-wal"

const Transfer = Schema.Struct({ from: Schema.String, to: Schema.String, amount: Schema.Number })
type Transfer = typeof Transfer.Type

const N = 300
const accounts = ["alice", "bob", "carol", "dave"]

type Balances = Map<string, number>
const apply = (balances: Balances, transfer: Transfer): Balances => {
  balances.set(transfer.from, (balances.get(transfer.from) ?? 0) - transfer.amount)
  balances.set(transfer.to, (balances.get(transfer.to) ?? 0) + transfer.amount)
  return balances
}
const show = (balances: Balances) =>
  accounts.map((account) => `${account}=${balances.get(account) ?? 0}`).join(" ")

const transfer = (i: number): Transfer => ({
  from: accounts[i % accounts.length]!,
  to: accounts[(i * 7 + 1) % accounts.length]!,
  amount: 1 + (i % 9)
})

const program = Effect.gen(function*() {
  const directory = yield* Effect.acquireRelease(
    Effect.sync(() => NodeFs.mkdtempSync(Path.join(Os.tmpdir(), "effect-wal-tail-"))),
    (directory) => Effect.sync(() => NodeFs.rmSync(directory, { recursive: true, force: true }))
  )
  const wal = yield* Wal.make({ directory, schema: Transfer })

  // The consumer: starts before anything is written and follows the log live.
  const consumer = yield* wal.tail().pipe(
    Stream.take(N),
    Stream.runFold({ balances: new Map() as Balances, seen: 0 }, (projection, entry) => {
      apply(projection.balances, entry.payload)
      projection.seen++
      if (projection.seen % 60 === 0) console.log(`projection @ seq ${entry.seq}: ${show(projection.balances)}`)
      return projection
    }),
    Effect.fork
  )

  // The producer: steps of one to five transfers, a single `append` or an atomic `appendAll`.
  let i = 0
  while (i < N) {
    const size = Math.min(1 + (i % 5), N - i)
    if (size === 1) yield* wal.append(transfer(i))
    else yield* wal.appendAll(Array.from({ length: size }, (_, k) => transfer(i + k)))
    i += size
  }

  const projection = yield* Fiber.join(consumer)
  const replayed = yield* wal.replay().pipe(Stream.runFold(new Map() as Balances, (balances, entry) => apply(balances, entry.payload)))
  console.log(`consumer stopped after ${projection.seen} entries; the log ends at seq ${yield* wal.lastSequence}`)
  console.log(`final balances: ${show(projection.balances)}`)
  console.log(`projection matches a full replay: ${show(projection.balances) === show(replayed)}`)
})

program.pipe(Effect.scoped, Effect.provide(NodeContext.layer), Effect.runPromise).catch((error) => {
  console.error(error)
  process.exit(1)
})
