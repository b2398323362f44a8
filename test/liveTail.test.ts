import * as FileSystem from "@effect/platform/FileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Deferred, Effect, Either, Fiber, Layer, Option, ParseResult, Ref, Schema, Stream, TestClock } from "effect"
import { Durability, MemoryFileSystem, Wal } from "../src/index.js"
import { type SyncAccess, SyncAccessId, syncAccessOf } from "../src/internal/syncAccess.js"

/**
 * Reads of segment files through the filesystem, counted by a wrapper that keeps every other
 * property of the file: reads through the file's Effect and through its synchronous access alike.
 */
const countingReads = (reads: { count: number }) =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (fs): FileSystem.FileSystem => ({
      ...fs,
      open: (path, options) =>
        Effect.map(fs.open(path, options), (file) => {
          const count = () => {
            if (path.endsWith(".wal")) reads.count++
          }
          return new Proxy(file, {
            get: (target, key, receiver) => {
              if (key === "read") {
                return (buffer: Uint8Array) => {
                  count()
                  return target.read(buffer)
                }
              }
              if (key !== SyncAccessId) return Reflect.get(target, key, receiver)
              const access = syncAccessOf(target)
              return access === undefined ? undefined : {
                ...access,
                readAt: (buffer: Uint8Array, position: number) => {
                  count()
                  return access.readAt(buffer, position)
                }
              } satisfies SyncAccess
            }
          })
        })
    }))
  ).pipe(Layer.provideMerge(MemoryFileSystem.layer))

const payload = (n: number, size: number) => {
  const bytes = new Uint8Array(size)
  new DataView(bytes.buffer).setUint32(0, n)
  return bytes
}

const numberOf = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0)

/** Waits until the collected entries reach `count`. */
const awaitCount = (seen: Ref.Ref<ReadonlyArray<number>>, count: number) =>
  Effect.repeat(Ref.get(seen), { until: (s) => s.length >= count })

describe("Wal: live tails", () => {
  it.scoped("an append is acknowledged before its batch wakes the tails", () =>
    Effect.gen(function*() {
      const wal = yield* Wal.make({ directory: "/wal" })
      const events: Array<string> = []
      const tails = yield* Effect.forEach([1, 2], (tail) =>
        wal.tail().pipe(
          Stream.runForEach((entry) => Effect.sync(() => void events.push(`tail ${tail}: ${entry.seq}`))),
          Effect.fork
        ))
      // Let the tails reach the end of the empty log and wait for a commit.
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
      for (let seq = 1; seq <= 3; seq++) {
        const acked = yield* wal.append(payload(seq, 100))
        events.push(`ack ${acked}`)
        while (events.length < seq * 3) yield* Effect.yieldNow()
      }
      expect(events).toEqual(["ack 1", "tail 1: 1", "tail 2: 1", "ack 2", "tail 1: 2", "tail 2: 2", "ack 3", "tail 1: 3", "tail 2: 3"])
      yield* Fiber.interruptAll(tails)
    }).pipe(Effect.provide(MemoryFileSystem.layer)))

  it.scoped("a tail that has caught up is fed from memory: appends cause no segment read", () => {
    const reads = { count: 0 }
    return Effect.gen(function*() {
      const wal = yield* Wal.make({ directory: "/wal" })
      for (let i = 1; i <= 10; i++) yield* wal.append(payload(i, 100))
      const seen = yield* Ref.make<ReadonlyArray<number>>([])
      const tail = yield* wal.tail().pipe(
        Stream.runForEach((entry) => Ref.update(seen, (s) => [...s, entry.seq])),
        Effect.fork
      )
      yield* awaitCount(seen, 10)
      const before = reads.count
      for (let i = 11; i <= 200; i++) {
        yield* wal.append(payload(i, 100))
        yield* awaitCount(seen, i)
      }
      yield* wal.appendAll(Array.from({ length: 50 }, (_, i) => payload(201 + i, 100)))
      yield* awaitCount(seen, 250)
      expect(reads.count).toBe(before)
      expect(yield* Ref.get(seen)).toEqual(Array.from({ length: 250 }, (_, i) => i + 1))
      yield* Fiber.interrupt(tail)
    }).pipe(Effect.provide(countingReads(reads)))
  })

  it.scoped("a tail that falls out of the window reads from disk, then returns to memory; no gap, no duplicate", () => {
    const reads = { count: 0 }
    return Effect.gen(function*() {
      // 1 MiB segments: the lag spans several rotations. 96 entries of 64 KiB exceed the window.
      const wal = yield* Wal.make({ directory: "/wal", segmentBytes: 1024 * 1024 })
      const gate = yield* Deferred.make<void>()
      const seen = yield* Ref.make<ReadonlyArray<number>>([])
      const tail = yield* wal.tail().pipe(
        Stream.mapEffect((entry) =>
          Effect.zipRight(entry.seq === 2 ? Deferred.await(gate) : Effect.void, Effect.succeed(entry))
        ),
        Stream.runForEach((entry) =>
          Ref.update(seen, (s) => {
            expect(numberOf(entry.payload)).toBe(entry.seq)
            return [...s, entry.seq]
          })
        ),
        Effect.fork
      )
      yield* wal.append(payload(1, 64 * 1024))
      yield* awaitCount(seen, 1)
      let next = 2
      for (let round = 0; round < 24; round++) {
        yield* wal.append(payload(next++, 64 * 1024))
        yield* wal.appendAll([payload(next++, 64 * 1024), payload(next++, 64 * 1024), payload(next++, 64 * 1024)])
      }
      const lagReads = reads.count
      yield* Deferred.succeed(gate, undefined)
      yield* awaitCount(seen, next - 1)
      expect(reads.count).toBeGreaterThan(lagReads)
      // Caught up again: live entries come from memory once more.
      const caughtUp = reads.count
      for (let i = 0; i < 20; i++) {
        yield* wal.append(payload(next++, 1000))
        yield* awaitCount(seen, next - 1)
      }
      expect(reads.count).toBe(caughtUp)
      expect(yield* Ref.get(seen)).toEqual(Array.from({ length: next - 1 }, (_, i) => i + 1))
      yield* Fiber.interrupt(tail)
    }).pipe(Effect.provide(countingReads(reads)))
  })

  it.scoped("a tail that lags inside the window takes older batches from memory too, with the entries a tail that keeps up got", () => {
    const reads = { count: 0 }
    return Effect.gen(function*() {
      const wal = yield* Wal.make({ directory: "/wal" })
      const gate = yield* Deferred.make<void>()
      const fast = yield* Ref.make<ReadonlyArray<number>>([])
      const slow = yield* Ref.make<ReadonlyArray<number>>([])
      const follow = (seen: Ref.Ref<ReadonlyArray<number>>, wait: boolean) =>
        wal.tail().pipe(
          Stream.mapEffect((entry) => Effect.as(wait && entry.seq === 2 ? Deferred.await(gate) : Effect.void, entry)),
          Stream.runForEach((entry) => Ref.update(seen, (s) => [...s, numberOf(entry.payload)])),
          Effect.fork
        )
      const tails = [yield* follow(fast, false), yield* follow(slow, true)]
      // 40 batches (of 1 to 3 entries), far fewer bytes than the window: the slow tail, held at
      // entry 2, is then dozens of batches behind the newest when it goes on.
      let next = 1
      for (let batch = 0; batch < 40; batch++) {
        const size = 1 + (batch % 3)
        yield* wal.appendAll(Array.from({ length: size }, (_, i) => payload(next + i, 500)))
        next += size
        yield* awaitCount(fast, next - 1)
      }
      const before = reads.count
      yield* Deferred.succeed(gate, undefined)
      yield* awaitCount(slow, next - 1)
      expect(reads.count).toBe(before)
      const expected = Array.from({ length: next - 1 }, (_, i) => i + 1)
      expect(yield* Ref.get(fast)).toEqual(expected)
      expect(yield* Ref.get(slow)).toEqual(expected)
      yield* Fiber.interruptAll(tails)
    }).pipe(Effect.provide(countingReads(reads)))
  })

  it.scoped("many tails share the window and each ends, complete, when the WAL closes", () =>
    Effect.gen(function*() {
      const results = yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory: "/wal", segmentBytes: 64 * 1024 })
        const tails = yield* Effect.forEach(
          Array.from({ length: 8 }, (_, i) => i),
          (i) => wal.tail({ from: i * 10 + 1 }).pipe(Stream.map((e) => e.seq), Stream.runCollect, Effect.fork)
        )
        yield* Effect.forEach(Array.from({ length: 500 }, (_, i) => i), (i) => wal.append(payload(i + 1, 300)), { concurrency: 16 })
        return tails
      }))
      for (const [i, fiber] of results.entries()) {
        const seqs = Chunk.toReadonlyArray(yield* Fiber.join(fiber))
        expect(seqs).toEqual(Array.from({ length: 500 - i * 10 }, (_, k) => i * 10 + 1 + k))
      }
    }).pipe(Effect.provide(MemoryFileSystem.layer)))

  it.scoped("a live entry the schema cannot decode fails the tail with WalCodecError, after the entries before it", () => {
    // Encodes every number; decodes only those below 100, as a schema changed under old data would.
    const Capped = Schema.transformOrFail(Schema.Number, Schema.Number, {
      strict: true,
      decode: (n, _, ast) => n < 100 ? ParseResult.succeed(n) : ParseResult.fail(new ParseResult.Type(ast, n, "too large")),
      encode: ParseResult.succeed
    })
    const reads = { count: 0 }
    return Effect.gen(function*() {
      const wal = yield* Wal.make({ directory: "/wal", schema: Capped })
      const seen = yield* Ref.make<ReadonlyArray<number>>([])
      const tail = yield* wal.tail().pipe(
        Stream.runForEach((entry) => Ref.update(seen, (s) => [...s, entry.payload])),
        Effect.either,
        Effect.fork
      )
      yield* wal.append(1)
      yield* awaitCount(seen, 1)
      const before = reads.count
      yield* wal.append(100)
      const failed = yield* Fiber.join(tail)
      expect(Either.isLeft(failed) && failed.left).toMatchObject({ _tag: "WalCodecError", direction: "decode" })
      expect(yield* Ref.get(seen)).toEqual([1])
      // The failing batch came from memory, not from the segment.
      expect(reads.count).toBe(before)
    }).pipe(Effect.provide(countingReads(reads)))
  })

  it.scoped("payloads a tail delivered from memory stay intact while later batches fill new buffers", () =>
    Effect.gen(function*() {
      const wal = yield* Wal.make({ directory: "/wal" })
      const kept: Array<{ readonly seq: number; readonly payload: Uint8Array }> = []
      const tail = yield* wal.tail().pipe(
        Stream.runForEach((entry) => Effect.sync(() => void kept.push(entry))),
        Effect.fork
      )
      // About 1.4 MiB of frames in batches of 1 to 7 entries: many times the memory a batch is copied into.
      let next = 1
      for (let batch = 0; batch < 1200; batch++) {
        const size = 1 + (batch % 7)
        yield* wal.appendAll(Array.from({ length: size }, (_, i) => payload(next + i, 200 + (batch % 5) * 10)))
        next += size
      }
      yield* Effect.repeat(Effect.sync(() => kept.length), { until: (n) => n >= next - 1 })
      expect(kept.map((entry) => entry.seq)).toEqual(Array.from({ length: next - 1 }, (_, i) => i + 1))
      for (const entry of kept) expect(numberOf(entry.payload)).toBe(entry.seq)
      yield* Fiber.interrupt(tail)
    }).pipe(Effect.provide(MemoryFileSystem.layer)))
})

describe("Wal: batches served in one synchronous step", () => {
  it.scoped("buffered: the interval's fsync still happens when the batch was served without the writer fiber", () =>
    Effect.gen(function*() {
      const control = yield* MemoryFileSystem.Control
      const wal = yield* Wal.make({ directory: "/wal", durability: Durability.buffered({ interval: "1 second", bytes: 1 << 30 }) })
      const [segment] = (yield* control.paths).filter((path) => path.endsWith(".wal"))
      const durableSize = Effect.map(control.durableBytes(segment!), Option.match({ onNone: () => 0, onSome: (b) => b.length }))
      const sizeBefore = yield* durableSize
      yield* wal.append(payload(1, 5000))
      expect(yield* durableSize).toBe(sizeBefore)
      yield* TestClock.adjust("1 second")
      yield* Effect.repeat(durableSize, { until: (size) => size > sizeBefore + 5000 })
    }).pipe(Effect.provide(MemoryFileSystem.layer)))

  for (const syncAccess of [true, false]) {
    it.scoped(`strict on ${syncAccess ? "synchronous" : "Effect-only"} files: 64 concurrent appends share one fsync`, () =>
      Effect.gen(function*() {
        const control = yield* MemoryFileSystem.Control
        const wal = yield* Wal.make({ directory: "/wal" })
        yield* wal.append(payload(0, 10))
        const before = yield* control.operationCount
        yield* Effect.forEach(Array.from({ length: 64 }, (_, i) => i), (i) => wal.append(payload(i, 10)), { concurrency: "unbounded" })
        // One write and one fsync: the whole burst is one batch.
        expect((yield* control.operationCount) - before).toBe(2)
        expect(yield* wal.lastSequence).toBe(65)
      }).pipe(Effect.provide(MemoryFileSystem.layerWith({ syncAccess }))))
  }
})
