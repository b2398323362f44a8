/**
 * `Wal.metrics(directory)` finds the metrics of a WAL however its directory was spelled, and the
 * types of the public API are nameable: `WalMetrics`, and read error channels that hold only what
 * a read can raise.
 */
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Effect, Metric, type Stream } from "effect"
import { MemoryFileSystem, Wal, type WalError } from "../src/index.js"
import { directoryTag } from "../src/internal/metrics.js"

describe("Wal.metrics", () => {
  it.scoped("finds the metrics of a WAL opened with a trailing separator", () =>
    Effect.gen(function*() {
      const wal = yield* Wal.make({ directory: "/data/metrics-wal/" })
      yield* wal.append(new Uint8Array([1, 2, 3]))
      yield* wal.append(new Uint8Array([4]))
      const metrics: Wal.WalMetrics = Wal.metrics("/data/metrics-wal")
      expect((yield* Metric.value(metrics.appends)).count).toBe(2)
      expect((yield* Metric.value(Wal.metrics("/data//./metrics-wal").segments)).value).toBe(1)
    }).pipe(Effect.provide(MemoryFileSystem.layer)))

  it("normalises directories lexically", () => {
    expect(directoryTag("/data/wal/")).toBe("/data/wal")
    expect(directoryTag("/data//wal")).toBe("/data/wal")
    expect(directoryTag("./data/./wal")).toBe("data/wal")
    expect(directoryTag("data/../wal")).toBe("data/../wal")
    expect(directoryTag("/")).toBe("/")
    expect(directoryTag(".")).toBe(".")
    expect(directoryTag("C:\\data\\wal\\")).toBe("C:\\data\\wal")
  })
})

describe("read error channels", () => {
  it("hold only what a read can raise", () => {
    type ReplayError = Stream.Stream.Error<ReturnType<Wal.Wal<string>["replay"]>>
    type TailError = Stream.Stream.Error<ReturnType<Wal.Wal<string>["tail"]>>
    type BytesError = Stream.Stream.Error<ReturnType<Wal.Wal<string>["streamBytes"]>>
    expectTypeOf<Extract<ReplayError, WalError.WalConfigError>>().toEqualTypeOf<never>()
    expectTypeOf<Extract<TailError, WalError.WalConfigError>>().toEqualTypeOf<never>()
    expectTypeOf<BytesError>().toEqualTypeOf<WalError.WalIOError | WalError.WalCorruptionError>()
  })
})
