/**
 * JetStream: the same `Wal` contract on a replicated NATS JetStream stream.
 *
 * Shows: `JetStreamWal.make` on a running NATS server, appends from many fibers (packed into
 * messages while earlier ones are in flight), an atomic `appendAll`, a replay from the middle of
 * the log (found without reading the stream from the start), and a tail. When no server is
 * reachable it prints what to start and exits with status 1.
 *
 * Server: `nats-server -js` (one server, the stream gets 1 replica), or a cluster and its URLs:
 *
 *   nats-server -js -sd /tmp/nats &
 *   npx tsx examples/jetstream.ts [nats://127.0.0.1:4222,...] [replicas]
 */
import { Effect, Schema, Stream } from "effect"
import { JetStreamWal } from "../src/jetstream.js" // in an application: from "effect-wal/jetstream"

const Event = Schema.Struct({ account: Schema.String, amount: Schema.Number })

const servers = (process.argv[2] ?? "nats://127.0.0.1:4222").split(",")
const replicas = Number(process.argv[3] ?? 1)
const stream = `EXAMPLE_${Date.now()}`

const program = Effect.gen(function*() {
  const wal = yield* JetStreamWal.make({ servers, stream, replicas, schema: Event })
  const seqs = yield* Effect.forEach(
    Array.from({ length: 100 }, (_, i) => i),
    (i) => wal.append({ account: `acct-${i % 4}`, amount: i }),
    { concurrency: 32 }
  )
  console.log(`appended 100 entries from 32 fibers: seq ${Math.min(...seqs)}..${Math.max(...seqs)}`)
  const batch = yield* wal.appendAll([{ account: "a", amount: -1 }, { account: "b", amount: 1 }])
  console.log(`atomic batch (one message): seq ${batch.join(", ")}`)
  const fromMiddle = yield* wal.replay({ from: 95 }).pipe(Stream.runCollect)
  console.log(`replay from 95: ${fromMiddle.length} entries, last seq ${[...fromMiddle].at(-1)?.seq}`)
  const tailed = yield* wal.tail({ from: 101 }).pipe(Stream.take(3), Stream.runCollect, Effect.fork)
  yield* wal.append({ account: "live", amount: 3 })
  console.log(`tail from 101: seq ${[...(yield* tailed.await.pipe(Effect.flatten))].map((entry) => entry.seq).join(", ")}`)
  console.log(`done: stream ${stream} ends at seq ${yield* wal.lastSequence}`)
})

Effect.runPromiseExit(Effect.scoped(program)).then((exit) => {
  if (exit._tag === "Success") return
  const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (error?._tag === "WalIOError" && error.operation === "connect") {
    console.error(`no NATS server with JetStream at ${servers.join(", ")}.`)
    console.error("Start one with `nats-server -js -sd /tmp/nats` (Debian: apt-get install nats-server), or pass")
    console.error("the URLs of a running cluster: npx tsx examples/jetstream.ts nats://host:4222,... 3")
  } else {
    console.error(String(exit.cause))
  }
  process.exitCode = 1
})
