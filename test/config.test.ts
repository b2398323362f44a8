/**
 * Options from `Config`: `Wal.layerConfig` / `Wal.makeConfig` read every option through the
 * current `ConfigProvider`, and every configuration problem, missing, malformed or refused by the
 * WAL, is a `ConfigError`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Config, ConfigError, ConfigProvider, Context, Effect, Layer, Schedule, Schema } from "effect"
import { Durability, MemoryFileSystem, Wal } from "../src/index.js"

const Event = Schema.Struct({ n: Schema.Number })
class Events extends Context.Tag("Events")<Events, Wal.Wal<typeof Event.Type>>() {}

const options = {
  schema: Event,
  directory: Config.string("WAL_DIR"),
  durability: Durability.config.pipe(Config.nested("durability")),
  segmentBytes: Config.integer("SEGMENT_BYTES"),
  overflow: Config.literal("suspend", "fail")("OVERFLOW"),
  queueCapacity: Config.integer("QUEUE_CAPACITY"),
  retention: Config.all({ maxSegments: Config.integer("MAX_SEGMENTS") })
}

const withConfig = (entries: Record<string, string>) => Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(entries))))

const complete = {
  WAL_DIR: "/data/wal",
  "durability.mode": "grouped",
  "durability.maxDelay": "2 millis",
  SEGMENT_BYTES: "1024",
  OVERFLOW: "fail",
  QUEUE_CAPACITY: "4",
  MAX_SEGMENTS: "3"
}

/** Opens `Events` from `entries` and returns the configuration error, if opening failed. */
const openError = (entries: Record<string, string>) =>
  Effect.scoped(Layer.build(Wal.layerConfig(Events, options))).pipe(
    Effect.flip,
    Effect.provide([MemoryFileSystem.layer, withConfig(entries)])
  )

describe("Wal.layerConfig", () => {
  it.scopedLive("opens the WAL with every option read from the ConfigProvider", () =>
    Effect.gen(function*() {
      const wal = yield* Events
      expect(wal.directory).toBe("/data/wal")
      for (let n = 0; n < 30; n++) yield* wal.appendAll(Array.from({ length: 10 }, (_, i) => ({ n: n * 10 + i })))
      // 1 KiB segments, at most 3 kept: the retention from Config reclaims the oldest ones, in
      // the background after a rotation.
      yield* wal.segments.pipe(
        Effect.repeat({ until: (segments) => segments[0]!.index > 1, schedule: Schedule.spaced("1 millis") })
      )
      const segments = yield* wal.segments
      expect(segments.filter((s) => s.status !== "archived").length).toBeLessThanOrEqual(3)
      expect(yield* Effect.flip(Effect.replicateEffect(wal.append({ n: 0 }), 10_000, { concurrency: "unbounded" })))
        .toMatchObject({ _tag: "WalOverloadedError" })
      expect((yield* Wal.makeConfig({ directory: Config.succeed("/data/other") })).directory).toBe("/data/other")
    }).pipe(Effect.provide(Wal.layerConfig(Events, options).pipe(Layer.provideMerge(MemoryFileSystem.layer), Layer.provide(withConfig(complete))))))

  it.effect("a missing option is a ConfigError naming it", () =>
    Effect.gen(function*() {
      const { WAL_DIR: _, ...rest } = complete
      const error = yield* openError(rest)
      expect(ConfigError.isConfigError(error)).toBe(true)
      expect(ConfigError.isMissingData(error as ConfigError.ConfigError)).toBe(true)
      expect(String(error)).toContain("WAL_DIR")
    }))

  it.effect("a malformed value is a ConfigError", () =>
    Effect.gen(function*() {
      const error = yield* openError({ ...complete, SEGMENT_BYTES: "big" })
      expect(ConfigError.isConfigError(error)).toBe(true)
      expect(String(error)).toContain("SEGMENT_BYTES")
    }))

  it.effect("a value the WAL refuses is ConfigError.InvalidData at the option's path", () =>
    Effect.gen(function*() {
      const error = yield* openError({ ...complete, SEGMENT_BYTES: "10" })
      expect(ConfigError.isConfigError(error)).toBe(true)
      const invalid = error as ConfigError.InvalidData
      expect(invalid._op).toBe("InvalidData")
      expect(invalid.path).toEqual(["segmentBytes"])
      expect(invalid.message).toBe("must be between 1024 and 4294967295")
    }))

  it.effect("a grouped durability without its maxDelay is a ConfigError", () =>
    Effect.gen(function*() {
      const { "durability.maxDelay": _, ...rest } = complete
      const error = yield* openError(rest)
      expect(ConfigError.isConfigError(error)).toBe(true)
      expect(String(error)).toContain("maxDelay")
    }))
})

describe("Durability.config", () => {
  const read = (entries: Record<string, string>) =>
    Effect.withConfigProvider(Durability.config, ConfigProvider.fromMap(new Map(Object.entries(entries))))

  it.effect("reads each mode, strict by default", () =>
    Effect.gen(function*() {
      expect(yield* read({})).toEqual(Durability.strict)
      expect(yield* read({ mode: "none" })).toEqual(Durability.none)
      expect(yield* read({ mode: "grouped", maxDelay: "5 millis" })).toEqual(Durability.grouped({ maxDelay: "5 millis" }))
      expect(yield* read({ mode: "buffered", interval: "1 seconds", bytes: "4096" })).toEqual(
        Durability.buffered({ interval: "1 seconds", bytes: 4096 })
      )
      expect(ConfigError.isConfigError(yield* Effect.flip(read({ mode: "buffered", interval: "1 seconds" })))).toBe(true)
      expect(ConfigError.isConfigError(yield* Effect.flip(read({ mode: "fast" })))).toBe(true)
    }))
})
