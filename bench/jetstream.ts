/**
 * JetStream: W1 (one producer, each append awaited) and W2 (64 long-lived fibers) through
 * `JetStreamWal`, on a single server (R1) and a 3-server cluster (R3) started on 127.0.0.1, beside
 * the plain NATS client publishing the same 256 B payloads with the same concurrency (`js.publish`,
 * each awaited), in the same process, alternating with the WAL: `nats` publishes bare messages;
 * `nats, same publishes` (the floor) publishes what the WAL publishes for one entry a message: its
 * batch headers, a message id, and the expectations that fence the writer. Both connect as the WAL
 * does (`noAsyncTraces`). Figures are appends per second; the ratio columns are against `nats` and
 * against the floor of the same run. `npm run bench` runs it compiled when nats-server is on PATH.
 *
 * Before the measured runs each of the three publishes `--warmup` messages: a process needs a few
 * thousand publishes before the client's and the WAL's code run at their steady speed (in runs of
 * 3,000 one-at-a-time appends on one server, the first two ran at 0.4-0.75x of the later ones),
 * and the runs compare steady speeds.
 *
 *   npx tsx bench/jetstream.ts [--runs 3] [--w1 2000] [--w2 10000] [--warmup 2000]
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect, headers } from "@nats-io/transport-node"
import { Effect } from "effect"
import * as Message from "../src/internal/jetstream/message.js"
import { JetStreamWal } from "../src/jetstream.js"
import { type Cluster, startCluster } from "../test/jetstream/cluster.js"
import { argument, payloads, Report, seconds } from "./lib/harness.js"

const RUNS = argument("runs", 3)
const W1 = argument("w1", 2000)
const W2 = argument("w2", 10_000)
const WARMUP = argument("warmup", 2000)
const FIBERS = 64
const data = payloads(256)

let streams = 0

/**
 * Appends per second of the plain client: `count` publishes from `producers` loops, each awaited.
 * With `same`, each publish is the WAL's: its five batch headers (one entry a message), a message
 * id, and the expected last sequence and last message id of the previous publish (the publishes
 * leave in order on one connection, so the chain holds with many in flight).
 */
const floor = async (cluster: Cluster, replicas: number, count: number, producers: number, same: boolean): Promise<number> => {
  // The same client settings as the WAL (src/internal/jetstream/client.ts): no async stack traces.
  const nc = await connect({ servers: [...cluster.servers], noAsyncTraces: true })
  const name = `FLOOR${++streams}`
  const jsm = await jetstreamManager(nc)
  await jsm.streams.add({ name, subjects: [name], num_replicas: replicas })
  const js = jetstream(nc)
  const publishSame = (sequence: number, payload: Uint8Array) => {
    const h = headers()
    for (const [key, value] of Message.encodeHeaders({ firstSequence: sequence, count: 1, timestamp: Date.now(), lastCheckpoint: 0, codec: "bytes" })) {
      h.set(key, value)
    }
    return js.publish(name, payload, {
      headers: h,
      msgID: `floor.${sequence}`,
      expect: sequence === 1 ? { lastSequence: 0 } : { lastSequence: sequence - 1, lastMsgID: `floor.${sequence - 1}` }
    })
  }
  let next = 0
  const start = performance.now()
  await Promise.all(Array.from({ length: producers }, async () => {
    while (next < count) {
      const payload = data[next++ % data.length]!
      await (same ? publishSame(next, payload) : js.publish(name, payload))
    }
  }))
  const rate = count / seconds(start)
  await jsm.streams.delete(name)
  await nc.close()
  return rate
}

/** Appends per second of the WAL, same shape. */
const wal = (cluster: Cluster, replicas: number, count: number, producers: number): Promise<number> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const log = yield* JetStreamWal.make({ servers: cluster.servers, stream: `WAL${++streams}`, replicas })
    let next = 0
    const start = performance.now()
    yield* Effect.forEach(
      Array.from({ length: producers }, (_, i) => i),
      () => Effect.whileLoop({ while: () => next < count, body: () => log.append(data[next++ % data.length]!), step: () => {} }),
      { concurrency: "unbounded", discard: true }
    )
    return count / seconds(start)
  })))

const main = async () => {
  for (const replicas of [1, 3]) {
    const cluster = await startCluster(replicas)
    try {
      for (const [workload, count, producers] of [["W1", W1, 1], ["W2", W2, FIBERS]] as const) {
        const report = new Report(
          `${workload} R${replicas}`,
          `${count} x 256 B appends, ${producers === 1 ? "one at a time" : `${producers} fibers`}, ${replicas === 1 ? "1 server" : "3 servers"}`,
          "appends/s",
          true,
          "nats",
          "nats, same publishes"
        )
        await floor(cluster, replicas, WARMUP, producers, false)
        await floor(cluster, replicas, WARMUP, producers, true)
        await wal(cluster, replicas, WARMUP, producers)
        for (let run = 0; run < RUNS; run++) {
          const nats = await floor(cluster, replicas, count, producers, false)
          const same = await floor(cluster, replicas, count, producers, true)
          const effectWal = await wal(cluster, replicas, count, producers)
          report.run({ nats, "nats, same publishes": same, "JetStreamWal": effectWal })
        }
        report.print()
      }
    } finally {
      await cluster.stop()
    }
  }
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
