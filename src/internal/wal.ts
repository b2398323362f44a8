/**
 * Assembly of an open WAL: options, recovery, the writer fiber, the append API, and the streams
 * that read the log.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Chunk, Effect, Exit, Fiber, FiberRef, Metric, Option, Queue, Schema, Scope, Stream } from "effect"
import * as Archiver from "../Archiver.js"
import * as Codec from "../Codec.js"
import type { AppendError, Options, ReadError, ReadOptions, SegmentInfo, Wal, WalEntry, WalReader } from "../Wal.js"
import {
  type WalClosedError as WalClosed,
  WalClosedError,
  type WalCodecError,
  WalConfigError,
  WalEntryTooLargeError,
  WalOverloadedError,
  type WalPoisonedError
} from "../WalError.js"
import { resolve } from "./config.js"
import { FORMAT_MAX_PAYLOAD, FRAME_HEADER_SIZE, FrameKind, HEADER_SIZE, SEAL_FRAME_SIZE } from "./format/constants.js"
import { Lifecycle } from "./write/lifecycle.js"
import { type LeaderView, streamBytes } from "./read/replication.js"
import { LiveWindow } from "./read/liveWindow.js"
import { directorySource } from "./read/directorySource.js"
import { LogCursor, readChunk, readLiveChunk, type SegmentSource } from "./read/logReader.js"
import * as Metrics from "./metrics.js"
import { PressureGauge } from "./metrics.js"
import * as Payload from "./payload.js"
import { recover } from "./recovery.js"
import { Signal } from "./signal.js"
import { openSpan, replaySpan } from "./tracing.js"
import { Request, RequestKind, RequestQueue } from "./write/queue.js"
import { committedSize, segmentFor } from "./write/snapshot.js"
import { type BatchReport, run, type WriterState } from "./write/writer.js"

const payloadCodecFor = <A, I>(schema: Schema.Schema<A, I, never> | undefined) =>
  schema === undefined
    ? Effect.succeed(Payload.make<A, I>(undefined, Codec.bytes))
    : Effect.map(Effect.flatMap(Codec.current, Codec.validate), (codec) => Payload.make(schema, codec))

/** Validates `from` / `to` of a read; a bound that is not an integer is a defect of the caller. */
const checkRange = (options: { readonly from?: number; readonly to?: number } | undefined) => {
  for (const field of ["from", "to"] as const) {
    const value = options?.[field]
    if (value !== undefined && !Number.isSafeInteger(value)) {
      return Option.some(new WalConfigError({ field, detail: `must be an integer, got ${value}` }))
    }
  }
  return Option.none()
}

/** A stream of chunks pulled from a cursor; `pull` returns an empty chunk to end the stream. */
const cursorStream = <A>(
  cursor: LogCursor<A>,
  pull: (cursor: LogCursor<A>) => Effect.Effect<Chunk.Chunk<WalEntry<A>>, ReadError>
): Stream.Stream<WalEntry<A>, ReadError> =>
  Stream.unwrapScoped(
    Effect.as(
      Effect.addFinalizer(() => cursor.dispose()),
      Stream.repeatEffectChunkOption(
        Effect.flatMap(Effect.mapError(pull(cursor), Option.some), (chunk) =>
          Chunk.isEmpty(chunk) ? Effect.fail(Option.none()) : Effect.succeed(chunk))
      )
    )
  )

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
    /** Owned by close: set when the scope begins closing, and once the writer has stopped. */
    const status = { closing: false, closed: false }
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

    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        status.closing = true
        if (Option.isNone(yield* Fiber.poll(writer))) {
          queue.force(new Request(RequestKind.Close, FrameKind.data, [], 0))
          yield* Fiber.await(writer)
        }
        const closed = closedError()
        const left = queue.takeAll()
        for (const request of left) request.complete(Exit.fail(closed))
        queue.release(left)
        yield* Scope.close(writerScope, Exit.void)
        status.closed = true
        state.committedSignal.notify()
        // Producers still waiting for room wake, see the WAL closing and fail with WalClosedError.
        queue.room.notify()
        pressure.close()
      })
    )

    // Retention after rotations and removal of reclaimed segments once their readers are done.
    // Archiving in the background can fail (a full disk, an unreachable archive): the segments
    // stay reclaimable and the next attempt retries; the failure is logged.
    yield* Queue.take(maintenance).pipe(
      Effect.zipRight(config.retention === undefined ? lifecycle.sweep : lifecycle.retain(config.retention, config.segmentBytes)),
      Effect.catchAll((error) => Effect.logWarning("effect-wal: reclaiming segments failed", error)),
      Effect.forever,
      Effect.forkScoped
    )

    const closedError = () => new WalClosedError({ directory })
    const overloaded = () => new WalOverloadedError({ capacity: config.queueCapacity })

    /** Waits for room (entries or bytes), then enqueues; fails once the WAL is closing. */
    const waitAndEnqueue = (request: Request): Effect.Effect<void, WalClosed> =>
      Effect.suspend(function loop(): Effect.Effect<void, WalClosed> {
        if (status.closing) return Effect.fail(closedError())
        const seen = queue.room.version
        if (queue.offer(request)) return Effect.void
        return Effect.flatMap(queue.room.changedSince(seen), loop)
      })

    const refuse = (): Effect.Effect<void, WalOverloadedError> => Effect.fail(overloaded())
    const slowPath: (request: Request) => Effect.Effect<void, WalOverloadedError | WalClosed> =
      config.overflow === "fail" ? refuse : waitAndEnqueue

    /**
     * Hands a request to the writer and waits for its outcome, from inside the registration of an
     * `Effect.async`: when the queue has room that is the only Effect step of an append. The
     * writer completes requests only with WalPoisonedError or WalClosedError.
     */
    const enqueue = <E>(
      request: Request,
      slow: (request: Request) => Effect.Effect<void, E>,
      resume: (effect: Effect.Effect<number, E | WalClosed | WalPoisonedError>) => void
    ): void => {
      if (status.closing) return resume(Effect.fail(closedError()))
      if (state.poisoned !== undefined) return resume(Effect.fail(state.poisoned))
      if (queue.offer(request)) return request.listen(resume)
      resume(Effect.zipRight(slow(request), request.await))
    }

    /** `enqueue` as an Effect. */
    const submit = <E>(
      request: Request,
      slow: (request: Request) => Effect.Effect<void, E>
    ): Effect.Effect<number, E | WalClosed | WalPoisonedError> =>
      Effect.async<number, E | WalClosed | WalPoisonedError>((resume) => enqueue(request, slow, resume))

    const encode = (value: A): Uint8Array => {
      const bytes = payload.encode(value)
      if (bytes.length > config.maxEntryBytes) throw new WalEntryTooLargeError({ size: bytes.length, limit: config.maxEntryBytes })
      return bytes
    }

    const batchRoom = config.segmentBytes - HEADER_SIZE - SEAL_FRAME_SIZE

    /**
     * The payloads of an `appendAll` and their framed size. Raw payloads in an array are checked and
     * borrowed as they are (the array and its bytes belong to the WAL until the append completes);
     * anything else is encoded into a new array. Throws WalCodecError or WalEntryTooLargeError.
     */
    const encodeAll = (values: Iterable<A>): { readonly payloads: ReadonlyArray<Uint8Array>; readonly bytes: number } => {
      let bytes = 0
      if (Array.isArray(values)) {
        const count = values.length
        if (payload.borrowsBytes) {
          for (let i = 0; i < count; i++) bytes += encode(values[i]).length
          return { payloads: values as ReadonlyArray<Uint8Array>, bytes: bytes + FRAME_HEADER_SIZE * count }
        }
        const payloads = new Array<Uint8Array>(count)
        for (let i = 0; i < count; i++) {
          const encoded = encode(values[i])
          payloads[i] = encoded
          bytes += encoded.length
        }
        return { payloads, bytes: bytes + FRAME_HEADER_SIZE * count }
      }
      const payloads: Array<Uint8Array> = []
      for (const value of values) {
        const encoded = encode(value)
        payloads.push(encoded)
        bytes += encoded.length
      }
      return { payloads, bytes: bytes + FRAME_HEADER_SIZE * payloads.length }
    }

    const appendAll = (values: Iterable<A>): Effect.Effect<ReadonlyArray<number>, AppendError> =>
      Effect.suspend((): Effect.Effect<ReadonlyArray<number>, AppendError> => {
        let encoded: { readonly payloads: ReadonlyArray<Uint8Array>; readonly bytes: number }
        try {
          encoded = encodeAll(values)
        } catch (error) {
          return Effect.fail(error as WalCodecError | WalEntryTooLargeError)
        }
        const { bytes, payloads } = encoded
        if (payloads.length === 0) return Effect.succeed([])
        if (bytes > batchRoom) return Effect.fail(new WalEntryTooLargeError({ size: bytes, limit: batchRoom }))
        return Effect.map(
          submit(new Request(RequestKind.Append, FrameKind.data, payloads, bytes), slowPath),
          (first) => {
            const sequences = new Array<number>(payloads.length)
            for (let i = 0; i < sequences.length; i++) sequences[i] = first + i
            return sequences
          }
        )
      })

    /** One entry: encoded and enqueued inside one `Effect.async`, with no other Effect step. */
    const appendOne = (kind: FrameKind) => (value: A): Effect.Effect<number, AppendError> =>
      Effect.async<number, AppendError>((resume) => {
        let bytes: Uint8Array
        try {
          bytes = encode(value)
        } catch (error) {
          return resume(Effect.fail(error as WalCodecError | WalEntryTooLargeError))
        }
        return enqueue<WalOverloadedError | WalClosed>(new Request(RequestKind.Append, kind, [bytes], FRAME_HEADER_SIZE + bytes.length), slowPath, resume)
      })

    const source: SegmentSource = {
      segmentFor: (sequence) => Effect.sync(() => segmentFor(state.snapshot, lifecycle.firstKept, sequence)),
      limitOf: (segment) => committedSize(state.snapshot, segment),
      damageAtEnd: () => "corruption",
      segmentGone: (_, error) => Effect.fail(error),
      checkHeader: () => Effect.void,
      seed: recovered.seed,
      maxPayload: FORMAT_MAX_PAYLOAD,
      pin: (cursor, sequence) => {
        if (sequence !== undefined) lifecycle.pin(cursor, sequence)
        else if (lifecycle.release(cursor)) maintenance.unsafeOffer(undefined)
      }
    }

    const replayFrom = (from: number, to: number | undefined) =>
      Stream.suspend(() => {
        const upTo = Math.min(to ?? Number.POSITIVE_INFINITY, state.snapshot.committed)
        const cursor = new LogCursor(fs, source, payload, Math.max(from, 1))
        return cursorStream(cursor, (c) => readChunk(c, upTo))
      }).pipe(replaySpan(directory, from, to))

    const replay = (options?: { readonly from?: number; readonly to?: number }): Stream.Stream<WalEntry<A>, ReadError> =>
      Option.match(checkRange(options), {
        onSome: Stream.die,
        onNone: () => replayFrom(options?.from ?? 1, options?.to)
      })

    /**
     * The next chunk of a tail: committed entries from memory while the tail is within the live
     * window, from disk otherwise; waits for the next commit when it has delivered everything.
     */
    const pullLive = (cursor: LogCursor<A>): Effect.Effect<Chunk.Chunk<WalEntry<A>>, ReadError> => {
      const pull: Effect.Effect<Chunk.Chunk<WalEntry<A>>, ReadError> = Effect.suspend(() => {
        // Take the signal before reading, so a commit between the read and the wait wakes us.
        const seen = state.committedSignal.version
        // Caught up: nothing to read until the next commit (or ever, once the WAL is closed).
        const committed = state.snapshot.committed
        if (cursor.nextSequence > committed) return waitOrEnd(seen, Chunk.empty())
        const next = live.find(cursor.nextSequence)
        const read = next !== undefined ? readLiveChunk(cursor, next) : readChunk(cursor, committed)
        return Effect.flatMap(read, (chunk) => Chunk.isNonEmpty(chunk) ? Effect.succeed(chunk) : waitOrEnd(seen, chunk))
      })
      /** After an empty read: the end of the tail when the WAL is closed, else the next commit, then `pull`. */
      const waitOrEnd = (seen: number, empty: Chunk.Chunk<WalEntry<A>>) =>
        status.closed ? Effect.succeed(empty) : Effect.zipRight(state.committedSignal.changedSince(seen), pull)
      return pull
    }

    const tail = (options?: { readonly from?: number }): Stream.Stream<WalEntry<A>, ReadError> =>
      Option.match(checkRange(options), {
        onSome: Stream.die,
        onNone: () =>
          Stream.suspend(() => {
            live.attach()
            return cursorStream(new LogCursor(fs, source, payload, Math.max(options?.from ?? 1, 1)), pullLive).pipe(
              Stream.ensuring(Effect.sync(() => live.detach()))
            )
          })
      })

    const leader: LeaderView = {
      fs,
      segmentFor: (sequence) => segmentFor(state.snapshot, lifecycle.firstKept, sequence),
      limitOf: (segment) => committedSize(state.snapshot, segment),
      committed: () => state.snapshot.committed,
      closed: () => status.closed,
      committedSignal: state.committedSignal,
      seed: recovered.seed,
      pin: source.pin
    }

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

    const wal: Wal<A> = {
      directory,
      append: appendOne(FrameKind.data),
      appendAll,
      checkpoint: appendOne(FrameKind.checkpoint),
      replay,
      replayFromCheckpoint: Stream.suspend(() => replayFrom(Math.max(state.snapshot.committedCheckpoint, 1), undefined)),
      tail,
      streamBytes: (options) =>
        Option.match(checkRange(options), {
          onSome: Stream.die,
          onNone: () => streamBytes(leader, options?.from ?? 1)
        }),
      // A sync always waits for room in the queue, whatever the overflow policy.
      sync: Effect.suspend(() => Effect.asVoid(submit(new Request(RequestKind.Sync, FrameKind.data, [], 0), waitAndEnqueue))),
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
                (cursor) => readChunk(cursor, options?.to ?? Number.POSITIVE_INFINITY)
              )
          }))).pipe(replaySpan(directory, options?.from ?? 1, options?.to))
      })

    const view: WalReader<A> = { directory, replay }
    return view
  })

