/**
 * The smoke suite under Bun, on `@effect/platform-bun`: `.ci/run` runs it with `bun
 * test/bun/smoke.ts`. It opens a WAL on Bun's FileSystem and Path, appends, reopens and replays,
 * checks that a second writer is locked out, reads options from Config, and crashes and reopens a
 * service on MemoryFileSystem. Exits non-zero on the first failed check.
 *
 * Bun's FileSystem is wrapped by `NodeFastFileSystem.make`: Bun (1.4) ignores the position of
 * `fs.write(fd, buffer, undefined, undefined, position)`, the call `@effect/platform-bun`'s files
 * make, and writes at the file's current offset instead, so a WAL segment written through
 * `BunContext.layer` alone has its header overwritten by its first frame. `NodeFastFileSystem`
 * writes with `fs.writeSync(fd, buffer, 0, length, position)`, which Bun honours.
 */
import { BunContext } from "@effect/platform-bun"
import * as FileSystem from "@effect/platform/FileSystem"
import { Config, ConfigProvider, Effect, Layer, Schema, Stream } from "effect"
import * as assert from "node:assert/strict"
import { Durability, MemoryFileSystem, Testing, Wal } from "../../src/index.js"
import { NodeFastFileSystem } from "../../src/node.js"

const Event = Schema.Struct({ n: Schema.Number })

const check = <R>(name: string, effect: Effect.Effect<void, unknown, R>) =>
  Effect.tap(effect, () => Effect.sync(() => console.log(`ok - ${name}`)))

const onDisk = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const directory = yield* fs.makeTempDirectoryScoped({ prefix: "effect-wal-bun-" })

  yield* check("append, reopen and replay", Effect.gen(function*() {
    yield* Effect.scoped(Effect.gen(function*() {
      const wal = yield* Wal.make({ directory, schema: Event, segmentBytes: 1024 })
      for (let n = 1; n <= 50; n++) yield* wal.append({ n })
      yield* wal.appendAll([{ n: 51 }, { n: 52 }])
    }))
    const wal = yield* Effect.scoped(Effect.gen(function*() {
      const wal = yield* Wal.make({ directory, schema: Event })
      const entries = yield* Stream.runCollect(wal.replay())
      assert.deepEqual([...entries].map((entry) => entry.payload.n), Array.from({ length: 52 }, (_, i) => i + 1))
      return wal.recovery
    }))
    assert.equal(wal.lastSequence, 52)
    assert.ok(wal.segments > 1)
  }))

  yield* check("a second writer is locked out", Effect.scoped(Effect.gen(function*() {
    yield* Wal.make({ directory: `${directory}/locked` })
    const error = yield* Effect.flip(Wal.make({ directory: `${directory}/locked` }))
    assert.equal(error._tag, "WalLockedError")
  })))

  yield* check("options from Config", Effect.scoped(Effect.gen(function*() {
    const wal = yield* Wal.makeConfig({
      directory: Config.string("WAL_DIR"),
      durability: Durability.config.pipe(Config.nested("durability"))
    }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["WAL_DIR", `${directory}/config`], ["durability.mode", "none"]]))))
    assert.equal(yield* wal.append(new Uint8Array([1])), 1)
  })))
}).pipe(
  Effect.scoped,
  Effect.provide(
    Layer.effect(FileSystem.FileSystem, Effect.map(FileSystem.FileSystem, NodeFastFileSystem.make)).pipe(
      Layer.provideMerge(BunContext.layer)
    )
  )
)

const inMemory = check("crash and reopen on MemoryFileSystem", Effect.gen(function*() {
  const layer = Wal.layer(Events, { directory: "/wal", schema: Event })
  const replayed = yield* Testing.crashAndReopen(layer, {
    before: Effect.flatMap(Events, (wal) => wal.append({ n: 7 })),
    after: () => Effect.flatMap(Events, (wal) => Stream.runCollect(wal.replay()))
  })
  assert.deepEqual([...replayed].map((entry) => entry.payload), [{ n: 7 }])
})).pipe(Effect.provide(MemoryFileSystem.layer))

class Events extends Effect.Tag("Events")<Events, Wal.Wal<typeof Event.Type>>() {}

await Effect.runPromise(Effect.zipRight(onDisk, inMemory)).catch((error) => {
  console.error("not ok -", error)
  process.exit(1)
})
