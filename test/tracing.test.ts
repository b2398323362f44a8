/**
 * The WAL's spans, seen through a tracer: one `effect-wal.open` per open, one
 * `effect-wal.replay` per replay, one `effect-wal.reclaim` per reclamation, one
 * `effect-wal.repair` per repair, and none per append.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Stream, Tracer } from "effect"
import { Inspect, MemoryFileSystem, Wal } from "../src/index.js"
import { batchAttributes, recordsSpans } from "../src/internal/tracing.js"

/** A tracer that keeps every span it starts, on top of Effect's own tracer. */
const recording = Effect.map(Effect.tracer, (native) => {
  const spans: Array<Tracer.Span> = []
  const tracer = Tracer.make({
    span: (...args) => {
      const span = native.span(...args)
      spans.push(span)
      return span
    },
    context: (f) => f()
  })
  return { spans, tracer }
})

const named = (spans: ReadonlyArray<Tracer.Span>, name: string) => spans.filter((span) => span.name === name)

const payload = (n: number) => new TextEncoder().encode(`entry ${n} ${"x".repeat(200)}`)

describe("tracing", () => {
  it.scoped("opening, replaying, reclaiming and repairing are one span each; appends make none", () =>
    Effect.gen(function*() {
      const { spans, tracer } = yield* recording
      yield* Effect.gen(function*() {
        yield* Effect.scoped(Effect.gen(function*() {
          const wal = yield* Wal.make({ directory: "/wal", segmentBytes: 1024 })
          const open = named(spans, "effect-wal.open")
          expect(open).toHaveLength(1)
          expect(open[0]!.attributes.get("effect-wal.directory")).toBe("/wal")
          expect(open[0]!.attributes.get("effect-wal.created")).toBe(true)
          expect(open[0]!.status._tag).toBe("Ended")

          const before = spans.length
          for (let n = 1; n <= 20; n++) yield* wal.append(payload(n))
          expect(spans.slice(before).filter((span) => span.name.startsWith("effect-wal.") && span.name !== "effect-wal.batch"))
            .toEqual([])

          const entries = yield* Stream.runCount(wal.replay({ from: 3 }))
          expect(entries).toBe(18)
          const replay = named(spans, "effect-wal.replay")
          expect(replay).toHaveLength(1)
          expect(replay[0]!.attributes.get("effect-wal.from")).toBe(3)
          expect(replay[0]!.status._tag).toBe("Ended")

          const removed = yield* wal.reclaim(10)
          expect(removed.length).toBeGreaterThan(0)
          const reclaim = named(spans, "effect-wal.reclaim")
          expect(reclaim).toHaveLength(1)
          expect(reclaim[0]!.attributes.get("effect-wal.sequence")).toBe(10)
          expect(reclaim[0]!.attributes.get("effect-wal.removed")).toBe(removed.length)
        }))
        const reopened = yield* Effect.scoped(Effect.map(Wal.make({ directory: "/wal" }), (wal) => wal.recovery))
        const open = named(spans, "effect-wal.open")
        expect(open).toHaveLength(2)
        expect(open[1]!.attributes.get("effect-wal.last_sequence")).toBe(reopened.lastSequence)

        const repaired = yield* Inspect.repair("/wal")
        const repair = named(spans, "effect-wal.repair")
        expect(repair).toHaveLength(1)
        expect(repair[0]!.attributes.get("effect-wal.repaired")).toBe(repaired.repaired)
        expect(Option.isNone(repaired.problem)).toBe(true)
      }).pipe(Effect.withTracer(tracer))
    }).pipe(Effect.provide(MemoryFileSystem.layer)))

  it.effect("batch spans are made under a tracer the application provides, not under Effect's built-in one", () =>
    Effect.gen(function*() {
      expect(recordsSpans(yield* Effect.tracer)).toBe(false)
      const { tracer } = yield* recording
      expect(recordsSpans(tracer)).toBe(true)
      expect(yield* Effect.map(Effect.tracer, recordsSpans).pipe(Effect.withTracer(tracer))).toBe(true)
    }))

  it("batch attributes sum the batch's fsyncs", () => {
    expect(batchAttributes({ entries: 3, bytes: 120, fsyncSeconds: [0.002, 0.001], segment: 4 })).toEqual({
      "effect-wal.entries": 3,
      "effect-wal.bytes": 120,
      "effect-wal.fsync_ms": 3,
      "effect-wal.fsyncs": 2,
      "effect-wal.segment": 4
    })
  })

  for (const syncAccess of [true, false]) {
    it.scoped(`a writer batch is one span, with its entries, bytes, fsync count and segment (${syncAccess ? "synchronous step" : "writer fiber"})`, () =>
      Effect.gen(function*() {
        const { spans, tracer } = yield* recording
        yield* Effect.gen(function*() {
          const wal = yield* Wal.make({ directory: "/wal" })
          const before = named(spans, "effect-wal.batch").length
          yield* wal.append(payload(1))
          yield* Effect.forEach(Array.from({ length: 64 }, (_, i) => i), (i) => wal.append(payload(i)), { concurrency: "unbounded" })
          const batches = named(spans, "effect-wal.batch").slice(before)
          expect(batches.map((span) => span.attributes.get("effect-wal.entries"))).toEqual([1, 64])
          // Each frame is a 32-byte header and its payload.
          const burstBytes = Array.from({ length: 64 }, (_, i) => 32 + payload(i).length).reduce((a, b) => a + b, 0)
          expect(batches.map((span) => span.attributes.get("effect-wal.bytes"))).toEqual([32 + payload(1).length, burstBytes])
          for (const span of batches) {
            expect(span.status._tag).toBe("Ended")
            expect(span.attributes.get("effect-wal.fsyncs")).toBe(1)
            expect(span.attributes.get("effect-wal.segment")).toBe(1)
          }
        }).pipe(Effect.withTracer(tracer))
      }).pipe(Effect.provide(MemoryFileSystem.layerWith({ syncAccess }))))
  }
})

