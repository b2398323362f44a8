/**
 * Read-only readers (`Wal.reader`, `Inspect.entries`, the CLI's `dump`) while the writer reclaims:
 * in another fiber, with the reclamation placed deterministically between the reader's directory
 * listing and its first open of a segment, on the in-memory file system and on a real directory;
 * and in another process that reclaims a segment every few appends.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, type Layer, Stream } from "effect"
import { Inspect, MemoryFileSystem, Wal } from "../src/index.js"
import { collect, tempDir } from "./helpers.js"
import { compiled, startNode } from "./processes.js"

/**
 * A FileSystem that runs `hook.run` once, before a file is opened after `hook.after` more opens
 * (none by default): after the reader listed the directory, before it opens a segment.
 */
const reclaimingBeforeOpen = (hook: { run: Effect.Effect<void> | undefined; after?: number }) =>
  Effect.map(FileSystem.FileSystem, (fs): FileSystem.FileSystem => ({
    ...fs,
    open: (path, options) =>
      Effect.suspend(() => {
        if (hook.after !== undefined && hook.after > 0) {
          hook.after--
          return fs.open(path, options)
        }
        const run = hook.run
        hook.run = undefined
        return Effect.zipRight(run ?? Effect.void, fs.open(path, options))
      })
  }))

/** 40 entries of 100 bytes in 1 KiB segments (six entries a segment), the writer left open. */
const writer = (directory: string) =>
  Effect.gen(function*() {
    const wal = yield* Wal.make({ directory, segmentBytes: 1024 })
    for (let i = 1; i <= 40; i++) yield* wal.append(new Uint8Array(100).fill(i))
    return wal
  })

const suite = (name: string, layer: Layer.Layer<FileSystem.FileSystem | Path.Path>, directory: Effect.Effect<string, never, any>) =>
  describe(`read-only readers while the writer reclaims (${name})`, () => {
    it.scopedLive("Wal.reader replays a retained range when segments go between its listing and its open", () =>
      Effect.gen(function*() {
        const dir = yield* directory
        const wal = yield* writer(dir)
        const hook: { run: Effect.Effect<void> | undefined } = { run: undefined }
        const fs = yield* reclaimingBeforeOpen(hook)
        const reader = yield* Wal.reader({ directory: dir }).pipe(Effect.provideService(FileSystem.FileSystem, fs))
        hook.run = Effect.asVoid(Effect.orDie(wal.reclaim(20)))
        const entries = yield* collect(reader.replay({ from: 30 }))
        expect(hook.run).toBeUndefined()
        expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 11 }, (_, i) => 30 + i))
        // From the start: the entries reclaimed meanwhile are skipped, the rest is whole.
        hook.run = Effect.asVoid(Effect.orDie(wal.reclaim(30)))
        const all = (yield* collect(reader.replay())).map((e) => e.seq)
        expect(all.at(-1)).toBe(40)
        expect(all).toEqual(Array.from({ length: all.length }, (_, i) => all[0]! + i))
        expect(all[0]).toBeLessThanOrEqual(30)
      }).pipe(Effect.provide(layer)))

    const readers: ReadonlyArray<readonly [string, (dir: string, fs: FileSystem.FileSystem) => Stream.Stream<{ readonly seq: number }, unknown, Path.Path>]> = [
      ["Wal.reader", (dir, fs) =>
        Stream.unwrap(Effect.map(Wal.reader({ directory: dir }), (reader) => reader.replay({ from: 20 }))).pipe(
          Stream.provideService(FileSystem.FileSystem, fs)
        )],
      ["Inspect.entries", (dir, fs) => Inspect.entries(dir, { from: 20 }).pipe(Stream.provideService(FileSystem.FileSystem, fs))]
    ]
    for (const [name, read] of readers) {
      it.scopedLive(`${name}: once entries were delivered, a segment reclaimed before it is opened fails the read with ENOENT, never a gap`, () =>
        Effect.gen(function*() {
          const dir = yield* directory
          const wal = yield* writer(dir)
          // Six entries a segment: 19-24 is opened first, 25-30 is reclaimed before it is opened.
          const hook = { run: Effect.asVoid(Effect.orDie(wal.reclaim(31))) as Effect.Effect<void> | undefined, after: 1 }
          const fs = yield* reclaimingBeforeOpen(hook)
          const seqs: Array<number> = []
          const error = yield* read(dir, fs).pipe(Stream.runForEach((entry) => Effect.sync(() => seqs.push(entry.seq))), Effect.flip)
          expect(hook.run).toBeUndefined()
          expect(seqs).toEqual([20, 21, 22, 23, 24])
          expect(error).toMatchObject({ _tag: "WalIOError", code: "ENOENT" })
          expect((error as { path: string }).path).toMatch(/00000000000000000005-00000000000000000025\.wal$/)
        }).pipe(Effect.provide(layer)))
    }

    it.scopedLive("Inspect.entries (dump) streams a retained range when segments go between its listing and its reads", () =>
      Effect.gen(function*() {
        const dir = yield* directory
        const wal = yield* writer(dir)
        const hook: { run: Effect.Effect<void> | undefined } = { run: Effect.asVoid(Effect.orDie(wal.reclaim(20))) }
        const fs = yield* reclaimingBeforeOpen(hook)
        const entries = yield* collect(Inspect.entries(dir, { from: 30 })).pipe(Effect.provideService(FileSystem.FileSystem, fs))
        expect(hook.run).toBeUndefined()
        expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 11 }, (_, i) => 30 + i))
      }).pipe(Effect.provide(layer)))
  })

suite("MemoryFileSystem", MemoryFileSystem.layer, Effect.succeed("/wal"))
suite("real directory", NodeContext.layer, tempDir)

describe("read-only readers while a writer process reclaims", () => {
  it.scopedLive("every replay of a retained range is whole", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const child = yield* Effect.acquireRelease(
        Effect.sync(() => startNode(compiled("test/fixtures/reclaimer.ts"), [dir])),
        (child) => Effect.sync(() => child.kill("SIGKILL"))
      )
      let acked = 0
      child.stdout.on("data", (data: Buffer) => {
        for (const line of data.toString("utf8").split("\n")) if (line.startsWith("ack ")) acked = Math.max(acked, Number(line.slice(4)))
      })
      yield* Effect.sleep("50 millis").pipe(Effect.repeat({ until: () => acked >= 100 }))
      const reader = yield* Wal.reader({ directory: dir })
      let whole = 0
      let overtaken = 0
      /** The sequences a read delivered, and its failure if it had one. */
      const run = <R>(stream: Stream.Stream<{ readonly seq: number }, unknown, R>) => {
        const seqs: Array<number> = []
        return Effect.map(
          Effect.either(Stream.runForEach(stream, (entry) => Effect.sync(() => seqs.push(entry.seq)))),
          (result) => ({ seqs, error: result._tag === "Left" ? result.left : undefined })
        )
      }
      for (let round = 0; round < 40; round++) {
        // Four segments of six entries are retained: twelve entries back is retained when the
        // replay starts, though the writer may reclaim it (and, on a slow machine, all of the
        // range) before the read gets there. What a replay delivers is contiguous: it ends at
        // `to`, or the replay fails with ENOENT where the writer overtook it.
        const to = acked
        const from = to - 12
        const reads = yield* Effect.all([run(reader.replay({ from, to })), run(Inspect.entries(dir, { from, to }))])
        for (const { error, seqs } of reads) {
          expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i))
          if (seqs.length > 0) expect(seqs[0]).toBeGreaterThanOrEqual(from)
          if (error !== undefined) {
            expect(error).toMatchObject({ _tag: "WalIOError", code: "ENOENT" })
            overtaken++
          } else if (seqs.length > 0) {
            expect(seqs.at(-1)).toBe(to)
            whole++
          }
        }
        yield* Effect.sleep("5 millis")
      }
      console.log(`reader-reclaim process test: ${whole} whole reads, ${overtaken} overtaken by reclamation`)
      expect(whole).toBeGreaterThan(0)
    }).pipe(Effect.provide(NodeContext.layer)))
})
