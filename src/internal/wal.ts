/**
 * Assembly of an open WAL: options, recovery, the writer fiber and its maintenance, wired to the
 * append API (`write/appender.ts`), the streams (`read/readers.ts`) and close (`write/close.ts`);
 * and the read-only `Wal.reader`.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Config, ConfigError, Effect, FiberRef, Metric, Option, Queue, Schema, Scope, Stream } from "effect"
import * as Archiver from "../Archiver.js"
import * as Codec from "../Codec.js"
import type {
  ConfigOptions,
  OpenConfigError,
  Options,
  ReadError,
  ReadOptions,
  SegmentInfo,
  Wal,
  WalEntry,
  WalReader
} from "../Wal.js"
import { WalConfigError } from "../WalError.js"
import { resolve } from "./config.js"
import * as Metrics from "./metrics.js"
import { PressureGauge } from "./metrics.js"
import * as Payload from "./payload.js"
import { directorySource } from "./read/directorySource.js"
import { LiveWindow } from "./read/liveWindow.js"
import { LogCursor } from "./read/logReader.js"
import { checkRange, cursorStream, makeReaders } from "./read/readers.js"
import { recover } from "./recovery.js"
import { Signal } from "./signal.js"
import { openSpan, replaySpan } from "./tracing.js"
import { makeAppender } from "./write/appender.js"
import { close, type CloseStatus } from "./write/close.js"
import { Lifecycle } from "./write/lifecycle.js"
import { type Request, RequestQueue } from "./write/queue.js"
import { type BatchReport, run, type WriterState } from "./write/writer.js"

const payloadCodecFor = <A, I>(schema: Schema.Schema<A, I, never> | undefined) =>
  schema === undefined
    ? Effect.succeed(Payload.make<A, I>(undefined, Codec.bytes))
    : Effect.map(Effect.flatMap(Codec.current, Codec.validate), (codec) => Payload.make(schema, codec))

/** Opens a WAL for writing; see `Wal.make`. */
export const make = <A, I>(options: Options<A, I>) =>
  Effect.gen(function*() {
    const config = yield* resolve(options)
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const payload = yield* payloadCodecFor(options.schema)
    const archiver = Option.getOrElse(yield* Effect.serviceOption(Archiver.Archiver), () => Archiver.deleting(fs))
    const directory = config.directory
    const metrics = Metrics.make(directory)
    const clock = yield* Effect.clock
    const recovered = yield* recover(fs, config, payload.id).pipe(openSpan(directory, config.verify))
    const report = recovered.report
    yield* Metric.set(metrics.recoveryDuration, report.elapsedMillis / 1000)
    yield* Metric.set(metrics.recoveryFrames, report.framesVerified)
    yield* Metric.incrementBy(metrics.recoveryTruncatedBytes, Option.match(report.tornTail, { onNone: () => 0, onSome: (t) => t.bytes }))
    yield* Metric.set(metrics.segments, recovered.segments.length)
    // Owned by the writer (see docs/design.md, "One owner per piece of state").
    const state: WriterState = {
      snapshot: {
        sealed: recovered.segments.slice(0, -1),
        active: recovered.segments[recovered.segments.length - 1]!,
        committed: recovered.lastSequence,
        committedCheckpoint: recovered.lastCheckpoint
      },
      nextSequence: recovered.lastSequence + 1,
      lastTimestamp: recovered.lastTimestamp,
      lastCheckpoint: recovered.lastCheckpoint,
      poisoned: undefined,
      committedSignal: new Signal()
    }
    const status: CloseStatus = { closing: false, closed: false }
    const lifecycle = new Lifecycle(fs, path, directory, () => state.snapshot, archiver, metrics)
    yield* lifecycle.archiveLeftover(recovered.leftover)

    const queue = new RequestQueue(config.queueCapacity, config.queueBytes)
    const live = new LiveWindow()
    const pressure = new PressureGauge({
      fsyncMillis: config.saturation.fsyncMillis,
      queueEntries: config.queueCapacity * config.saturation.queueFraction,
      queueBytes: config.queueBytes * config.saturation.queueFraction
    })
    const maintenance = yield* Queue.sliding<void>(1)
    // Metric updates from the writer keep the labels of the fiber that opened the WAL.
    const labels = yield* FiberRef.get(FiberRef.currentMetricLabels)

    const afterBatch = (requests: ReadonlyArray<Request>, batch: BatchReport | undefined) => {
      queue.release(requests)
      metrics.queueDepth.unsafeUpdate(queue.size, labels)
      if (batch === undefined) return
      metrics.appends.unsafeUpdate(batch.entries, labels)
      metrics.bytesWritten.unsafeUpdate(batch.bytes, labels)
      if (batch.entries > 0) metrics.batchSize.unsafeUpdate(batch.entries, labels)
      for (const seconds of batch.fsyncSeconds) metrics.fsyncDuration.unsafeUpdate(seconds, labels)
      if (batch.rotated) {
        metrics.segments.unsafeUpdate(lifecycle.segments().length, labels)
        maintenance.unsafeOffer(undefined)
      }
      pressure.record(batch, clock.unsafeCurrentTimeMillis(), queue.size, queue.bytes)
    }

    const writerScope = yield* Scope.make()
    const writer = yield* run({
      fs,
      path,
      config,
      walId: recovered.walId,
      seed: recovered.seed,
      codecId: payload.id,
      state,
      queue,
      live,
      afterBatch,
      firstKept: () => lifecycle.firstKept
    }).pipe(Scope.extend(writerScope), Effect.forkDaemon)

    yield* Effect.addFinalizer(() => close({ directory, state, status, queue, writer, writerScope, pressure }))

    // Retention after rotations and removal of reclaimed segments once their readers are done.
    // Archiving in the background can fail (a full disk, an unreachable archive): the segments
    // stay reclaimable and the next attempt retries; the failure is logged.
    yield* Queue.take(maintenance).pipe(
      Effect.zipRight(config.retention === undefined ? lifecycle.sweep : lifecycle.retain(config.retention, config.segmentBytes)),
      Effect.catchAll((error) => Effect.logWarning("effect-wal: reclaiming segments failed", error)),
      Effect.forever,
      Effect.forkScoped
    )

    const reclaim = (sequence: number) =>
      Number.isSafeInteger(sequence)
        ? lifecycle.reclaim(sequence)
        : Effect.fail(new WalConfigError({ field: "sequence", detail: `must be an integer, got ${sequence}` }))

    const segments = Effect.sync(() =>
      lifecycle.segments().map((segment): SegmentInfo => ({
        index: segment.index,
        name: segment.name,
        firstSequence: segment.firstSequence,
        lastSequence: segment.lastSequence,
        bytes: segment.size,
        status: lifecycle.isReclaimed(segment) ? "archived" : segment.sealed ? "sealed" : "active"
      }))
    )

    const appender = makeAppender({ directory, config, payload, queue, state, status })
    const readers = makeReaders({ fs, directory, seed: recovered.seed, payload, state, status, lifecycle, live, maintenance })

    const wal: Wal<A> = {
      directory,
      ...appender,
      ...readers,
      lastSequence: Effect.sync(() => state.snapshot.committed),
      lastCheckpoint: Effect.sync(() => state.snapshot.committedCheckpoint),
      reclaim,
      segments,
      pressure: {
        current: Effect.sync(() => pressure.snapshot(queue.size, queue.bytes)),
        changes: pressure.changes
      },
      recovery: report
    }
    return wal
  })

/** Opens a read-only view; see `Wal.reader`. */
export const reader = <A, I>(options: ReadOptions<A, I>) =>
  Effect.gen(function*() {
    const config = yield* resolve({ directory: options.directory, maxEntryBytes: options.maxEntryBytes })
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const payload = yield* payloadCodecFor(options.schema)
    const directory = config.directory

    // Listed afresh by every replay; see `directorySource` for what a read-only reader guarantees.
    const snapshot = directorySource(fs, directory, payload.id).pipe(Effect.provideService(Path.Path, path))

    const replay = (options?: { readonly from?: number; readonly to?: number }): Stream.Stream<WalEntry<A>, ReadError> =>
      Option.match(checkRange(options), {
        onSome: Stream.die,
        onNone: () =>
          Stream.unwrap(Effect.map(snapshot, Option.match({
            onNone: () => Stream.empty,
            onSome: (source) =>
              cursorStream(
                new LogCursor(fs, source, payload, Math.max(options?.from ?? 1, 1)),
                options?.to ?? Number.POSITIVE_INFINITY
              )
          }))).pipe(replaySpan(directory, options?.from ?? 1, options?.to))
      })

    const view: WalReader<A> = { directory, replay }
    return view
  })

/** Opens a WAL for writing with every option read from `Config`; see `Wal.makeConfig`. */
export const makeConfig = <A, I>(
  options: ConfigOptions & { readonly schema?: Schema.Schema<A, I, never> }
): Effect.Effect<Wal<A>, OpenConfigError, FileSystem.FileSystem | Path.Path | Scope.Scope> => {
  const { schema, ...configs } = options
  return Effect.flatMap(Config.all(configs), (values) =>
    make({ ...values, ...(schema === undefined ? {} : { schema }) }).pipe(
      Effect.catchIf(
        (error): error is WalConfigError => error instanceof WalConfigError,
        (error) => Effect.fail(ConfigError.InvalidData(error.field.split("."), error.detail))
      )
    ))
}
