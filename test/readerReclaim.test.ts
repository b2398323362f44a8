/**
 * Read-only readers (`Wal.reader`, `Inspect.entries`, the CLI's `dump`) while the writer reclaims
 * in another fiber: the reclamation is placed deterministically between the reader's directory
 * listing and its first open of a segment, on the in-memory file system and on a real directory.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import { Inspect, MemoryFileSystem, Wal } from "../src/index.js"
import { collect, tempDir } from "./helpers.js"

/**
 * A FileSystem that runs `hook.run` once, before the next file is opened: after the reader listed
 * the directory, before it opens a segment.
 */
const reclaimingBeforeOpen = (hook: { run: Effect.Effect<void> | undefined }) =>
  Effect.map(FileSystem.FileSystem, (fs): FileSystem.FileSystem => ({
    ...fs,
    open: (path, options) =>
      Effect.suspend(() => {
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

const suite = (name: string, layer: Layer.Layer<FileSystem.FileSystem | import("@effect/platform/Path").Path>, directory: Effect.Effect<string, never, any>) =>
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
