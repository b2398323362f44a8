import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext, NodePath } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Chunk, Context, Effect, Either, Exit, Fiber, Layer, Option, Random, Schema, Stream, TestClock } from "effect"
import * as NodeFs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Codec, Durability, MemoryFileSystem, Wal } from "../src/index.js"
import { collect, faultyLayer, payloadMismatches, segmentFiles, tempDir, writtenSize, type FaultSwitch } from "./helpers.js"

const Event = Schema.Struct({ n: Schema.Number, text: Schema.String })
type Event = typeof Event.Type

const event = (n: number): Event => ({ n, text: `event ${n} ${"x".repeat(n % 37)}` })
const bytesOf = (n: number) => new TextEncoder().encode(`entry-${n}`)

const live = <A, E>(effect: Effect.Effect<A, E, import("@effect/platform/FileSystem").FileSystem | import("@effect/platform/Path").Path | import("effect/Scope").Scope>) =>
  effect.pipe(Effect.provide(NodeContext.layer))

/** The Node FileSystem whose file reads return at most `max` bytes each (POSIX allows short reads). */
const shortReadsLayer = (max: number, reads: { count: number }) =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (fs): FileSystem.FileSystem => ({
      ...fs,
      open: (path, options) =>
        Effect.map(fs.open(path, options), (file): FileSystem.File => ({
          [FileSystem.FileTypeId]: FileSystem.FileTypeId,
          fd: file.fd,
          get stat() {
            return file.stat
          },
          seek: (offset, from) => file.seek(offset, from),
          read: (buffer) => {
            reads.count++
            return file.read(buffer.subarray(0, max))
          },
          readAlloc: (size) => file.readAlloc(size),
          truncate: (length) => file.truncate(length),
          sync: file.sync,
          write: (buffer) => file.write(buffer),
          writeAll: (buffer) => file.writeAll(buffer)
        }))
    }))
  ).pipe(Layer.provide(NodeContext.layer), Layer.merge(NodePath.layer))

describe("Wal: write path", () => {
  it.scopedLive("concurrent appends from many fibers are all acknowledged and replayed in order", () =>
    live(Effect.gen(function*() {
      const directory = yield* tempDir
      const acknowledged = yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory, schema: Event })
        const seqs = yield* Effect.forEach(Array.from({ length: 500 }, (_, i) => i), (i) => wal.append(event(i)), { concurrency: 64 })
        expect(yield* wal.lastSequence).toBe(500)
        return seqs
      }))
      expect([...acknowledged].sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1))
      const wal = yield* Wal.make({ directory, schema: Event })
      const entries = yield* collect(wal.replay())
      expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1))
      // Each payload sits at the sequence number its append returned.
      const bySeq = new Map(entries.map((e) => [e.seq, e.payload.n]))
      acknowledged.forEach((seq, i) => expect(bySeq.get(seq)).toBe(i))
      expect(wal.recovery.lastSequence).toBe(500)
      expect(wal.recovery.created).toBe(false)
    })))

  it.scopedLive("appendAll returns contiguous sequence numbers and an empty batch returns nothing", () =>
    live(Effect.gen(function*() {
      const wal = yield* Wal.make({ directory: yield* tempDir, schema: Event })
      expect(yield* wal.append(event(0))).toBe(1)
      expect(yield* wal.appendAll([event(1), event(2), event(3)])).toEqual([2, 3, 4])
      expect(yield* wal.appendAll([])).toEqual([])
      // Any iterable, not only arrays.
      expect(yield* wal.appendAll(new Set([event(4), event(5)]))).toEqual([5, 6])
      expect(yield* wal.lastSequence).toBe(6)
    })))

  it.scopedLive("a WAL without a schema refuses a payload that is not a Uint8Array, in append and appendAll", () =>
    live(Effect.gen(function*() {
      const wal = yield* Wal.make({ directory: yield* tempDir })
      const notBytes = "text" as unknown as Uint8Array
      for (const attempt of [Effect.asVoid(wal.append(notBytes)), Effect.asVoid(wal.appendAll([bytesOf(1), notBytes]))]) {
        const failed = yield* Effect.flip(attempt)
        expect(failed).toMatchObject({ _tag: "WalCodecError", direction: "encode", codec: "bytes" })
      }
      expect(yield* wal.lastSequence).toBe(0)
    })))

  it.scopedLive("rotation across many small segments keeps every entry and replays across them", () =>
    live(Effect.gen(function*() {
      const directory = yield* tempDir
      yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory, schema: Event, segmentBytes: 2048 })
        for (let i = 0; i < 300; i++) yield* wal.append(event(i))
        yield* wal.appendAll(Array.from({ length: 10 }, (_, i) => event(1000 + i)))
      }))
      const files = segmentFiles(directory)
      expect(files.length).toBeGreaterThan(10)
      for (const file of files) expect(NodeFs.statSync(Path.join(directory, file)).size).toBeLessThanOrEqual(2048)
      const wal = yield* Wal.make({ directory, schema: Event, segmentBytes: 2048 })
      expect(wal.recovery.segments).toBe(files.length)
      const entries = yield* collect(wal.replay())
      expect(entries.map((e) => e.payload.n)).toEqual([...Array.from({ length: 300 }, (_, i) => i), ...Array.from({ length: 10 }, (_, i) => 1000 + i)])
      // An atomic batch never straddles two segments.
      const batchFirst = entries.find((e) => e.payload.n === 1000)!.seq
      const owner = (seq: number) => files.findLast((f) => Number(f.slice(21, 41)) <= seq)
      expect(owner(batchFirst)).toBe(owner(batchFirst + 9))
    })))

  it.scopedLive("replay from the middle, with bounds, and past the end", () =>
    live(Effect.gen(function*() {
      const wal = yield* Wal.make({ directory: yield* tempDir, schema: Event, segmentBytes: 1024 })
      yield* Effect.forEach(Array.from({ length: 100 }, (_, i) => i), (i) => wal.append(event(i)))
      expect((yield* collect(wal.replay({ from: 42, to: 47 }))).map((e) => e.seq)).toEqual([42, 43, 44, 45, 46, 47])
      expect((yield* collect(wal.replay({ from: 99 }))).map((e) => e.seq)).toEqual([99, 100])
      expect(yield* collect(wal.replay({ from: 101 }))).toEqual([])
      expect((yield* collect(wal.replay({ to: 2 }))).map((e) => e.seq)).toEqual([1, 2])
      const bad = yield* Effect.exit(Stream.runDrain(wal.replay({ from: 1.5 })))
      expect(Exit.isFailure(bad) && Option.getOrUndefined(Cause.dieOption(bad.cause))).toMatchObject({ _tag: "WalConfigError", field: "from" })
      const badTail = yield* Effect.exit(Stream.runDrain(wal.tail({ from: Number.NaN })))
      expect(Exit.isFailure(badTail) && Cause.isDie(badTail.cause)).toBe(true)
    })))

  it.scopedLive("replay is bounded by the watermark at the moment it starts", () =>
    live(Effect.gen(function*() {
      const wal = yield* Wal.make({ directory: yield* tempDir })
      yield* wal.appendAll([bytesOf(1), bytesOf(2)])
      const stream = wal.replay()
      yield* wal.append(bytesOf(3))
      // The stream is lazy: the bound is taken when it runs, not when it is built.
      expect((yield* collect(stream)).length).toBe(3)
      // Entries appended while the stream runs are past its bound.
      const seen = yield* collect(wal.replay().pipe(Stream.tap((e) => e.seq === 1 ? wal.append(bytesOf(4)) : Effect.void)))
      expect(seen.map((e) => e.seq)).toEqual([1, 2, 3])
      expect(yield* wal.lastSequence).toBe(4)
    })))

  it.scopedLive("regression: an atomic batch larger than the read buffer replays, tails and reads", () =>
    live(Effect.gen(function*() {
      const directory = yield* tempDir
      const wal = yield* Wal.make({ directory })
      // 4 MiB in one batch: far more than the 256 KiB a reader starts with.
      const batch = Array.from({ length: 1024 }, (_, i) => new Uint8Array(4096).fill(i % 251))
      const tail = yield* Effect.fork(collect(wal.tail().pipe(Stream.take(1025))))
      yield* wal.appendAll(batch)
      yield* wal.append(bytesOf(1))
      const replayed = yield* collect(wal.replay())
      expect(replayed.length).toBe(1025)
      replayed.slice(0, 1024).forEach((entry, i) => expect(entry.payload[4095]).toBe(i % 251))
      expect((yield* Fiber.join(tail)).length).toBe(1025)
      const reader = yield* Wal.reader({ directory })
      expect((yield* collect(reader.replay())).length).toBe(1025)
    })))

  it.scopedLive("raw payloads from many chunks stay intact after the read buffer is reused", () =>
    live(Effect.gen(function*() {
      const wal = yield* Wal.make({ directory: yield* tempDir, durability: Durability.none })
      const payload = (i: number) => new TextEncoder().encode(`payload-${i}-${"q".repeat(i % 300)}`)
      for (let i = 0; i < 20; i++) yield* wal.appendAll(Array.from({ length: 1000 }, (_, j) => payload(i * 1000 + j)))
      const entries = yield* collect(wal.replay())
      expect(entries.length).toBe(20_000)
      expect(payloadMismatches(entries, (_, i) => payload(i))).toEqual([])
    })))

  it.scopedLive("regression: replay, tail and read from inside an atomic batch that straddles the read buffer", () =>
    live(Effect.gen(function*() {
      const directory = yield* tempDir
      const wal = yield* Wal.make({ directory, durability: Durability.none })
      // Batches of 1000 frames of 132 B: the second one crosses the 256 KiB read buffer's end.
      for (let i = 0; i < 5; i++) {
        yield* wal.appendAll(Array.from({ length: 1000 }, (_, j) => new Uint8Array(100).fill((i * 1000 + j) % 251)))
      }
      const expected = Array.from({ length: 3501 }, (_, i) => 1500 + i)
      const replayed = yield* collect(wal.replay({ from: 1500 }))
      expect(replayed.map((e) => e.seq)).toEqual(expected)
      replayed.forEach((entry) => expect(entry.payload[99]).toBe((entry.seq - 1) % 251))
      expect((yield* collect(wal.tail({ from: 1500 }).pipe(Stream.take(3501)))).map((e) => e.seq)).toEqual(expected)
      const reader = yield* Wal.reader({ directory })
      expect((yield* collect(reader.replay({ from: 1500 }))).map((e) => e.seq)).toEqual(expected)
    })))

  it.scopedLive("replay, tail and read assemble read buffers from short reads", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      const reads = { count: 0 }
      yield* Effect.gen(function*() {
        const wal = yield* Wal.make({ directory, durability: Durability.none })
        for (let i = 0; i < 5; i++) {
          yield* wal.appendAll(Array.from({ length: 1000 }, (_, j) => new Uint8Array(100).fill((i * 1000 + j) % 251)))
        }
        reads.count = 0
        const all = Array.from({ length: 5000 }, (_, i) => 1 + i)
        const replayed = yield* collect(wal.replay())
        expect(replayed.map((e) => e.seq)).toEqual(all)
        expect(payloadMismatches(replayed, (entry) => new Uint8Array(100).fill((entry.seq - 1) % 251))).toEqual([])
        // Each read returns at most 999 bytes: a 256 KiB read buffer takes hundreds of them.
        expect(reads.count).toBeGreaterThan(600)
        const fromInside = Array.from({ length: 3501 }, (_, i) => 1500 + i)
        expect((yield* collect(wal.replay({ from: 1500 }))).map((e) => e.seq)).toEqual(fromInside)
        expect((yield* collect(wal.tail({ from: 1500 }).pipe(Stream.take(3501)))).map((e) => e.seq)).toEqual(fromInside)
        const reader = yield* Wal.reader({ directory })
        const read = yield* collect(reader.replay())
        expect(read.map((e) => e.seq)).toEqual(all)
        read.forEach((entry) => expect(entry.payload[99]).toBe((entry.seq - 1) % 251))
      }).pipe(Effect.provide(shortReadsLayer(999, reads)))
    }))

  it.scopedLive("Wal.reader gives back an unfinished batch that began several reads earlier", () =>
    live(Effect.gen(function*() {
      const directory = yield* tempDir
      const wal = yield* Wal.make({ directory })
      yield* wal.appendAll([bytesOf(1), bytesOf(2)])
      yield* wal.appendAll(Array.from({ length: 1024 }, (_, i) => new Uint8Array(4096).fill(i % 251)))
      // Cut the 4 MiB batch in its middle: a write in progress, many read buffers past its start.
      const active = Path.join(directory, segmentFiles(directory).at(-1)!)
      NodeFs.truncateSync(active, NodeFs.statSync(active).size - 2 * 1024 * 1024)
      const reader = yield* Wal.reader({ directory })
      const entries = yield* collect(reader.replay())
      expect(entries.map((e) => new TextDecoder().decode(e.payload))).toEqual(["entry-1", "entry-2"])
    })))

  it.scopedLive("raw payloads delivered by a tail stay intact while it reads on", () =>
    live(Effect.gen(function*() {
      const wal = yield* Wal.make({ directory: yield* tempDir, durability: Durability.none })
      const tail = yield* Effect.fork(collect(wal.tail().pipe(Stream.take(600))))
      for (let i = 0; i < 300; i++) yield* wal.append(bytesOf(i))
      yield* wal.appendAll(Array.from({ length: 300 }, (_, i) => bytesOf(300 + i)))
      const entries = yield* Fiber.join(tail)
      expect(payloadMismatches(entries, (_, i) => bytesOf(i))).toEqual([])
    })))

  it.scopedLive("raw payloads are written as they are and come back as copies", () =>
    live(Effect.gen(function*() {
      const directory = yield* tempDir
      const wal = yield* Wal.make({ directory })
      const payload = Uint8Array.of(1, 2, 3, 250)
      yield* wal.append(payload)
      const [entry] = yield* collect(wal.replay())
      expect(entry!.payload).toEqual(payload)
      expect(entry!.kind).toBe("data")
      expect(wal.recovery.codecId).toBe("bytes")
      const file = NodeFs.readFileSync(Path.join(directory, segmentFiles(directory)[0]!))
      expect(file.subarray(128 + 32, 128 + 36)).toEqual(Buffer.from(payload))
    })))

  it.scopedLive("an entry over the maximum fails alone and other producers go on", () =>
    live(Effect.gen(function*() {
      const wal = yield* Wal.make({ directory: yield* tempDir, maxEntryBytes: 100 })
      const results = yield* Effect.all([
        Effect.either(wal.append(new Uint8Array(10))),
        Effect.either(wal.append(new Uint8Array(101))),
        Effect.either(wal.append(new Uint8Array(100)))
      ], { concurrency: "unbounded" })
      expect(results.map((r) => Either.isRight(r))).toEqual([true, false, true])
      const failure = results[1]!
      expect(Either.isLeft(failure) && failure.left).toMatchObject({ _tag: "WalEntryTooLargeError", size: 101, limit: 100 })
      const batch = yield* Effect.either(wal.appendAll([new Uint8Array(1), new Uint8Array(200)]))
      expect(Either.isLeft(batch) && batch.left._tag).toBe("WalEntryTooLargeError")
      expect(yield* wal.lastSequence).toBe(2)
    })))

  it.scopedLive("an atomic batch larger than a segment is refused", () =>
    live(Effect.gen(function*() {
      const wal = yield* Wal.make({ directory: yield* tempDir, segmentBytes: 1024 })
      const result = yield* Effect.either(wal.appendAll(Array.from({ length: 10 }, () => new Uint8Array(100))))
      expect(Either.isLeft(result) && result.left._tag).toBe("WalEntryTooLargeError")
    })))

  it.scopedLive("a value the codec cannot encode fails that append alone", () =>
    live(Effect.gen(function*() {
      const wal = yield* Wal.make({ directory: yield* tempDir, schema: Event })
      const bad = yield* Effect.either(wal.append({ n: 1 } as unknown as Event))
      expect(Either.isLeft(bad) && bad.left._tag).toBe("WalCodecError")
      const raw = yield* Wal.make({ directory: yield* tempDir })
      const notBytes = yield* Effect.either(raw.append("text" as unknown as Uint8Array))
      expect(Either.isLeft(notBytes) && notBytes.left._tag).toBe("WalCodecError")
      expect(yield* wal.append(event(1))).toBe(1)
    })))

  it.scopedLive("overflow: fail rejects at once when the queue is full", () =>
    live(Effect.gen(function*() {
      const wal = yield* Wal.make({ directory: yield* tempDir, queueCapacity: 2, overflow: "fail" })
      const results = yield* Effect.all(Array.from({ length: 50 }, (_, i) => Effect.either(wal.append(bytesOf(i)))), {
        concurrency: "unbounded"
      })
      const rejected = results.filter(Either.isLeft)
      expect(rejected.length).toBeGreaterThan(0)
      for (const r of rejected) expect(r.left).toMatchObject({ _tag: "WalOverloadedError", capacity: 2 })
      const accepted = results.filter(Either.isRight).map((r) => r.right).sort((a, b) => a - b)
      expect(accepted).toEqual(Array.from({ length: accepted.length }, (_, i) => i + 1))
    })))

  it.scopedLive("overflow: suspend applies back-pressure and loses nothing", () =>
    live(Effect.gen(function*() {
      const wal = yield* Wal.make({ directory: yield* tempDir, queueCapacity: 2 })
      const seqs = yield* Effect.forEach(Array.from({ length: 200 }, (_, i) => i), (i) => wal.append(bytesOf(i)), {
        concurrency: "unbounded"
      })
      expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
    })))

  it.scopedLive("after close, appends fail with WalClosedError and the lock is released", () =>
    live(Effect.gen(function*() {
      const directory = yield* tempDir
      const wal = yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory })
        yield* wal.append(bytesOf(1))
        return wal
      }))
      const result = yield* Effect.either(wal.append(bytesOf(2)))
      expect(Either.isLeft(result) && result.left._tag).toBe("WalClosedError")
      const sync = yield* Effect.either(wal.sync)
      expect(Either.isLeft(sync) && sync.left._tag).toBe("WalClosedError")
      expect(NodeFs.existsSync(Path.join(directory, "LOCK"))).toBe(false)
      const reopened = yield* Wal.make({ directory })
      expect(reopened.recovery.lockTakenOver).toEqual(Option.none())
      expect(yield* reopened.lastSequence).toBe(1)
    })))

  it.scopedLive("closing drains appends that are still queued", () =>
    live(Effect.gen(function*() {
      const directory = yield* tempDir
      const fibers = yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory, durability: Durability.grouped({ maxDelay: "20 millis" }) })
        return yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (i) => Effect.fork(wal.append(bytesOf(i))))
      }))
      const exits = yield* Effect.forEach(fibers, Fiber.await)
      const acknowledged = exits.filter(Exit.isSuccess).length
      const wal = yield* Wal.make({ directory })
      expect(yield* wal.lastSequence).toBe(acknowledged)
    })))

  it.scopedLive("an interrupted append is still written, and the producers after it are acknowledged", () =>
    live(Effect.gen(function*() {
      const directory = yield* tempDir
      const wal = yield* Wal.make({ directory, durability: Durability.grouped({ maxDelay: "50 millis" }) })
      const waiting = yield* Effect.fork(wal.append(bytesOf(1)))
      yield* Effect.yieldNow()
      expect(Exit.isInterrupted(yield* Fiber.interrupt(waiting))).toBe(true)
      // The interrupted waiter withdrew nothing: its entry takes sequence 1, the next append 2.
      expect(yield* wal.append(bytesOf(2))).toBe(2)
      const entries = yield* collect(wal.replay())
      expect(entries.map((e) => new TextDecoder().decode(e.payload))).toEqual(["entry-1", "entry-2"])
    })))

  it.scopedLive("closing with producers waiting for room: each is acknowledged or fails with WalClosedError", () =>
    live(Effect.gen(function*() {
      const directory = yield* tempDir
      const fibers = yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory, queueCapacity: 1, durability: Durability.grouped({ maxDelay: "20 millis" }) })
        return yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (i) => Effect.forkDaemon(wal.append(bytesOf(i))))
      }))
      const exits = yield* Effect.forEach(fibers, Fiber.await)
      const failed = exits.filter(Exit.isFailure)
      expect(failed.length).toBeGreaterThan(0)
      for (const exit of failed) expect(Cause.failureOption(exit.cause)).toMatchObject(Option.some({ _tag: "WalClosedError" }))
      const wal = yield* Wal.make({ directory })
      expect(yield* wal.lastSequence).toBe(exits.length - failed.length)
    })))

  it.scopedLive("a second writer on the same directory is refused", () =>
    live(Effect.gen(function*() {
      const directory = yield* tempDir
      yield* Wal.make({ directory })
      const second = yield* Effect.either(Effect.scoped(Wal.make({ directory })))
      expect(Either.isLeft(second) && second.left._tag).toBe("WalLockedError")
      expect(Either.isLeft(second) && second.left.message).toContain(`pid ${process.pid}`)
    })))

  it.scopedLive("a lock file whose holder is gone is taken over and reported", () =>
    live(Effect.gen(function*() {
      const directory = yield* tempDir
      yield* Effect.scoped(Wal.make({ directory }))
      const stale = { pid: 2 ** 22 + 12345, hostname: Os.hostname(), token: "gone", acquiredAt: 0 }
      NodeFs.writeFileSync(Path.join(directory, "LOCK"), JSON.stringify(stale))
      const wal = yield* Wal.make({ directory })
      expect(Option.getOrThrow(wal.recovery.lockTakenOver)).toContain(`pid ${stale.pid}`)
      NodeFs.writeFileSync(Path.join(directory, "LOCK.torn"), "")
      expect(wal.recovery.ignoredFiles).toEqual([])
    })))

  it.scopedLive("a torn lock file is taken over", () =>
    live(Effect.gen(function*() {
      const directory = yield* tempDir
      yield* Effect.scoped(Wal.make({ directory }))
      NodeFs.writeFileSync(Path.join(directory, "LOCK"), "{\"pid\": 12")
      const wal = yield* Wal.make({ directory })
      expect(Option.getOrThrow(wal.recovery.lockTakenOver)).toBe("an unreadable lock file")
    })))

  it.effect("the same appends produce the same files byte for byte under the same Clock and Random", () =>
    Effect.gen(function*() {
      const write = () => Effect.scoped(Effect.gen(function*() {
        const directory = yield* tempDir
        yield* Effect.scoped(Effect.gen(function*() {
          const wal = yield* Wal.make({ directory, schema: Event, segmentBytes: 1024 })
          for (let i = 0; i < 40; i++) {
            yield* TestClock.adjust("7 millis")
            if (i % 5 === 0) yield* wal.appendAll([event(i), event(i + 100)])
            else yield* wal.append(event(i))
          }
        }))
        return segmentFiles(directory).map((name) => [name, NodeFs.readFileSync(Path.join(directory, name)).toString("hex")])
      })).pipe(Effect.withRandom(Random.make("seed")), Effect.provide(NodeContext.layer))
      const first = yield* write()
      yield* TestClock.setTime(0)
      const second = yield* write()
      expect(first.length).toBeGreaterThan(3)
      expect(second).toEqual(first)
    }))

  it.effect("timestamps come from the Clock and never go backwards", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      yield* TestClock.setTime(5_000)
      const wal = yield* Wal.make({ directory })
      yield* wal.append(bytesOf(1))
      yield* TestClock.setTime(1_000)
      yield* wal.append(bytesOf(2))
      yield* TestClock.setTime(9_000)
      yield* wal.append(bytesOf(3))
      const entries = yield* collect(wal.replay())
      expect(entries.map((e) => e.timestamp)).toEqual([5_000, 5_000, 9_000])
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)))
})

describe("Wal: durability modes", () => {
  const modes = [
    ["strict", Durability.strict],
    ["grouped", Durability.grouped({ maxDelay: "2 millis" })],
    ["buffered", Durability.buffered({ interval: "5 millis", bytes: 4096 })],
    ["none", Durability.none]
  ] as const

  for (const [name, durability] of modes) {
    it.scopedLive(`${name}: every acknowledged entry is there after close and reopen`, () =>
      live(Effect.gen(function*() {
        const directory = yield* tempDir
        yield* Effect.scoped(Effect.gen(function*() {
          const wal = yield* Wal.make({ directory, durability, segmentBytes: 4096 })
          yield* Effect.forEach(Array.from({ length: 100 }, (_, i) => i), (i) => wal.append(bytesOf(i)), { concurrency: 8 })
          yield* wal.sync
        }))
        const wal = yield* Wal.make({ directory })
        expect(yield* wal.lastSequence).toBe(100)
      })))
  }

  const counting = (durability: Durability.Durability, body: (wal: Wal.Wal<Uint8Array>) => Effect.Effect<void, unknown>) =>
    Effect.gen(function*() {
      const faults: FaultSwitch = { failSync: false, failWrite: undefined, syncs: 0 }
      yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory: yield* tempDir, durability })
        const before = faults.syncs
        yield* body(wal)
        faults.syncs -= before
      })).pipe(Effect.provide(faultyLayer(faults)))
      return faults.syncs
    })

  it.live("strict fsyncs before acknowledging; none fsyncs only on sync and close", () =>
    Effect.gen(function*() {
      const appendTen = (wal: Wal.Wal<Uint8Array>) => Effect.asVoid(Effect.forEach(Array.from({ length: 10 }, (_, i) => i), (i) => wal.append(bytesOf(i))))
      const strictSyncs = yield* counting(Durability.strict, appendTen)
      // One fsync per sequential append; at close nothing is left to sync, and one more fsync
      // makes the cut of the space allocated ahead durable (every count below includes it).
      expect(strictSyncs).toBe(11)
      const noneSyncs = yield* counting(Durability.none, appendTen)
      expect(noneSyncs).toBe(2)
      const withSync = yield* counting(Durability.none, (wal) => Effect.zipRight(appendTen(wal), wal.sync))
      expect(withSync).toBe(2)
    }))

  it.live("buffered fsyncs by volume and by time", () =>
    Effect.gen(function*() {
      const byBytes = yield* counting(Durability.buffered({ interval: "1 hour", bytes: 200 }), (wal) =>
        Effect.asVoid(Effect.forEach(Array.from({ length: 10 }, () => 0), () => wal.append(new Uint8Array(68)))))
      // Each append frames to 100 bytes: every second append reaches 200 unsynced bytes (and the
      // close cuts the space allocated ahead, with one more fsync).
      expect(byBytes).toBe(6)
      const byTime = yield* counting(Durability.buffered({ interval: "20 millis", bytes: 1 << 30 }), (wal) =>
        Effect.gen(function*() {
          yield* wal.append(bytesOf(1))
          yield* Effect.sleep("100 millis")
        }))
      expect(byTime).toBe(2)
    }))

  it.live("strict: appends queued while the writer is asleep share one write and one fsync", () =>
    Effect.gen(function*() {
      const burst = (wal: Wal.Wal<Uint8Array>) =>
        Effect.asVoid(Effect.forEach(Array.from({ length: 64 }, (_, i) => i), (i) => wal.append(bytesOf(i)), { concurrency: "unbounded" }))
      // The first append leaves the writer waiting on an empty queue. In the burst, the first append
      // wakes it and the other 63 are queued before it runs: all 64 join one batch. The third
      // fsync is the close's cut of the space allocated ahead.
      expect(yield* counting(Durability.strict, (wal) => Effect.zipRight(wal.append(bytesOf(0)), burst(wal)))).toBe(3)
    }))

  it.live("grouped gathers concurrent appends into fewer fsyncs than strict", () =>
    Effect.gen(function*() {
      const burst = (wal: Wal.Wal<Uint8Array>) =>
        Effect.asVoid(Effect.forEach(Array.from({ length: 64 }, (_, i) => i), (i) => wal.append(bytesOf(i)), { concurrency: "unbounded" }))
      const grouped = yield* counting(Durability.grouped({ maxDelay: "30 millis" }), burst)
      expect(grouped).toBeGreaterThanOrEqual(1)
      expect(grouped).toBeLessThan(64)
    }))

  it.live("a failed fsync poisons the WAL: the batch and everything after fail until reopen", () =>
    Effect.gen(function*() {
      const faults: FaultSwitch = { failSync: false, failWrite: undefined, syncs: 0 }
      const directory = yield* Effect.scoped(Effect.gen(function*() {
        const directory = yield* tempDir
        NodeFs.mkdirSync(Path.join(directory, "wal"))
        return directory
      })).pipe(Effect.orDie)
      const walDir = Path.join(directory, "wal-" + Date.now())
      yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory: walDir })
        expect(yield* wal.append(bytesOf(1))).toBe(1)
        faults.failSync = true
        const failed = yield* Effect.either(wal.append(bytesOf(2)))
        expect(Either.isLeft(failed) && failed.left._tag).toBe("WalPoisonedError")
        expect(Either.isLeft(failed) && failed.left._tag === "WalPoisonedError" && failed.left.cause.code).toBe("EIO")
        faults.failSync = false
        // Even with the disk healthy again, nothing more is acknowledged.
        const after = yield* Effect.either(wal.append(bytesOf(3)))
        expect(Either.isLeft(after) && after.left._tag).toBe("WalPoisonedError")
        const sync = yield* Effect.either(wal.sync)
        expect(Either.isLeft(sync) && sync.left._tag).toBe("WalPoisonedError")
        expect(yield* wal.lastSequence).toBe(1)
      })).pipe(Effect.provide(faultyLayer(faults)))
      const reopened = yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory: walDir })
        const seqs = (yield* collect(wal.replay())).map((e) => e.seq)
        // The failed batch is "maybe": present or not, but only as part of a gap-free prefix.
        expect(seqs.slice(0, 1)).toEqual([1])
        expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1))
        return yield* wal.append(bytesOf(4))
      })).pipe(Effect.provide(NodeContext.layer))
      expect(reopened).toBeGreaterThanOrEqual(2)
    }))

  it.live("a failed write (ENOSPC) poisons the WAL and keeps the errno code", () =>
    Effect.gen(function*() {
      const faults: FaultSwitch = { failSync: false, failWrite: undefined, syncs: 0 }
      yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory: yield* tempDir })
        yield* wal.append(bytesOf(1))
        faults.failWrite = "ENOSPC"
        const failed = yield* Effect.either(wal.append(bytesOf(2)))
        expect(Either.isLeft(failed) && failed.left._tag === "WalPoisonedError" && failed.left.cause.code).toBe("ENOSPC")
        expect(Either.isLeft(failed) && failed.left.message).toContain("ENOSPC")
        faults.failWrite = undefined
      })).pipe(Effect.provide(faultyLayer(faults)))
    }))
})

describe("Wal: tail", () => {
  it.scopedLive("a tail started before, during and after a burst delivers every entry once, in order", () =>
    live(Effect.gen(function*() {
      const wal = yield* Wal.make({ directory: yield* tempDir, segmentBytes: 2048 })
      const before = yield* Effect.fork(collect(wal.tail().pipe(Stream.take(300))))
      const burst = yield* Effect.fork(Effect.forEach(Array.from({ length: 300 }, (_, i) => i), (i) => wal.append(bytesOf(i)), { concurrency: 4 }))
      yield* Effect.sleep("5 millis")
      const during = yield* Effect.fork(collect(wal.tail({ from: 1 }).pipe(Stream.take(300))))
      yield* Fiber.join(burst)
      const after = yield* collect(wal.tail({ from: 250 }).pipe(Stream.take(51)))
      const expected = Array.from({ length: 300 }, (_, i) => i + 1)
      expect((yield* Fiber.join(before)).map((e) => e.seq)).toEqual(expected)
      expect((yield* Fiber.join(during)).map((e) => e.seq)).toEqual(expected)
      const tailAfter = yield* Effect.fork(collect(wal.tail({ from: 250 }).pipe(Stream.take(52))))
      yield* wal.append(bytesOf(300))
      expect(after.map((e) => e.seq)).toEqual(Array.from({ length: 51 }, (_, i) => i + 250))
      expect((yield* Fiber.join(tailAfter)).map((e) => e.seq)).toEqual(Array.from({ length: 52 }, (_, i) => i + 250))
    })))

  it.scopedLive("chunks of large entries are cut at about 1 MiB, at atomic batch boundaries", () =>
    live(Effect.gen(function*() {
      const wal = yield* Wal.make({ directory: yield* tempDir })
      const entry = 64 * 1024
      for (let b = 0; b < 10; b++) yield* wal.appendAll(Array.from({ length: 10 }, () => new Uint8Array(entry).fill(b)))
      const chunks = Chunk.toArray(yield* Stream.runCollect(Stream.chunks(wal.replay())))
      // Each batch is 640 KiB: a chunk closes at the first batch end past 1 MiB, so it holds two.
      expect(chunks.map((c) => c.length)).toEqual([20, 20, 20, 20, 20])
      expect(chunks.flatMap((c) => Chunk.toArray(c).map((e) => e.payload[0]))).toEqual(
        Array.from({ length: 100 }, (_, i) => Math.floor(i / 10))
      )
    })))

  it.scopedLive("chunks close at the end of the atomic batch that reaches 4,096 entries, so a larger batch is one chunk", () =>
    live(Effect.gen(function*() {
      const wal = yield* Wal.make({ directory: yield* tempDir })
      for (let b = 0; b < 5; b++) yield* wal.appendAll(Array.from({ length: 1000 }, () => new Uint8Array(8).fill(b)))
      yield* wal.appendAll(Array.from({ length: 6000 }, () => new Uint8Array(8).fill(5)))
      const chunks = Chunk.toArray(yield* Stream.runCollect(Stream.chunks(wal.replay())))
      expect(chunks.map((c) => c.length)).toEqual([5000, 6000])
      expect(chunks.flatMap((c) => Chunk.toArray(c).map((e) => e.seq))).toEqual(Array.from({ length: 11000 }, (_, i) => i + 1))
    })))

  it.scopedLive("a tail ends when the WAL closes, after delivering everything committed", () =>
    live(Effect.gen(function*() {
      const directory = yield* tempDir
      const tailed = yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory })
        const tail = yield* Effect.fork(collect(wal.tail()))
        yield* wal.appendAll([bytesOf(1), bytesOf(2), bytesOf(3)])
        return tail
      }))
      expect((yield* Fiber.join(tailed)).map((e) => e.seq)).toEqual([1, 2, 3])
    })))

  it.scopedLive("a tail never delivers an entry before it is acknowledged", () =>
    live(Effect.gen(function*() {
      const faults: FaultSwitch = { failSync: false, failWrite: undefined, syncs: 0 }
      const wal = yield* Wal.make({ directory: yield* tempDir }).pipe(Effect.provide(faultyLayer(faults)))
      yield* wal.append(bytesOf(1))
      const tail = yield* Effect.fork(collect(wal.tail().pipe(Stream.take(2))))
      faults.failSync = true
      yield* Effect.either(wal.append(bytesOf(2)))
      yield* Effect.sleep("20 millis")
      // The entry was written but its fsync failed: it was never acknowledged, so never tailed.
      expect(Option.isNone(yield* Fiber.poll(tail))).toBe(true)
      yield* Fiber.interrupt(tail)
    })))
})

class Events extends Context.Tag("test/Events")<Events, Wal.Wal<Event>>() {}

describe("Wal: layers and readers", () => {
  it.scopedLive("Wal.layer provides a WAL under the user's own tag", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      const program = Effect.gen(function*() {
        const events = yield* Events
        return yield* events.append(event(7))
      })
      const layer = Wal.layer(Events, { directory, schema: Event }).pipe(Layer.provide(NodeContext.layer))
      expect(yield* Effect.provide(program, layer)).toBe(1)
      expect(yield* Effect.provide(program, layer)).toBe(2)
    }))

  it.scopedLive("Wal.layerBytes provides a raw-bytes WAL", () =>
    Effect.gen(function*() {
      class Raw extends Context.Tag("test/Raw")<Raw, Wal.Wal<Uint8Array>>() {}
      const layer = Wal.layerBytes(Raw, { directory: yield* tempDir }).pipe(Layer.provide(NodeContext.layer))
      expect(yield* Effect.provide(Effect.flatMap(Raw, (wal) => wal.append(bytesOf(1))), layer)).toBe(1)
    }))

  it.scopedLive("Wal.reader replays the committed prefix without the lock while a writer is open", () =>
    live(Effect.gen(function*() {
      const directory = yield* tempDir
      const wal = yield* Wal.make({ directory, schema: Event, segmentBytes: 1024 })
      yield* Effect.forEach(Array.from({ length: 50 }, (_, i) => i), (i) => wal.append(event(i)))
      yield* wal.appendAll([event(100), event(101)])
      const reader = yield* Wal.reader({ directory, schema: Event })
      const entries = yield* collect(reader.replay())
      expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 52 }, (_, i) => i + 1))
      expect((yield* collect(reader.replay({ from: 10, to: 12 }))).map((e) => e.payload.n)).toEqual([9, 10, 11])
      // An unfinished batch at the end (a write in progress) is not shown.
      const active = Path.join(directory, segmentFiles(directory).at(-1)!)
      NodeFs.truncateSync(active, writtenSize(active) - 10)
      const partial = yield* collect(reader.replay())
      expect(partial.at(-1)!.seq).toBe(50)
    })))

  it.scopedLive("Wal.reader on an empty directory replays nothing and refuses a foreign codec", () =>
    live(Effect.gen(function*() {
      const directory = yield* tempDir
      expect(yield* collect((yield* Wal.reader({ directory })).replay())).toEqual([])
      yield* Effect.scoped(Effect.flatMap(Wal.make({ directory, schema: Event }), (wal) => wal.append(event(1))))
      const wrong = yield* Effect.either(Stream.runDrain((yield* Wal.reader({ directory })).replay()))
      expect(Either.isLeft(wrong) && wrong.left._tag === "WalFormatError" && wrong.left.problem).toBe("codec-mismatch")
    })))

  it.scopedLive("Codec layers change the bytes and the id; a mismatch is refused at open", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory, schema: Event })
        yield* wal.append(event(1))
        expect(wal.recovery.codecId).toBe("json")
      })).pipe(Effect.provide(NodeContext.layer))
      const mismatch = yield* Effect.either(Effect.scoped(Wal.make({ directory, schema: Event }))).pipe(
        Effect.provide(Layer.merge(NodeContext.layer, Codec.layerMsgPack))
      )
      expect(Either.isLeft(mismatch) && mismatch.left._tag === "WalFormatError" && mismatch.left.problem).toBe("codec-mismatch")
      const raw = yield* Effect.either(Effect.scoped(Wal.make({ directory }))).pipe(Effect.provide(NodeContext.layer))
      expect(Either.isLeft(raw) && raw.left._tag === "WalFormatError" && raw.left.problem).toBe("codec-mismatch")
      const packed = yield* tempDir
      const replayed = yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory: packed, schema: Event })
        yield* wal.append(event(2))
        expect(wal.recovery.codecId).toBe("msgpack+gzip")
        return yield* collect(wal.replay())
      })).pipe(Effect.provide(Layer.merge(NodeContext.layer, Codec.layer(Codec.withTransform(Codec.msgpack, Codec.gzip)))))
      expect(replayed.map((e) => e.payload)).toEqual([event(2)])
    }))

  it.scopedLive("invalid options fail with WalConfigError naming the field", () =>
    live(Effect.gen(function*() {
      const directory = yield* tempDir
      const cases: Array<[Wal.Options, string]> = [
        [{ directory: "" }, "directory"],
        [{ directory, segmentBytes: 10 }, "segmentBytes"],
        [{ directory, segmentBytes: 1.5 }, "segmentBytes"],
        [{ directory, maxEntryBytes: 0 }, "maxEntryBytes"],
        [{ directory, segmentBytes: 4096, maxEntryBytes: 5000 }, "maxEntryBytes"],
        [{ directory, queueCapacity: -1 }, "queueCapacity"],
        [{ directory, overflow: "drop" as "fail" }, "overflow"],
        [{ directory, verify: "some" as "full" }, "verify"],
        [{ directory, durability: Durability.grouped({ maxDelay: 0 }) }, "durability"],
        [{ directory, durability: Durability.buffered({ interval: "1 second", bytes: 0 }) }, "durability"]
      ]
      for (const [options, field] of cases) {
        const result = yield* Effect.either(Effect.scoped(Wal.make(options)))
        expect(Either.isLeft(result) && result.left._tag).toBe("WalConfigError")
        expect(Either.isLeft(result) && result.left._tag === "WalConfigError" && result.left.field.startsWith(field)).toBe(true)
      }
      const badCodec = yield* Effect.either(Effect.scoped(Wal.make({ directory, schema: Event }))).pipe(
        Effect.provide(Layer.succeed(Codec.Codec, { ...Codec.json, id: "has space" }))
      )
      expect(Either.isLeft(badCodec) && badCodec.left._tag).toBe("WalConfigError")
    })))

  for (const syncAccess of [true, false]) {
    it.scoped(`a replay whose next read fails stops with WalIOError naming the read (syncAccess: ${syncAccess})`, () =>
      Effect.gen(function*() {
        const directory = "/wal"
        // 2 MiB of payloads in batches of 64: the first chunk closes at the batch that passes
        // 1 MiB, so the next pull reads again.
        yield* Effect.scoped(Effect.flatMap(
          Wal.make({ directory, durability: Durability.none }),
          (wal) => Effect.repeatN(wal.appendAll(Array.from({ length: 64 }, () => new Uint8Array(1024).fill(7))), 31)
        ))
        const reader = yield* Wal.reader({ directory })
        const pull = yield* Stream.toPull(reader.replay())
        const first = yield* pull
        expect(Chunk.size(first)).toBeGreaterThan(0)
        expect(Chunk.size(first)).toBeLessThan(2048)
        // Every file operation from now on fails, as after a crash of the machine.
        yield* Effect.flatMap(MemoryFileSystem.Control, (control) => control.haltAfter(0))
        const failure = yield* Effect.flip(pull)
        expect(Option.isSome(failure) && failure.value._tag).toBe("WalIOError")
        expect(Option.isSome(failure) && failure.value._tag === "WalIOError" && [failure.value.operation, failure.value.code])
          .toEqual(["read", "ECRASHED"])
      }).pipe(Effect.provide(MemoryFileSystem.layerWith({ syncAccess }))))
  }
})
