/**
 * Faults on a real 3-server cluster (cluster.ts): the stream leader SIGKILLed during appends from
 * 64 fibers and a live tail, a quorum lost, the servers restarted. Skipped when `nats-server` is
 * not on PATH.
 */
import { jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option, Ref, Schedule, Stream } from "effect"
import { JetStreamWal } from "../../src/jetstream.js"
import type { Wal } from "../../src/Wal.js"
import { collect } from "../helpers.js"
import { Event } from "../walContract.js"
import { type Cluster, natsServerAvailable, startCluster, waitForJetStream, waitForStreamLeader } from "./cluster.js"

const available = natsServerAvailable()
let cluster: Cluster
beforeAll(async () => {
  if (available) cluster = await startCluster(3)
}, 60_000)
afterAll(async () => {
  await cluster?.stop()
})

const leaderOf = (stream: string): Effect.Effect<string> =>
  Effect.promise(async () => {
    const nc = await connect({ servers: [...cluster.servers] })
    try {
      const info = await (await jetstreamManager(nc)).streams.info(stream)
      return info.cluster!.leader!
    } finally {
      await nc.close()
    }
  })

/** 64 fibers appending until `stop`; every acknowledged sequence with its payload number. */
const appenders = (
  wal: Wal<Event>,
  acked: Ref.Ref<Map<number, number>>,
  failures: Ref.Ref<Array<string>>,
  stop: Ref.Ref<boolean>
): Effect.Effect<void> =>
  Effect.forEach(
    Array.from({ length: 64 }, (_, fiber) => fiber),
    (fiber) =>
      Effect.iterate(0, {
        while: (i) => i >= 0,
        body: (i): Effect.Effect<number> =>
          Effect.flatMap(Ref.get(stop), (stopped) => {
            if (stopped) return Effect.succeed(-1)
            const n = fiber * 1_000_000 + i
            return wal.append({ n, text: `fiber ${fiber}` }).pipe(
              Effect.tap((seq) => Ref.update(acked, (map) => map.set(seq, n))),
              Effect.as(i + 1),
              Effect.catchAll((error) => Effect.as(Ref.update(failures, (list) => [...list, error._tag]), -1))
            )
          })
      }),
    { concurrency: "unbounded", discard: true }
  )

/** Waits until `count` appends are acknowledged, or until an appender failed (then the test's assertions say which). */
const atLeast = (acked: Ref.Ref<Map<number, number>>, failures: Ref.Ref<Array<string>>, count: number): Effect.Effect<void> =>
  Effect.repeat(
    Effect.zipRight(
      Effect.sleep("20 millis"),
      Effect.zipWith(Ref.get(acked), Ref.get(failures), (map, failed) => map.size >= count || failed.length > 0)
    ),
    { until: (done) => done }
  )

describe.skipIf(!available)("JetStreamWal faults on a 3-server cluster", () => {
  it.live("SIGKILL of the stream leader during appends from 64 fibers: appends go on, every acknowledged entry replays, the tail has no gap and no duplicate", () =>
    Effect.gen(function*() {
      const stream = "LEADERKILL"
      const wal = yield* JetStreamWal.make({ servers: cluster.servers, stream, schema: Event, timeout: "2 seconds" })
      const acked = yield* Ref.make(new Map<number, number>())
      const failures = yield* Ref.make<Array<string>>([])
      const tailed = yield* Ref.make<Array<number>>([])
      const tail = yield* wal.tail().pipe(Stream.runForEach((entry) => Ref.update(tailed, (seqs) => [...seqs, entry.seq])), Effect.fork)
      const stop = yield* Ref.make(false)
      const writers = yield* Effect.fork(appenders(wal, acked, failures, stop))
      yield* atLeast(acked, failures, 500)
      const leader = yield* leaderOf(stream)
      yield* Effect.promise(() => cluster.kill(leader))
      const atKill = (yield* Ref.get(acked)).size
      yield* atLeast(acked, failures, atKill + 300)
      yield* Ref.set(stop, true)
      yield* Fiber.join(writers)
      yield* wal.sync
      expect(yield* Ref.get(failures)).toEqual([])
      const all = yield* Ref.get(acked)
      const last = yield* wal.lastSequence
      expect(all.size).toBe(last)
      const replayed = yield* collect(wal.replay())
      expect(replayed.map((entry) => entry.seq)).toEqual(Array.from({ length: last }, (_, i) => i + 1))
      for (const entry of replayed) expect(entry.payload.n).toBe(all.get(entry.seq))
      yield* Effect.promise(() => cluster.restart(leader))
      // The tail catches up through the election before the WAL closes: closing a JetStreamWal
      // closes its connection, which ends a tail still reading behind the watermark with an error
      // (docs/jetstream.md), where a file WAL's tail would read on from the files.
      // A tail that failed instead ends the wait; joining it below reports its error.
      yield* Effect.repeat(Effect.zip(Ref.get(tailed), Fiber.poll(tail)), {
        until: ([seqs, exit]) => seqs.length >= last || Option.isSome(exit),
        schedule: Schedule.spaced("20 millis")
      })
      return { tail, last, tailed }
    }).pipe(
      Effect.scoped,
      Effect.flatMap(({ last, tail, tailed }) =>
        Effect.zipRight(Fiber.join(tail), Effect.map(Ref.get(tailed), (seqs) => {
          // The WAL closed: the tail ended after the last acknowledged entry, every one exactly once.
          expect(seqs).toEqual(Array.from({ length: last }, (_, i) => i + 1))
        }))
      )
    ), 60_000)

  it.live("SIGKILL of two of three: appends fail with a typed error within a bounded time, nothing acknowledged is lost; after a restart a new WAL goes on", () =>
    Effect.gen(function*() {
      const stream = "QUORUMLOSS"
      yield* Effect.promise(() => waitForJetStream(cluster.servers))
      const { acked, elapsed, tags } = yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* JetStreamWal.make({ servers: cluster.servers, stream, schema: Event, timeout: "1 second" })
        const acked = yield* Ref.make(new Map<number, number>())
        const failures = yield* Ref.make<Array<string>>([])
        const writers = yield* Effect.fork(appenders(wal, acked, failures, yield* Ref.make(false)))
        yield* atLeast(acked, failures, 300)
        const leader = yield* leaderOf(stream)
        const other = cluster.names.find((name) => name !== leader)!
        const start = Date.now()
        yield* Effect.promise(() => Promise.all([cluster.kill(leader), cluster.kill(other)]))
        yield* Fiber.join(writers)
        return { acked: yield* Ref.get(acked), elapsed: Date.now() - start, tags: yield* Ref.get(failures) }
      }))
      // Every fiber stopped on a typed error, in bounded time: a timeout, the retry budget (15 s,
      // the election window, with a 1 s timeout) and a timeout make about 17 s; 45 s is a liveness
      // bound with room for a loaded machine.
      expect(tags.length).toBe(64)
      expect(new Set(tags)).toEqual(new Set(["WalPoisonedError"]))
      expect(elapsed).toBeLessThan(45_000)
      yield* Effect.promise(() => Promise.all(cluster.names.map((name) => cluster.restart(name))))
      yield* Effect.promise(() => waitForJetStream(cluster.servers))
      // As an application would, the new writer is opened once the stream is served again.
      yield* Effect.promise(() => waitForStreamLeader(cluster.servers, stream))
      const wal = yield* JetStreamWal.make({ servers: cluster.servers, stream, schema: Event, timeout: "5 seconds" })
      const replayed = yield* collect(wal.replay())
      const bySeq = new Map(replayed.map((entry) => [entry.seq, entry.payload.n]))
      for (const [seq, n] of acked) expect(bySeq.get(seq)).toBe(n)
      expect(replayed.map((entry) => entry.seq)).toEqual(Array.from({ length: replayed.length }, (_, i) => i + 1))
      expect(yield* wal.append({ n: -1, text: "after restart" })).toBe(replayed.length + 1)
    }).pipe(Effect.scoped), 90_000)
})
