/**
 * The JetStream WAL against a real 3-server cluster on 127.0.0.1 (cluster.ts): the `Wal<A>`
 * contract suite, configuration, and the checks of what a stream may hold. Skipped when
 * `nats-server` is not on PATH.
 */
import { jetstreamManager } from "@nats-io/jetstream"
import { connect, headers } from "@nats-io/transport-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Chunk, Config, ConfigProvider, Context, Effect, Exit, Fiber, Scope, Stream } from "effect"
import { Codec, type Wal } from "../../src/index.js"
import { JetStreamWal } from "../../src/jetstream.js"
import { collect } from "../helpers.js"
import { Event, walContract } from "../walContract.js"
import { type Cluster, natsServerAvailable, startCluster } from "./cluster.js"

const available = natsServerAvailable()
let cluster: Cluster
beforeAll(async () => {
  if (available) cluster = await startCluster(3)
}, 60_000)
afterAll(async () => {
  await cluster?.stop()
})

let counter = 0
const fresh = () => `T${++counter}x${Date.now().toString(36)}`

const open = (stream: string) =>
  JetStreamWal.make({ servers: cluster.servers, stream, schema: Event, timeout: "2 seconds" })

describe.skipIf(!available)("JetStreamWal", () => {
  walContract("JetStream, 3 servers, R3", { open, run: (effect) => effect, tooLarge: 2 * 1024 * 1024 })

  it.live("layerConfig reads every option from Config; a refused value is a ConfigError at its path", () =>
    Effect.gen(function*() {
      class Events extends Context.Tag("Events")<Events, Wal.Wal<Event>>() {}
      const stream = fresh()
      const options = {
        schema: Event,
        servers: Config.array(Config.string(), "SERVERS"),
        stream: Config.string("STREAM"),
        subject: Config.string("SUBJECT"),
        replicas: Config.integer("REPLICAS"),
        timeout: Config.duration("TIMEOUT")
      }
      const provider = (replicas: string) =>
        ConfigProvider.fromMap(
          new Map([
            ["SERVERS", cluster.servers.join(",")],
            ["STREAM", stream],
            ["SUBJECT", `wal.${stream}`],
            ["REPLICAS", replicas],
            ["TIMEOUT", "2 seconds"]
          ])
        )
      const seq = yield* Effect.flatMap(Events, (wal) => wal.append({ n: 1, text: "one" })).pipe(
        Effect.provide(JetStreamWal.layerConfig(Events, options)),
        Effect.withConfigProvider(provider("3"))
      )
      expect(seq).toBe(1)
      const refused = yield* Effect.flip(Effect.scoped(JetStreamWal.makeConfig(options)).pipe(Effect.withConfigProvider(provider("7"))))
      expect(refused).toMatchObject({ _op: "InvalidData", path: ["replicas"] })
      expect(String(refused)).toContain("replicas")
      const missing = yield* Effect.flip(
        Effect.scoped(JetStreamWal.makeConfig({ servers: Config.string("NONE"), stream: Config.string("STREAM") })).pipe(
          Effect.withConfigProvider(provider("3"))
        )
      )
      expect(missing).toMatchObject({ _op: "MissingData" })
      const reopened = yield* Effect.scoped(
        Effect.flatMap(JetStreamWal.makeConfig({ ...options, replicas: Config.succeed(1) }), () => Effect.void)
      ).pipe(Effect.withConfigProvider(provider("3")), Effect.flip)
      expect(String(reopened)).toContain("has 3 replicas, not 1")
    }), 30_000)

  it.live("options are checked before connecting", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<[JetStreamWal.Options, string]> = [
        [{ servers: [], stream: "S" }, "servers"],
        [{ servers: "nats://127.0.0.1:1", stream: "a.b" }, "stream"],
        [{ servers: "nats://127.0.0.1:1", stream: "S", subject: "a.*" }, "subject"],
        [{ servers: "nats://127.0.0.1:1", stream: "S", replicas: 0 }, "replicas"],
        [{ servers: "nats://127.0.0.1:1", stream: "S", timeout: 0 }, "timeout"]
      ]
      for (const [options, field] of cases) {
        const error = yield* Effect.flip(Effect.scoped(JetStreamWal.make(options)))
        expect(error).toMatchObject({ _tag: "WalConfigError", field })
      }
      const unreachable = yield* Effect.flip(Effect.scoped(JetStreamWal.make({ servers: "nats://127.0.0.1:1", stream: "S" })))
      expect(unreachable).toMatchObject({ _tag: "WalIOError", operation: "connect" })
    }))

  it.live("a stream another publisher writes to, or written under another codec, is refused with WalFormatError", () =>
    Effect.gen(function*() {
      const foreign = fresh()
      const other = fresh()
      yield* Effect.scoped(Effect.flatMap(open(other), (wal) => wal.append({ n: 1, text: "json" })))
      yield* Effect.promise(async () => {
        const nc = await connect({ servers: [...cluster.servers] })
        const jsm = await jetstreamManager(nc)
        await jsm.streams.add({ name: foreign, subjects: [foreign], num_replicas: 3 })
        const h = headers()
        h.set("Other", "1")
        await nc.request(foreign, new Uint8Array([1]), { timeout: 2000, headers: h })
        await nc.close()
      })
      expect(yield* Effect.flip(Effect.scoped(open(foreign)))).toMatchObject({ _tag: "WalFormatError", problem: "foreign-file" })
      const mismatch = yield* Effect.flip(Effect.scoped(open(other)).pipe(Effect.provide(Codec.layerMsgPack)))
      expect(mismatch).toMatchObject({ _tag: "WalFormatError", problem: "codec-mismatch" })
      const subject = yield* Effect.flip(
        Effect.scoped(JetStreamWal.make({ servers: cluster.servers, stream: other, subject: "elsewhere" }))
      )
      expect(subject).toMatchObject({ _tag: "WalConfigError", field: "subject" })
    }), 30_000)

  it.live("raw payloads, pressure, segments, reclaim, streamBytes, sync and isFenced", () =>
    Effect.gen(function*() {
      const stream = fresh()
      const wal = yield* JetStreamWal.make({ servers: cluster.servers, stream, replicas: 1 })
      expect(wal.recovery).toMatchObject({ created: true, walId: stream, codecId: "bytes", lastSequence: 0 })
      const changes = yield* wal.pressure.changes.pipe(Stream.take(3), Stream.runCollect, Effect.fork)
      for (let i = 1; i <= 20; i++) yield* wal.appendAll([new Uint8Array([i]), new Uint8Array([i, i])])
      yield* wal.sync
      expect((yield* collect(wal.replay({ from: 39 }))).map((entry) => [...entry.payload])).toEqual([[20], [20, 20]])
      expect(yield* wal.pressure.current).toMatchObject({ queueEntries: 0, queueBytes: 0, saturated: false })
      expect((yield* changes).length).toBe(3)
      expect((yield* wal.segments)[0]).toMatchObject({ name: stream, firstSequence: 1, lastSequence: 40, status: "active" })
      expect(yield* wal.reclaim(25)).toEqual([])
      expect((yield* wal.segments)[0]).toMatchObject({ firstSequence: 25, lastSequence: 40 })
      expect((yield* collect(wal.replay())).map((entry) => entry.seq)).toEqual(Array.from({ length: 16 }, (_, i) => 25 + i))
      expect((yield* Effect.flip(wal.reclaim(1.5)))._tag).toBe("WalConfigError")
      expect((yield* Effect.flip(Stream.runDrain(wal.streamBytes())))).toMatchObject({ _tag: "WalIOError", code: "ENOTSUP" })
      const rival = yield* JetStreamWal.make({ servers: cluster.servers, stream, replicas: 1 })
      yield* rival.append(new Uint8Array([0]))
      const fenced = yield* Effect.flip(wal.append(new Uint8Array([1])))
      expect(JetStreamWal.isFenced(fenced)).toBe(true)
      expect(JetStreamWal.isFenced(new Error("x"))).toBe(false)
      expect((yield* Effect.flip(wal.sync))._tag).toBe("WalPoisonedError")
      expect(yield* rival.lastSequence).toBe(41)
    }).pipe(Effect.scoped), 30_000)

  it.live("a fenced writer's tail delivers what was acknowledged, then waits for close like a file WAL's, and ends there", () =>
    Effect.gen(function*() {
      const stream = fresh()
      const scope = yield* Scope.make()
      const wal = yield* JetStreamWal.make({ servers: cluster.servers, stream, replicas: 1 }).pipe(Scope.extend(scope))
      yield* wal.append(new Uint8Array([1]))
      const tailed = yield* wal.tail().pipe(Stream.map((entry) => entry.seq), Stream.runCollect, Effect.fork)
      const rival = yield* JetStreamWal.make({ servers: cluster.servers, stream, replicas: 1 })
      yield* rival.append(new Uint8Array([2]))
      expect(JetStreamWal.isFenced(yield* Effect.flip(wal.append(new Uint8Array([3]))))).toBe(true)
      // Poisoned, not closed: the tail neither ends nor delivers the rival's entry.
      yield* Effect.sleep("300 millis")
      expect(tailed.unsafePoll()).toBeNull()
      yield* Scope.close(scope, Exit.void)
      expect(Chunk.toReadonlyArray(yield* Fiber.join(tailed))).toEqual([1])
    }).pipe(Effect.scoped), 30_000)

  it.live("appendAll is one message, its first entry sequence and count in the headers", () =>
    Effect.gen(function*() {
      const stream = fresh()
      const wal = yield* JetStreamWal.make({ servers: cluster.servers, stream, replicas: 1 })
      expect(yield* wal.appendAll([1, 2, 3, 4, 5].map((i) => new Uint8Array([i])))).toEqual([1, 2, 3, 4, 5])
      expect(yield* wal.append(new Uint8Array([6]))).toBe(6)
      const stored = yield* Effect.promise(async () => {
        const nc = await connect({ servers: [...cluster.servers] })
        const jsm = await jetstreamManager(nc)
        const messages = (await jsm.streams.info(stream)).state.messages
        const described = []
        for (const seq of [1, 2]) {
          const message = await jsm.streams.getMessage(stream, { seq })
          described.push([message?.header.get("Wal-Seq"), message?.header.get("Wal-Count"), message?.data.length])
        }
        await nc.close()
        return { messages, described }
      })
      // Two messages: the batch of five (5 x (5 B of framing + 1 B)) and the single append.
      expect(stored).toEqual({ messages: 2, described: [["1", "5", 30], ["6", "1", 6]] })
    }).pipe(Effect.scoped), 30_000)

  it.live("layer provides the WAL under the user's tag", () =>
    Effect.gen(function*() {
      class Events extends Context.Tag("Events")<Events, Wal.Wal<Event>>() {}
      const seqs = yield* Effect.flatMap(Events, (wal) => wal.appendAll([{ n: 1, text: "a" }, { n: 2, text: "b" }])).pipe(
        Effect.provide(JetStreamWal.layer(Events, { servers: cluster.servers, stream: fresh(), schema: Event, replicas: 1 }))
      )
      expect(seqs).toEqual([1, 2])
    }), 30_000)
})
