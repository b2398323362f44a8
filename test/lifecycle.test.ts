import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Fiber, Metric, MetricState, Option, Stream } from "effect"
import * as NodeFs from "node:fs"
import * as Path from "node:path"
import { Archiver, Durability, Inspect, Wal } from "../src/index.js"
import { collect, faultyLayer, segmentFiles, tempDir, type FaultSwitch } from "./helpers.js"

const bytesOf = (n: number) => new TextEncoder().encode(`entry-${n}-${"z".repeat(40)}`)
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

/** Appends `count` entries to a WAL of 1 KiB segments. */
const fill = (wal: Wal.Wal<Uint8Array>, count: number, start = 1) =>
  Effect.forEach(Array.from({ length: count }, (_, i) => start + i), (n) => wal.append(bytesOf(n)), { discard: true })

describe("checkpoints", () => {
  it.scopedLive("checkpoint entries are durable, typed, and found without a scan after reopen", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory, segmentBytes: 1024 })
        expect(yield* wal.lastCheckpoint).toBe(0)
        yield* fill(wal, 20)
        const seq = yield* wal.checkpoint(new TextEncoder().encode("snapshot at 20"))
        expect(seq).toBe(21)
        expect(yield* wal.lastCheckpoint).toBe(21)
        yield* fill(wal, 40, 22)
      }))
      // Fast open reads only the last segment; the checkpoint sits in an earlier, sealed one and
      // is known from the seal frames.
      const wal = yield* Wal.make({ directory, segmentBytes: 1024, verify: "tail" })
      expect(wal.recovery.segmentsScanned).toBe(1)
      expect(wal.recovery.lastCheckpoint).toBe(21)
      expect(yield* wal.lastCheckpoint).toBe(21)
      const entries = yield* collect(wal.replayFromCheckpoint)
      expect(entries[0]).toMatchObject({ seq: 21, kind: "checkpoint" })
      expect(text(entries[0]!.payload)).toBe("snapshot at 20")
      expect(entries.at(-1)!.seq).toBe(61)
      expect(entries.filter((e) => e.kind === "checkpoint").length).toBe(1)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("regression: reclaiming past the last checkpoint leaves a log that reopens", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory, segmentBytes: 1024 })
        yield* wal.append(bytesOf(1))
        yield* wal.checkpoint(bytesOf(2))
        yield* fill(wal, 60, 3)
        expect((yield* wal.reclaim(40)).length).toBeGreaterThan(0)
      }))
      for (const verify of ["full", "tail"] as const) {
        const wal = yield* Effect.scoped(Wal.make({ directory, segmentBytes: 1024, verify }))
        expect(wal.recovery.lastSequence).toBe(62)
        // The checkpoint went with the reclaimed segments; the seals still name it.
        expect(wal.recovery.lastCheckpoint).toBe(2)
      }
      expect((yield* Inspect.verify(directory)).problems).toEqual([])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("without a checkpoint, replayFromCheckpoint starts at the beginning", () =>
    Effect.gen(function*() {
      const wal = yield* Wal.make({ directory: yield* tempDir })
      yield* fill(wal, 3)
      expect((yield* collect(wal.replayFromCheckpoint)).map((e) => e.seq)).toEqual([1, 2, 3])
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("segment lifecycle", () => {
  it.scopedLive("segments list their states; the active one is last", () =>
    Effect.gen(function*() {
      const wal = yield* Wal.make({ directory: yield* tempDir, segmentBytes: 1024 })
      yield* fill(wal, 40)
      const segments = yield* wal.segments
      expect(segments.length).toBeGreaterThan(2)
      expect(segments.at(-1)!.status).toBe("active")
      expect(segments.slice(0, -1).every((s) => s.status === "sealed")).toBe(true)
      for (let i = 1; i < segments.length; i++) {
        expect(segments[i]!.firstSequence).toBe(segments[i - 1]!.lastSequence + 1)
        expect(segments[i]!.index).toBe(segments[i - 1]!.index + 1)
      }
      expect(segments.at(-1)!.lastSequence).toBe(40)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("reclaim removes sealed segments below the point, never the active one, and reopen accepts the shorter log", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      const kept = yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory, segmentBytes: 1024 })
        yield* fill(wal, 60)
        const before = yield* wal.segments
        const third = before[2]!
        const removed = yield* wal.reclaim(third.firstSequence)
        expect(removed).toEqual(before.slice(0, 2).map((s) => s.name))
        expect(segmentFiles(directory)).toEqual(before.slice(2).map((s) => s.name))
        // Everything below the active segment's end: the active segment stays.
        yield* wal.reclaim(1_000_000)
        const after = yield* wal.segments
        expect(after.map((s) => s.status)).toEqual(["active"])
        const replayed = yield* collect(wal.replay())
        expect(replayed[0]!.seq).toBe(after[0]!.firstSequence)
        expect(replayed.at(-1)!.seq).toBe(60)
        return after[0]!
      }))
      const wal = yield* Wal.make({ directory, segmentBytes: 1024 })
      expect((yield* wal.segments)[0]!.firstSequence).toBe(kept.firstSequence)
      expect(yield* wal.lastSequence).toBe(60)
      expect(yield* wal.append(bytesOf(61))).toBe(61)
      const bad = yield* Effect.either(wal.reclaim(Number.NaN))
      expect(Either.isLeft(bad) && bad.left._tag).toBe("WalConfigError")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a segment is not removed while a reader still needs it", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      const wal = yield* Wal.make({ directory, segmentBytes: 1024 })
      yield* fill(wal, 60)
      const first = (yield* wal.segments)[0]!
      // A reader that has taken only the first entries holds the first segment.
      const pull = yield* Stream.toPull(wal.replay().pipe(Stream.rechunk(1)))
      const head = yield* pull
      expect(Chunk.toArray(head).map((e) => e.seq)).toEqual([1])
      const removed = yield* wal.reclaim(60)
      expect(removed).toEqual([])
      const statuses = (yield* wal.segments).map((s) => s.status)
      expect(statuses.slice(0, -1).every((s) => s === "archived")).toBe(true)
      expect(segmentFiles(directory)).toContain(first.name)
      // The reader still reads everything it was promised.
      let last = 1
      for (;;) {
        const next = yield* Effect.option(pull)
        if (Option.isNone(next)) break
        for (const entry of next.value) last = entry.seq
      }
      expect(last).toBe(60)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)))

  it.scopedLive("archived segments go once the reader that pinned them is done", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      const wal = yield* Wal.make({ directory, segmentBytes: 1024 })
      yield* fill(wal, 60)
      const first = (yield* wal.segments)[0]!
      yield* Effect.scoped(Effect.gen(function*() {
        const pull = yield* Stream.toPull(wal.replay().pipe(Stream.rechunk(1)))
        yield* pull
        expect(yield* wal.reclaim(60)).toEqual([])
      }))
      // The release wakes the background sweep.
      for (let i = 0; i < 200 && (yield* wal.segments).length > 1; i++) yield* Effect.sleep("10 millis")
      expect(segmentFiles(directory)).not.toContain(first.name)
      expect((yield* wal.segments).map((s) => s.status)).toEqual(["active"])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("Archiver.layerDirectory moves reclaimed segments into the archive", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      const archive = Path.join(yield* tempDir, "archive", "wal")
      const wal = yield* Wal.make({ directory, segmentBytes: 1024 }).pipe(Effect.provide(Archiver.layerDirectory(archive)))
      yield* fill(wal, 40)
      const sealed = (yield* wal.segments).filter((s) => s.status === "sealed")
      const before = sealed.map((s) => NodeFs.readFileSync(Path.join(directory, s.name)))
      const removed = yield* wal.reclaim(1_000_000)
      expect(removed).toEqual(sealed.map((s) => s.name))
      expect(NodeFs.readdirSync(archive).sort()).toEqual(removed)
      sealed.forEach((s, i) => expect(NodeFs.readFileSync(Path.join(archive, s.name))).toEqual(before[i]))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a custom Archiver receives each reclaimed segment in order", () =>
    Effect.gen(function*() {
      const seen: Array<Archiver.SegmentFile> = []
      const directory = yield* tempDir
      const wal = yield* Wal.make({ directory, segmentBytes: 1024 }).pipe(
        Effect.provide(Archiver.layer({
          archive: (segment) => Effect.sync(() => {
            seen.push(segment)
            NodeFs.rmSync(segment.path)
          })
        }))
      )
      yield* fill(wal, 40)
      const removed = yield* wal.reclaim(1_000_000)
      expect(seen.map((s) => s.name)).toEqual(removed)
      for (let i = 1; i < seen.length; i++) expect(seen[i]!.firstSequence).toBe(seen[i - 1]!.lastSequence + 1)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a crash in the middle of a reclamation recovers cleanly: leftovers below the point are archived", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      const names = yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory, segmentBytes: 1024 })
        yield* fill(wal, 60)
        return (yield* wal.segments).map((s) => s.name)
      }))
      // Stage what a crash leaves: the reclaim point says "from segment 3", segment 2 is gone,
      // segment 1 is still there.
      const [first, second, third] = names as [string, string, string]
      const saved = NodeFs.readFileSync(Path.join(directory, first))
      yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory, segmentBytes: 1024 })
        yield* wal.reclaim(Number(third.slice(21, 41)))
      }))
      NodeFs.writeFileSync(Path.join(directory, first), saved)
      expect(segmentFiles(directory)).toContain(first)
      expect(segmentFiles(directory)).not.toContain(second)
      const wal = yield* Wal.make({ directory, segmentBytes: 1024 })
      expect(wal.recovery.reclaimedAtOpen).toEqual([first])
      expect(segmentFiles(directory)[0]).toBe(third)
      expect(yield* wal.lastSequence).toBe(60)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a missing segment at or above the reclaim point, or a missing head without one, is corruption", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory, segmentBytes: 1024 })
        yield* fill(wal, 60)
        yield* wal.reclaim((yield* wal.segments)[2]!.firstSequence)
      }))
      NodeFs.rmSync(Path.join(directory, segmentFiles(directory)[0]!))
      const result = yield* Effect.either(Effect.scoped(Wal.make({ directory, segmentBytes: 1024 })))
      expect(Either.isLeft(result) && result.left._tag === "WalCorruptionError" && result.left.reason).toContain("reclaim point")

      const headless = yield* tempDir
      yield* Effect.scoped(Effect.flatMap(Wal.make({ directory: headless, segmentBytes: 1024 }), (wal) => fill(wal, 60)))
      NodeFs.rmSync(Path.join(headless, segmentFiles(headless)[0]!))
      const missing = yield* Effect.either(Effect.scoped(Wal.make({ directory: headless, segmentBytes: 1024 })))
      expect(Either.isLeft(missing) && missing.left._tag === "WalCorruptionError" && missing.left.reason).toContain("never reclaimed")

      NodeFs.writeFileSync(Path.join(headless, "RECLAIMED"), "{\"segmentIndex\": 2, \"firstSequence\": 9, \"checksum\": 1}")
      const unreadable = yield* Effect.either(Effect.scoped(Wal.make({ directory: headless, segmentBytes: 1024 })))
      expect(Either.isLeft(unreadable) && unreadable.left._tag === "WalCorruptionError" && unreadable.left.reason).toContain("unreadable")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("retention keeps at most N segments", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      const wal = yield* Wal.make({ directory, segmentBytes: 1024, retention: { maxSegments: 3 } })
      yield* fill(wal, 120)
      for (let i = 0; i < 100 && segmentFiles(directory).length > 3; i++) yield* Effect.sleep("10 millis")
      expect(segmentFiles(directory).length).toBeLessThanOrEqual(3)
      expect((yield* collect(wal.replay())).at(-1)!.seq).toBe(120)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("retention by bytes", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      const wal = yield* Wal.make({ directory, segmentBytes: 1024, retention: { maxBytes: 2500 } })
      const tooSmall = yield* Effect.either(Effect.scoped(Wal.make({ directory: directory + "-x", segmentBytes: 4096, retention: { maxBytes: 2500 } })))
      expect(Either.isLeft(tooSmall) && tooSmall.left._tag === "WalConfigError" && tooSmall.left.field).toBe("retention.maxBytes")
      yield* fill(wal, 120)
      const total = () => segmentFiles(directory).reduce((sum, f) => sum + NodeFs.statSync(Path.join(directory, f)).size, 0)
      for (let i = 0; i < 100 && total() > 2500; i++) yield* Effect.sleep("10 millis")
      expect(total()).toBeLessThanOrEqual(2500)
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("back-pressure and metrics", () => {
  it.scopedLive("metrics count appends, bytes, batches, fsyncs, segments and recovery", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      const wal = yield* Wal.make({ directory, segmentBytes: 1024 })
      yield* fill(wal, 30)
      yield* wal.appendAll([bytesOf(1), bytesOf(2)])
      const metrics = Wal.metrics(directory)
      expect((yield* Metric.value(metrics.appends)).count).toBe(32)
      expect((yield* Metric.value(metrics.bytesWritten)).count).toBeGreaterThan(32 * 32)
      expect((yield* Metric.value(metrics.segments)).value).toBe((yield* wal.segments).length)
      const fsyncs = yield* Metric.value(metrics.fsyncDuration)
      expect(MetricState.isHistogramState(fsyncs) && fsyncs.count).toBeGreaterThanOrEqual(31)
      const batches = yield* Metric.value(metrics.batchSize)
      expect(MetricState.isHistogramState(batches) && batches.sum).toBe(32)
      expect((yield* Metric.value(metrics.recoveryFrames)).value).toBe(0)
      expect((yield* Metric.value(metrics.queueDepth)).value).toBe(0)
      // Another WAL's metrics are kept apart by the directory tag.
      expect((yield* Metric.value(Wal.metrics(directory + "-other").appends)).count).toBe(0)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("pressure reports queue depth, fsync latency and saturation", () =>
    Effect.gen(function*() {
      const faults: FaultSwitch = { failSync: false, failWrite: undefined, syncs: 0 }
      const wal = yield* Wal.make({ directory: yield* tempDir, saturation: { fsyncMillis: 1e9 } }).pipe(Effect.provide(faultyLayer(faults)))
      const idle = yield* wal.pressure.current
      expect(idle).toMatchObject({ queueEntries: 0, queueBytes: 0, saturated: false })
      const changes = yield* Effect.fork(Stream.runCollect(wal.pressure.changes.pipe(Stream.take(3))))
      yield* fill(wal, 5)
      const seen = Chunk.toArray(yield* Fiber.join(changes))
      expect(seen.length).toBe(3)
      expect(seen.at(-1)!.lastFsyncMillis).toBeGreaterThanOrEqual(0)
      // The stream follows the latest value and ends when the WAL closes.
      const closing = yield* Effect.scoped(Effect.gen(function*() {
        const short = yield* Wal.make({ directory: yield* tempDir })
        const follower = yield* Effect.fork(Stream.runCollect(short.pressure.changes))
        yield* short.append(bytesOf(1))
        return follower
      }))
      const followed = Chunk.toArray(yield* Fiber.join(closing))
      expect(followed.length).toBeGreaterThanOrEqual(1)
      expect(followed.length).toBeLessThanOrEqual(3)
      const sensitive = yield* Wal.make({ directory: yield* tempDir, saturation: { fsyncMillis: 1e-9 } })
      yield* sensitive.append(bytesOf(1))
      expect((yield* sensitive.pressure.current).saturated).toBe(true)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("the queue's byte limit refuses (fail) or holds back (suspend) producers", () =>
    Effect.gen(function*() {
      const failing = yield* Wal.make({ directory: yield* tempDir, queueBytes: 200, overflow: "fail" })
      const results = yield* Effect.all(Array.from({ length: 40 }, (_, i) => Effect.either(failing.append(bytesOf(i)))), {
        concurrency: "unbounded"
      })
      expect(results.some((r) => Either.isLeft(r) && r.left._tag === "WalOverloadedError")).toBe(true)
      const suspending = yield* Wal.make({ directory: yield* tempDir, queueBytes: 200, durability: Durability.grouped({ maxDelay: "1 millis" }) })
      const seqs = yield* Effect.forEach(Array.from({ length: 40 }, (_, i) => i), (i) => suspending.append(bytesOf(i)), {
        concurrency: "unbounded"
      })
      expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1))
      // A batch bigger than the limit still goes through, alone.
      expect((yield* suspending.appendAll(Array.from({ length: 10 }, (_, i) => bytesOf(i)))).length).toBe(10)
      expect((yield* suspending.pressure.current).queueBytes).toBe(0)
    }).pipe(Effect.provide(NodeContext.layer)))
})
