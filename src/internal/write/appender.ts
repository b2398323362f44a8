/**
 * The append API of an open WAL: producers encode on their own fiber (schema and codec, size
 * checks), then hand a request to the writer and wait for its callback. When the queue has room, an
 * append is one `Effect.async` and nothing else: this is the hot path of every workload.
 */
import { Effect } from "effect"
import type { AppendError } from "../../Wal.js"
import {
  type WalClosedError as WalClosed,
  WalClosedError,
  type WalCodecError,
  WalEntryTooLargeError,
  WalOverloadedError,
  type WalPoisonedError
} from "../../WalError.js"
import type { ResolvedConfig } from "../config.js"
import { FRAME_HEADER_SIZE, FrameKind, HEADER_SIZE, SEAL_FRAME_SIZE } from "../format/constants.js"
import type { PayloadCodec } from "../payload.js"
import type { CloseStatus } from "./close.js"
import { Request, RequestKind, type RequestQueue } from "./queue.js"
import type { WriterState } from "./writer.js"

/** What the append API needs. */
export interface AppenderContext<A> {
  readonly directory: string
  readonly config: ResolvedConfig
  readonly payload: PayloadCodec<A>
  readonly queue: RequestQueue
  readonly state: WriterState
  readonly status: CloseStatus
}

/** The append side of `Wal`. */
export interface Appender<A> {
  readonly append: (value: A) => Effect.Effect<number, AppendError>
  readonly appendAll: (values: Iterable<A>) => Effect.Effect<ReadonlyArray<number>, AppendError>
  readonly checkpoint: (value: A) => Effect.Effect<number, AppendError>
  readonly sync: Effect.Effect<void, WalClosed | WalPoisonedError>
}

/** Builds the append API over the writer's queue. */
export const makeAppender = <A>(ctx: AppenderContext<A>): Appender<A> => {
  const { config, directory, payload, queue, state, status } = ctx
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

  return {
    append: appendOne(FrameKind.data),
    appendAll,
    checkpoint: appendOne(FrameKind.checkpoint),
    // A sync always waits for room in the queue, whatever the overflow policy.
    sync: Effect.suspend(() => Effect.asVoid(submit(new Request(RequestKind.Sync, FrameKind.data, [], 0), waitAndEnqueue)))
  }
}
