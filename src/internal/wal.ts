/**
 * Assembly of an open WAL: options, recovery, the writer fiber, the append API, and the streams
 * that read the log.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Cause, Chunk, Deferred, Effect, Exit, Fiber, FiberId, Option, Queue, Schema, Scope, Stream } from "effect"
import * as Path from "node:path"
import * as Codec from "../Codec.js"
import type { AppendError, Options, ReadError, ReadOptions, Wal, WalEntry, WalReader } from "../Wal.js"
import {
  fromPlatformError,
  type WalClosedError as WalClosed,
  WalClosedError,
  type WalCodecError,
  WalConfigError,
  WalEntryTooLargeError,
  WalOverloadedError,
  type WalPoisonedError
} from "../WalError.js"
import { resolve } from "./config.js"
import { FRAME_HEADER_SIZE, FrameKind, HEADER_SIZE, SEAL_FRAME_SIZE } from "./format/constants.js"
import { frameSeed } from "./format/frame.js"
import { decodeHeader } from "./format/header.js"
import { readAt, sizeOf } from "./io.js"
import { LogCursor, readChunk, type SegmentSource } from "./logReader.js"
import * as Payload from "./payload.js"
import { checkContiguous, listDirectory, readHeader, recover, type SegmentState } from "./recovery.js"
import { publish, Request, RequestKind, run, type WriterState } from "./writer.js"

const payloadCodecFor = <A, I>(schema: Schema.Schema<A, I, never> | undefined) =>
  schema === undefined
    ? Effect.succeed(Payload.make<A, I>(undefined, Codec.bytes))
    : Effect.map(Effect.flatMap(Codec.current, Codec.validate), (codec) => Payload.make(schema, codec))

/** Validates `from` / `to` of a read. */
const checkRange = (options: { readonly from?: number; readonly to?: number } | undefined) => {
  for (const field of ["from", "to"] as const) {
    const value = options?.[field]
    if (value !== undefined && !Number.isSafeInteger(value)) {
      return Option.some(new WalConfigError({ field, detail: `must be an integer, got ${value}` }))
    }
  }
  return Option.none()
}

/** The last segment whose first sequence is at most `sequence` (or the first segment). */
const findSegment = (segments: ReadonlyArray<SegmentState>, sequence: number): Option.Option<SegmentState> => {
  let low = 0
  let high = segments.length - 1
  if (high < 0) return Option.none()
  while (low < high) {
    const mid = (low + high + 1) >>> 1
    if (segments[mid]!.firstSequence <= sequence) low = mid
    else high = mid - 1
  }
  return Option.some(segments[low]!)
}

/** A stream of chunks pulled from a cursor; `pull` returns an empty chunk to end the stream. */
const cursorStream = <A>(
  cursor: LogCursor<A>,
  pull: (cursor: LogCursor<A>) => Effect.Effect<Chunk.Chunk<WalEntry<A>>, ReadError>
): Stream.Stream<WalEntry<A>, ReadError> =>
  Stream.unwrapScoped(
    Effect.as(
      Effect.addFinalizer(() => cursor.close()),
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
    const payload = yield* payloadCodecFor(options.schema)
    const recovered = yield* recover(fs, config, payload.id)
    const directory = config.directory
    const state: WriterState = {
      segments: recovered.segments,
      nextSequence: recovered.lastSequence + 1,
      lastTimestamp: recovered.lastTimestamp,
      lastCheckpoint: recovered.lastCheckpoint,
      committed: recovered.lastSequence,
      poisoned: undefined,
      closing: false,
      closed: false,
      signal: Deferred.unsafeMake<void>(FiberId.none)
    }
    const queue = yield* Queue.bounded<Request>(config.queueCapacity)
    const writerScope = yield* Scope.make()
    const writer = yield* run({
      fs,
      config,
      walId: recovered.walId,
      seed: recovered.seed,
      codecId: payload.id,
      state,
      queue
    }).pipe(Scope.extend(writerScope), Effect.forkDaemon)

    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        state.closing = true
        if (Option.isNone(yield* Fiber.poll(writer))) {
          const close = new Request(RequestKind.Close, FrameKind.data, [], 0)
          yield* Queue.offer(queue, close)
          yield* Fiber.await(writer)
        }
        const closedError = new WalClosedError({ directory })
        for (const request of yield* Queue.takeAll(queue)) request.complete(Exit.fail(closedError))
        yield* Queue.shutdown(queue)
        yield* Scope.close(writerScope, Exit.void)
        state.closed = true
        publish(state)
      })
    )

    const closedError = () => new WalClosedError({ directory })
    const offerSuspending = (request: Request) =>
      Effect.asVoid(Queue.offer(queue, request)).pipe(
        // A queue shut down by close interrupts a suspended offer: report it as closed.
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause) && state.closing ? Effect.fail(closedError()) : Effect.failCause(cause)
        )
      )
    const offer: (request: Request) => Effect.Effect<void, WalOverloadedError | WalClosed> = config.overflow === "fail"
      ? (request: Request) =>
        Effect.suspend(() =>
          queue.unsafeOffer(request) ? Effect.void : Effect.fail(new WalOverloadedError({ capacity: config.queueCapacity }))
        )
      : offerSuspending

    const submit = <E>(
      request: Request,
      enqueue: (request: Request) => Effect.Effect<void, E>
    ): Effect.Effect<number, E | WalClosed | WalPoisonedError> =>
      Effect.suspend(() => {
        if (state.closing) return Effect.fail(closedError())
        if (state.poisoned !== undefined) return Effect.fail(state.poisoned)
        // The writer completes requests only with WalPoisonedError or WalClosedError.
        return Effect.zipRight(enqueue(request), request.await as Effect.Effect<number, WalClosed | WalPoisonedError>)
      })

    const encode = (value: A): Uint8Array => {
      const bytes = payload.encode(value)
      if (bytes.length > config.maxEntryBytes) throw new WalEntryTooLargeError({ size: bytes.length, limit: config.maxEntryBytes })
      return bytes
    }

    const batchRoom = config.segmentBytes - HEADER_SIZE - SEAL_FRAME_SIZE

    const appendAll = (values: Iterable<A>): Effect.Effect<ReadonlyArray<number>, AppendError> =>
      Effect.suspend((): Effect.Effect<ReadonlyArray<number>, AppendError> => {
        const payloads: Array<Uint8Array> = []
        let bytes = 0
        try {
          for (const value of values) {
            const encoded = encode(value)
            payloads.push(encoded)
            bytes += FRAME_HEADER_SIZE + encoded.length
          }
        } catch (error) {
          return Effect.fail(error as WalCodecError | WalEntryTooLargeError)
        }
        if (payloads.length === 0) return Effect.succeed([])
        if (bytes > batchRoom) return Effect.fail(new WalEntryTooLargeError({ size: bytes, limit: batchRoom }))
        return Effect.map(
          submit(new Request(RequestKind.Append, FrameKind.data, payloads, bytes), offer),
          (first) => Array.from(payloads, (_, i) => first + i)
        )
      })

    const append = (value: A): Effect.Effect<number, AppendError> =>
      Effect.suspend((): Effect.Effect<number, AppendError> => {
        let bytes: Uint8Array
        try {
          bytes = encode(value)
        } catch (error) {
          return Effect.fail(error as WalCodecError | WalEntryTooLargeError)
        }
        return submit(new Request(RequestKind.Append, FrameKind.data, [bytes], FRAME_HEADER_SIZE + bytes.length), offer)
      })

    const source: SegmentSource = {
      segmentFor: (sequence) => Effect.sync(() => findSegment(state.segments, sequence)),
      limitOf: (segment) => segment.sealed ? Number.POSITIVE_INFINITY : segment.size,
      damageAtEnd: () => "corruption",
      checkHeader: () => Effect.void,
      seed: recovered.seed,
      maxPayload: config.maxEntryBytes
    }

    const replay = (options?: { readonly from?: number; readonly to?: number }): Stream.Stream<WalEntry<A>, ReadError> =>
      Option.match(checkRange(options), {
        onSome: Stream.fail,
        onNone: () =>
          Stream.suspend(() => {
            const upTo = Math.min(options?.to ?? Number.POSITIVE_INFINITY, state.committed)
            const cursor = new LogCursor(fs, source, payload, Math.max(options?.from ?? 1, 1))
            return cursorStream(cursor, (c) => readChunk(c, upTo))
          })
      })

    const tail = (options?: { readonly from?: number }): Stream.Stream<WalEntry<A>, ReadError> =>
      Option.match(checkRange(options), {
        onSome: Stream.fail,
        onNone: () =>
          Stream.suspend(() =>
            cursorStream(
              new LogCursor(fs, source, payload, Math.max(options?.from ?? 1, 1)),
              (cursor) =>
                Effect.gen(function*() {
                  for (;;) {
                    // Take the signal before reading, so a commit between the read and the wait wakes us.
                    const signal = state.signal
                    const chunk = yield* readChunk(cursor, state.committed)
                    if (Chunk.isNonEmpty(chunk) || state.closed) return chunk
                    yield* Deferred.await(signal)
                  }
                })
            )
          )
      })

    const wal: Wal<A> = {
      directory,
      append,
      appendAll,
      replay,
      tail,
      // A sync always waits for room in the queue, whatever the overflow policy.
      sync: Effect.suspend(() => Effect.asVoid(submit(new Request(RequestKind.Sync, FrameKind.data, [], 0), offerSuspending))),
      lastSequence: Effect.sync(() => state.committed),
      recovery: recovered.report
    }
    return wal
  })

/** Opens a read-only view; see `Wal.reader`. */
export const reader = <A, I>(options: ReadOptions<A, I>) =>
  Effect.gen(function*() {
    const config = yield* resolve({ directory: options.directory, maxEntryBytes: options.maxEntryBytes })
    const fs = yield* FileSystem.FileSystem
    const payload = yield* payloadCodecFor(options.schema)
    const directory = config.directory

    const snapshot = Effect.gen(function*() {
      const listing = yield* listDirectory(fs, directory)
      yield* checkContiguous(directory, listing)
      const segments: Array<SegmentState> = listing.segments.map((entry, i) => ({
        index: entry.index,
        firstSequence: entry.firstSequence,
        name: entry.name,
        path: Path.join(directory, entry.name),
        lastSequence: entry.firstSequence - 1,
        size: 0,
        // Every segment but the last must end with a seal frame.
        sealed: i < listing.segments.length - 1
      }))
      const first = segments[0]
      if (first === undefined) return Option.none()
      const walId = yield* Effect.scoped(Effect.gen(function*() {
        const file = yield* fs.open(first.path, { flag: "r" }).pipe(Effect.mapError(fromPlatformError("open(r)", first.path)))
        const header = decodeHeader(yield* readAt(file, 0, HEADER_SIZE, first.path))
        return header._tag === "Right" ? header.right.walId : undefined
      }))
      const last = segments[segments.length - 1]!
      const source: SegmentSource = {
        segmentFor: (sequence) => Effect.sync(() => findSegment(segments, sequence)),
        limitOf: () => Number.POSITIVE_INFINITY,
        damageAtEnd: (segment) => segment === last ? "end" : "corruption",
        checkHeader: (file, segment) =>
          Effect.gen(function*() {
            // The writer may be creating the last segment right now: a short header there is no error.
            if (segment === last && (yield* sizeOf(file, segment.path)) <= HEADER_SIZE) {
              const header = decodeHeader(yield* readAt(file, 0, HEADER_SIZE, segment.path))
              if (header._tag === "Left" && header.left.problem !== "unsupported-version") return
            }
            yield* readHeader(file, segment.path, {
              codecId: payload.id,
              walId,
              index: segment.index,
              firstSequence: segment.firstSequence
            })
          }),
        seed: frameSeed(walId ?? new Uint8Array(16)),
        maxPayload: config.maxEntryBytes
      }
      return Option.some(source)
    })

    const replay = (options?: { readonly from?: number; readonly to?: number }): Stream.Stream<WalEntry<A>, ReadError> =>
      Option.match(checkRange(options), {
        onSome: Stream.fail,
        onNone: () =>
          Stream.unwrap(Effect.map(snapshot, Option.match({
            onNone: () => Stream.empty,
            onSome: (source) =>
              cursorStream(
                new LogCursor(fs, source, payload, Math.max(options?.from ?? 1, 1)),
                (cursor) => readChunk(cursor, options?.to ?? Number.POSITIVE_INFINITY)
              )
          })))
      })

    const view: WalReader<A> = { directory, replay }
    return view
  })

