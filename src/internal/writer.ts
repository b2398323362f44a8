/**
 * The single writer. Producers encode their payloads and put a request on a bounded queue; one
 * fiber takes everything waiting, frames it into one reusable buffer, issues one write, fsyncs as
 * the durability mode says, then completes every request of the batch with the same outcome and
 * publishes the new committed watermark to tailing readers.
 *
 * The writer owns the active segment's file handle; nobody else writes. A failed write or fsync
 * poisons the WAL: the batch and everything after it fail with `WalPoisonedError`.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import { Chunk, Clock, Deferred, Duration, Effect, ExecutionStrategy, Exit, FiberId, Option, Queue, Scope } from "effect"
import type * as Durability from "../Durability.js"
import { WalPoisonedError } from "../WalError.js"
import type { WalError, WalIOError } from "../WalError.js"
import type { ResolvedConfig } from "./config.js"
import { FLAG_CONTINUES, FrameKind, HEADER_SIZE, SEAL_FRAME_SIZE } from "./format/constants.js"
import { BatchEncoder } from "./format/frame.js"
import { open, syncFile, writeAll } from "./io.js"
import { createSegment, type SegmentState } from "./recovery.js"

/** What a request asks of the writer. */
export const enum RequestKind {
  Append,
  Sync,
  Close
}

/** One producer's request, completed by the writer through a callback (no Deferred per append). */
export class Request {
  /** Sequence of the first entry, set when the writer frames the request. */
  firstSequence = 0
  private exit: Exit.Exit<number, WalError> | undefined
  private callback: ((exit: Exit.Exit<number, WalError>) => void) | undefined

  constructor(
    readonly kind: RequestKind,
    readonly frameKind: FrameKind,
    readonly payloads: ReadonlyArray<Uint8Array>,
    /** Framed size of all payloads. */
    readonly bytes: number
  ) {}

  /** Completes the request; the first completion wins. */
  complete(exit: Exit.Exit<number, WalError>): void {
    if (this.exit !== undefined) return
    this.exit = exit
    const callback = this.callback
    this.callback = undefined
    if (callback !== undefined) callback(exit)
  }

  /** Waits for completion. Interrupting the waiter does not withdraw the request. */
  get await(): Effect.Effect<number, WalError> {
    return Effect.async<number, WalError>((resume) => {
      if (this.exit !== undefined) return resume(this.exit)
      this.callback = resume
      return Effect.sync(() => {
        this.callback = undefined
      })
    })
  }
}

/** The writer's mutable state, shared read-only with readers of the same WAL. */
export interface WriterState {
  readonly segments: Array<SegmentState>
  nextSequence: number
  lastTimestamp: number
  lastCheckpoint: number
  /** The last acknowledged sequence: readers and tails never go past it. */
  committed: number
  /** The last acknowledged checkpoint entry (0 when none). */
  committedCheckpoint: number
  poisoned: WalPoisonedError | undefined
  closing: boolean
  closed: boolean
  /** Completed (and replaced) every time the watermark moves or the WAL closes. */
  signal: Deferred.Deferred<void>
  /** Completed (and replaced) every time queued bytes are released or the WAL closes. */
  room: Deferred.Deferred<void>
}

/** Largest single write; bigger batches are written in several writes before one fsync. */
const MAX_WRITE_BYTES = 8 * 1024 * 1024

interface Active {
  segment: SegmentState
  file: FileSystem.File
  scope: Scope.CloseableScope
  /** Bytes written to the file (the next write's offset). */
  written: number
  /** Bytes known durable (fsynced). */
  durable: number
}

/** What one served batch did, for metrics and back-pressure signals. */
export interface BatchReport {
  /** Entries acknowledged. */
  readonly entries: number
  /** Bytes written to segment files. */
  readonly bytes: number
  /** Duration of each fsync, in seconds. */
  readonly fsyncSeconds: ReadonlyArray<number>
  /** Whether a segment was sealed and a new one started. */
  readonly rotated: boolean
}

/** Everything the writer needs from the WAL. */
export interface WriterContext {
  readonly fs: FileSystem.FileSystem
  readonly config: ResolvedConfig
  readonly walId: Uint8Array
  readonly seed: number
  readonly codecId: string
  readonly state: WriterState
  readonly queue: Queue.Queue<Request>
  /** Called after every batch, served or failed, with the requests it took off the queue. */
  readonly afterBatch: (requests: Chunk.Chunk<Request>, report: BatchReport | undefined) => Effect.Effect<void>
}

/** Moves the watermark and wakes every waiting tail. */
export const publish = (state: WriterState): void => {
  const signal = state.signal
  state.signal = Deferred.unsafeMake<void>(FiberId.none)
  Deferred.unsafeDone(signal, Exit.void)
}

/** Wakes every producer waiting for room in the queue. */
export const wake = (state: WriterState): void => {
  const room = state.room
  state.room = Deferred.unsafeMake<void>(FiberId.none)
  Deferred.unsafeDone(room, Exit.void)
}

/**
 * Runs the writer until a close request has been served. Returns when everything queued before
 * the close is written and synced and the active segment is closed.
 */
export const run = (ctx: WriterContext): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { config, fs, state, queue } = ctx
    const mode: Durability.Durability = config.durability
    const writerScope = yield* Effect.scope
    const encoder = new BatchEncoder(ctx.seed)
    const capacity = config.queueCapacity
    const openActive = (segment: SegmentState, written: number) =>
      Effect.gen(function*() {
        const scope = yield* Scope.fork(writerScope, ExecutionStrategy.sequential)
        const file = yield* open(fs, segment.path, "r+").pipe(Scope.extend(scope))
        yield* file.seek(written, "start")
        return { segment, file, scope, written, durable: written } satisfies Active
      })
    const last = state.segments[state.segments.length - 1]!
    let active: Active | undefined
    let bytesWritten = 0
    let rotated = false
    const fsyncSeconds: Array<number> = []
    /** When the oldest unsynced write happened (buffered mode's timer). */
    let unsyncedSince: number | undefined

    const write = (bytes: Uint8Array) =>
      Effect.suspend(() => {
        const target = active!
        return Effect.as(writeAll(target.file, bytes, target.segment.path), undefined).pipe(
          Effect.tap(() => {
            target.written += bytes.length
            bytesWritten += bytes.length
          })
        )
      })

    const sync = Effect.suspend(() => {
      const target = active!
      if (target.durable === target.written) return Effect.void
      const upTo = target.written
      return Effect.gen(function*() {
        const started = yield* Clock.currentTimeNanos
        yield* syncFile(target.file, target.segment.path)
        fsyncSeconds.push(Number((yield* Clock.currentTimeNanos) - started) / 1e9)
        target.durable = upTo
      })
    })

    const flush = Effect.suspend(() => {
      if (encoder.size === 0) return Effect.void
      const bytes = encoder.bytes()
      return Effect.tap(write(bytes), () => encoder.reset())
    })

    /** Seals the active segment and starts the next one. */
    const rotate = (timestamp: number) =>
      Effect.gen(function*() {
        const current = active!
        const segment = current.segment
        const lastSequence = state.nextSequence - 1
        encoder.seal(lastSequence, lastSequence - segment.firstSequence + 1, state.lastCheckpoint, timestamp, current.durable)
        yield* flush
        // The seal and every frame before it must be durable before the next segment exists:
        // recovery requires every segment but the last to end with a valid seal frame.
        yield* sync
        segment.lastSequence = lastSequence
        segment.size = current.written
        segment.sealed = true
        const next = yield* createSegment(fs, config.directory, ctx.walId, ctx.codecId, segment.index + 1, state.nextSequence)
        yield* Scope.close(current.scope, Exit.void)
        active = undefined
        state.segments.push(next)
        rotated = true
        active = yield* openActive(next, next.size)
      })

    const fits = (bytes: number) => active!.written + encoder.size + bytes + SEAL_FRAME_SIZE <= config.segmentBytes

    const isEmpty = () => active!.written + encoder.size === HEADER_SIZE

    const process = (items: Chunk.Chunk<Request>) =>
      Effect.gen(function*() {
        let syncRequested = false
        let closing = false
        const appends: Array<Request> = []
        for (const request of items) {
          if (request.kind === RequestKind.Append) appends.push(request)
          else if (request.kind === RequestKind.Sync) syncRequested = true
          else closing = true
        }
        if (state.poisoned !== undefined) return { closing, failure: state.poisoned as WalError }
        bytesWritten = 0
        rotated = false
        fsyncSeconds.length = 0
        const now = yield* Clock.currentTimeMillis
        // Hybrid logical clock: never behind the last timestamp written, even if the wall clock steps back.
        const timestamp = Math.max(now, state.lastTimestamp)
        state.lastTimestamp = timestamp
        encoder.reset()
        for (const request of appends) {
          if (!fits(request.bytes) && !isEmpty()) yield* rotate(timestamp)
          request.firstSequence = state.nextSequence
          const count = request.payloads.length
          for (let i = 0; i < count; i++) {
            const sequence = state.nextSequence++
            encoder.frame(request.frameKind, i < count - 1 ? FLAG_CONTINUES : 0, sequence, timestamp, active!.durable, request.payloads[i]!)
            if (request.frameKind === FrameKind.checkpoint) state.lastCheckpoint = sequence
          }
          if (encoder.size >= MAX_WRITE_BYTES) yield* flush
        }
        yield* flush
        const current = active!
        const unsynced = current.written - current.durable
        if (unsynced > 0 && unsyncedSince === undefined) unsyncedSince = now
        if (unsynced > 0 && mustSync(mode, unsynced, syncRequested || closing)) {
          yield* sync
          unsyncedSince = undefined
        }
        if (appends.length > 0) {
          current.segment.lastSequence = state.nextSequence - 1
          current.segment.size = current.written
          state.committed = state.nextSequence - 1
          state.committedCheckpoint = state.lastCheckpoint
          publish(state)
        }
        return { closing, failure: undefined }
      }).pipe(
        Effect.catchAll((error: WalIOError) =>
          Effect.sync(() => {
            // Fail-stop: never retry a failed write or fsync and then acknowledge, since the
            // kernel may already have dropped the dirty pages.
            state.poisoned = new WalPoisonedError({ cause: error })
            return { closing: items.pipe(Chunk.some((r) => r.kind === RequestKind.Close)), failure: state.poisoned as WalError }
          })
        ),
        Effect.tap(({ failure }) =>
          Effect.suspend(() => {
            let entries = 0
            for (const request of items) {
              if (failure !== undefined && request.kind !== RequestKind.Close) request.complete(Exit.fail(failure))
              else {
                entries += request.payloads.length
                request.complete(Exit.succeed(request.firstSequence))
              }
            }
            return ctx.afterBatch(
              items,
              failure === undefined ? { entries, bytes: bytesWritten, fsyncSeconds, rotated } : undefined
            )
          })
        ),
        Effect.uninterruptible
      )

    /** A timed fsync in buffered mode, when no request arrived within the interval. */
    const timedSync = Effect.suspend(() => {
      fsyncSeconds.length = 0
      return sync
    }).pipe(
      Effect.tap(() => {
        unsyncedSince = undefined
        return ctx.afterBatch(Chunk.empty(), { entries: 0, bytes: 0, fsyncSeconds, rotated: false })
      }),
      Effect.catchAll((error) =>
        Effect.sync(() => {
          state.poisoned = new WalPoisonedError({ cause: error })
        })
      ),
      Effect.uninterruptible
    )

    // Waking on an empty queue hands the writer only the request that woke it; by the time the
    // writer fiber runs, the producers scheduled before it have usually queued more. Taking those
    // too keeps them in this batch instead of paying a separate write and fsync for one request.
    const takeWaiting = Effect.flatMap(Queue.takeBetween(queue, 1, capacity), (first) =>
      first.length >= capacity
        ? Effect.succeed(first)
        : Effect.map(Queue.takeUpTo(queue, capacity - first.length), (rest) => Chunk.appendAll(first, rest)))

    const take = Effect.gen(function*() {
      if (mode._tag === "Buffered" && unsyncedSince !== undefined && state.poisoned === undefined) {
        const elapsed = (yield* Clock.currentTimeMillis) - unsyncedSince
        const remaining = Duration.toMillis(mode.interval) - elapsed
        if (remaining <= 0) return Option.none<Chunk.Chunk<Request>>()
        return yield* Effect.timeoutOption(takeWaiting, Duration.millis(remaining))
      }
      return Option.some(yield* takeWaiting)
    })

    active = yield* openActive(last, last.size).pipe(
      Effect.catchAll((error) =>
        Effect.sync(() => {
          state.poisoned = new WalPoisonedError({ cause: error })
          return undefined
        })
      )
    )

    for (;;) {
      const taken = yield* take
      if (Option.isNone(taken)) {
        yield* timedSync
        continue
      }
      let items = taken.value
      if (mode._tag === "Grouped" && !Chunk.some(items, (r) => r.kind !== RequestKind.Append)) {
        yield* Effect.sleep(mode.maxDelay)
        items = Chunk.appendAll(items, yield* Queue.takeUpTo(queue, capacity))
      }
      const outcome = active === undefined
        ? { closing: Chunk.some(items, (r) => r.kind === RequestKind.Close) }
        : yield* process(items)
      if (active === undefined) {
        for (const request of items) request.complete(request.kind === RequestKind.Close ? Exit.succeed(0) : Exit.fail(state.poisoned!))
        yield* ctx.afterBatch(items, undefined)
      }
      if (outcome.closing) {
        if (active !== undefined) yield* Scope.close(active.scope, Exit.void)
        return
      }
    }
  })

/** Whether the batch just written must be fsynced before it is acknowledged. */
const mustSync = (mode: Durability.Durability, unsyncedBytes: number, requested: boolean): boolean => {
  if (requested) return true
  switch (mode._tag) {
    case "Strict":
    case "Grouped":
      return true
    case "Buffered":
      return unsyncedBytes >= mode.bytes
    case "None":
      return false
  }
}
