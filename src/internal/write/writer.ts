/**
 * The single writer. Producers encode their payloads and put a request on a bounded queue; the
 * writer takes everything waiting, frames it into one reusable buffer, issues one write, fsyncs as
 * the durability mode says, then completes every request of the batch with the same outcome and
 * publishes the new committed watermark to tailing readers.
 *
 * A batch is served in one of two ways, never both at once:
 * - the common batch (it fits in the active segment, the file offers synchronous access, the mode
 *   does not wait to gather) is served by `drain`, a microtask queued by the first request that
 *   finds the writer idle: frame, write, fsync, publish and complete in one synchronous step. The
 *   microtask runs after the fibers that were ready with it have queued their appends, so
 *   concurrent appends still share one write and one fsync;
 * - every other batch (rotation, a file reached only through Effects, grouped mode's wait, close)
 *   is served by the writer fiber, which `drain` wakes.
 * The drain runs only while the writer fiber is parked, and the fiber parks only with nothing left
 * to do, so exactly one batch is written at a time, in queue order.
 *
 * The writer owns the active segment's file handle; nobody else writes. A failed write or fsync
 * poisons the WAL: the batch and everything after it fail with `WalPoisonedError`.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import { Duration, Effect, Exit, Option, type Scope } from "effect"
import type * as Durability from "../../Durability.js"
import { WalIOError, WalPoisonedError } from "../../WalError.js"
import type { ResolvedConfig } from "../config.js"
import { FLAG_CONTINUES, FrameKind, HEADER_SIZE, SEAL_FRAME_SIZE } from "../format/constants.js"
import { BatchEncoder } from "../format/frame.js"
import { createSegment } from "../segment/create.js"
import { committedBatch, type LogSnapshot } from "./snapshot.js"
import { type Request, type RequestError, type RequestQueue, RequestKind } from "./queue.js"
import type { Signal } from "../signal.js"
import { recordBatch, recordsSpans } from "../tracing.js"
import type { LiveWindow } from "../read/liveWindow.js"
import { ActiveSegment } from "./activeSegment.js"
import { mustSync } from "./syncRule.js"

/**
 * The writer's state. Only the writer changes it; the rest of the WAL reads it. What readers need
 * is in `snapshot`, which the writer replaces once per batch (see `snapshot.ts`).
 */
export interface WriterState {
  /** What the writer has committed: replaced by the writer, never changed. */
  snapshot: LogSnapshot
  /** Sequence of the next entry framed. */
  nextSequence: number
  /** Timestamp of the last batch framed (hybrid logical clock). */
  lastTimestamp: number
  /** The last checkpoint framed, committed or not. */
  lastCheckpoint: number
  /** Set once, after a failed write or fsync: every later request fails with it. */
  poisoned: WalPoisonedError | undefined
  /** Notified every time the writer publishes a commit, and when the WAL closes. */
  readonly committedSignal: Signal
}

/** Largest single write; bigger batches are written in several writes before one fsync. */
const MAX_WRITE_BYTES = 8 * 1024 * 1024

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
  readonly path: Path.Path
  readonly config: ResolvedConfig
  readonly walId: Uint8Array
  readonly seed: number
  readonly codecId: string
  readonly state: WriterState
  readonly queue: RequestQueue
  /** Where committed batches are kept in memory for tails that are caught up. */
  readonly live: LiveWindow
  /** Called after every batch, served or failed, with the requests it took off the queue. */
  readonly afterBatch: (requests: ReadonlyArray<Request>, report: BatchReport | undefined) => void
  /** The index of the first segment still on disk (the lifecycle's): rotation prunes the sealed list below it. */
  readonly firstKept: () => number
}

/**
 * Runs the writer until a close request has been served. Returns when everything queued before
 * the close is written and synced and the active segment is closed.
 */
export const run = (ctx: WriterContext): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { config, fs, live, state, queue } = ctx
    const mode: Durability.Durability = config.durability
    const writerScope = yield* Effect.scope
    const encoder = new BatchEncoder(ctx.seed)
    const clock = yield* Effect.clock
    // The tracer of the fiber that opened the WAL: each batch is one root span of its own, unless
    // the tracer is Effect's built-in one, whose root spans nothing can see.
    const tracer = yield* Effect.tracer
    const tracing = recordsSpans(tracer)
    const last = state.snapshot.active
    let active: ActiveSegment | undefined
    let bytesWritten = 0
    let rotated = false
    const fsyncSeconds: Array<number> = []
    /** When the oldest unsynced write happened (buffered mode's timer). */
    let unsyncedSince: number | undefined
    /** Sequence of the first entry framed since the encoder was last emptied. */
    let framedFrom = 0
    /** When the batch being served started (its span's start). */
    let batchStarted = 0n
    /** Whether a batch to be traced has begun and not yet been traced. */
    let batchOpen = false

    /** Starts a batch: clears its report and returns its entries' timestamp. */
    const beginBatch = (now: number): number => {
      if (tracing) {
        batchStarted = clock.unsafeCurrentTimeNanos()
        batchOpen = true
      }
      bytesWritten = 0
      rotated = false
      fsyncSeconds.length = 0
      encoder.reset()
      framedFrom = state.nextSequence
      // Hybrid logical clock: never behind the last timestamp written, even if the wall clock steps back.
      const timestamp = Math.max(now, state.lastTimestamp)
      state.lastTimestamp = timestamp
      return timestamp
    }

    /** Book-keeping once bytes framed since the encoder was emptied are in the file at `offset`. */
    const wrote = (target: ActiveSegment, offset: number, bytes: Uint8Array) => {
      live.stage(target.segment, offset, bytes, framedFrom, state.nextSequence - 1)
      bytesWritten += bytes.length
      encoder.reset()
      framedFrom = state.nextSequence
    }

    /** Writes the framed bytes at the end of the active segment. */
    const flush = Effect.suspend(() => {
      if (encoder.size === 0) return Effect.void
      const target = active!
      const offset = target.written
      const bytes = encoder.bytes()
      return Effect.map(target.write(bytes), () => wrote(target, offset, bytes))
    })

    /** `flush` as one synchronous step. */
    const flushNow = (target: ActiveSegment) => {
      if (encoder.size === 0) return
      const offset = target.written
      const bytes = encoder.bytes()
      target.writeNow(bytes)
      wrote(target, offset, bytes)
    }

    /** Records the duration of an fsync that started at `started`. */
    const synced = (started: bigint) => {
      fsyncSeconds.push(Number(clock.unsafeCurrentTimeNanos() - started) / 1e9)
    }

    const sync = Effect.suspend(() => {
      const target = active!
      if (target.unsynced === 0) return Effect.void
      const started = clock.unsafeCurrentTimeNanos()
      return Effect.map(target.sync(), () => synced(started))
    })

    /** Seals the active segment and starts the next one. */
    const rotate = (timestamp: number) =>
      Effect.gen(function*() {
        const current = active!
        const segment = current.segment
        const lastSequence = state.nextSequence - 1
        encoder.seal(lastSequence, lastSequence - segment.firstSequence + 1, state.lastCheckpoint, timestamp, current.durable)
        // A sealed segment ends with its seal frame: give back the space allocated ahead first, so
        // the fsync below makes the exact size durable together with the seal.
        yield* current.resize(current.written + encoder.size)
        yield* flush
        // The seal and every frame before it must be durable before the next segment exists:
        // recovery requires every segment but the last to end with a valid seal frame.
        yield* sync
        const next = yield* createSegment(fs, ctx.path, config.directory, ctx.walId, ctx.codecId, segment.index + 1, state.nextSequence)
        yield* current.close(false)
        active = undefined
        const published = state.snapshot
        const firstKept = ctx.firstKept()
        state.snapshot = {
          sealed: [
            ...published.sealed.filter((s) => s.index >= firstKept),
            { ...segment, lastSequence, size: current.written, sealed: true }
          ],
          active: next,
          committed: published.committed,
          committedCheckpoint: published.committedCheckpoint
        }
        rotated = true
        active = yield* ActiveSegment.open(fs, next, next.size, config.segmentBytes, writerScope)
      })

    const fits = (bytes: number) => active!.written + encoder.size + bytes + SEAL_FRAME_SIZE <= config.segmentBytes

    const isEmpty = () => active!.written + encoder.size === HEADER_SIZE

    /** Frames a request's entries, numbering them. A plain loop, kept out of generator bodies. */
    const frameRequest = (request: Request, timestamp: number) => {
      const durable = active!.durable
      const kind = request.frameKind
      const payloads = request.payloads
      const count = payloads.length
      let sequence = state.nextSequence
      request.firstSequence = sequence
      for (let i = 0; i < count; i++, sequence++) {
        encoder.frame(kind, i < count - 1 ? FLAG_CONTINUES : 0, sequence, timestamp, durable, payloads[i]!)
      }
      state.nextSequence = sequence
      if (kind === FrameKind.checkpoint) state.lastCheckpoint = sequence - 1
    }

    /** After the last write of a batch: whether it must be fsynced before it is acknowledged. */
    const syncDue = (now: number, requested: boolean): boolean => {
      const unsynced = active!.unsynced
      if (unsynced === 0) return false
      if (unsyncedSince === undefined) unsyncedSince = now
      return mustSync(mode, unsynced, requested)
    }

    /** Whether a batch was published whose tails `finish` must wake. */
    let wakeTails = false

    /**
     * Publishes a committed batch: the new watermark and its bytes for live tails. `finish` wakes
     * the tails after acknowledging the batch, so no acknowledgement waits behind a tail's read.
     */
    const publish = (appended: boolean) => {
      if (!appended) return
      const target = active!
      state.snapshot = committedBatch(state.snapshot, target.segment, state.nextSequence - 1, target.written, state.lastCheckpoint)
      live.commit()
      wakeTails = true
    }

    /** Stops the WAL for good after a failed write or fsync of a batch. */
    const poison = (error: WalIOError) => {
      // Fail-stop: never retry a failed write or fsync and then acknowledge, since the kernel may
      // already have dropped the dirty pages.
      live.discard()
      state.poisoned = new WalPoisonedError({ cause: error })
    }

    /**
     * Frames, writes and (as the mode says) fsyncs one batch. Loops and effect chains rather than a
     * generator: a generator here cost about a sixth of the CPU of a one-at-a-time append.
     */
    const serve = (items: ReadonlyArray<Request>, closing: boolean): Effect.Effect<void, WalIOError> =>
      Effect.suspend(() => {
        let syncRequested = closing
        let appended = false
        const now = clock.unsafeCurrentTimeMillis()
        const timestamp = beginBatch(now)

        /** After the last write of the batch: fsyncs as the mode says, then publishes. */
        const complete = (): Effect.Effect<void, WalIOError> => {
          if (syncDue(now, syncRequested)) {
            return Effect.map(sync, () => {
              unsyncedSince = undefined
              publish(appended)
            })
          }
          publish(appended)
          return Effect.void
        }

        /** Frames the requests from `from` on, stepping out to rotate or to write a full buffer. */
        const frameFrom = (from: number): Effect.Effect<void, WalIOError> => {
          for (let i = from; i < items.length; i++) {
            const request = items[i]!
            if (request.kind !== RequestKind.Append) {
              if (request.kind === RequestKind.Sync) syncRequested = true
              continue
            }
            appended = true
            if (!fits(request.bytes) && !isEmpty()) return Effect.flatMap(rotate(timestamp), () => frameFrom(i))
            frameRequest(request, timestamp)
            if (encoder.size >= MAX_WRITE_BYTES) return Effect.flatMap(flush, () => frameFrom(i + 1))
          }
          return Effect.flatMap(flush, complete)
        }

        return frameFrom(0)
      })

    /** Whether `drain` may serve these requests: see the module's doc. */
    const servableNow = (items: ReadonlyArray<Request>): boolean => {
      if (active?.access === undefined || state.poisoned !== undefined || mode._tag === "Grouped") return false
      let bytes = 0
      for (const request of items) {
        if (request.kind === RequestKind.Close) return false
        bytes += request.bytes
      }
      return fits(bytes)
    }

    /**
     * `serve` and `finish` as one synchronous step, for a batch that `servableNow` accepted: frame,
     * write, fsync as the mode says, publish, complete.
     */
    const serveNow = (items: ReadonlyArray<Request>) => {
      const target = active!
      const now = clock.unsafeCurrentTimeMillis()
      const timestamp = beginBatch(now)
      let syncRequested = false
      let appended = false
      try {
        for (const request of items) {
          if (request.kind === RequestKind.Sync) {
            syncRequested = true
            continue
          }
          appended = true
          frameRequest(request, timestamp)
          if (encoder.size >= MAX_WRITE_BYTES) flushNow(target)
        }
        flushNow(target)
        if (syncDue(now, syncRequested)) {
          const started = clock.unsafeCurrentTimeNanos()
          target.syncNow()
          synced(started)
          unsyncedSince = undefined
        }
        publish(appended)
      } catch (error) {
        // Anything thrown past a file operation (a defect included) leaves the file in an unknown
        // state: stop as after a failed write.
        poison(error instanceof WalIOError ? error : new WalIOError({ operation: "write", path: target.segment.path, code: undefined, cause: error }))
        return finish(items, state.poisoned)
      }
      finish(items, undefined)
    }

    /** Completes every request of a batch with its outcome and reports the batch. */
    const finish = (items: ReadonlyArray<Request>, failure: RequestError | undefined) => {
      let entries = 0
      for (const request of items) {
        if (failure !== undefined && request.kind !== RequestKind.Close) request.complete(Exit.fail(failure))
        else {
          entries += request.payloads.length
          request.complete(Exit.succeed(request.firstSequence))
        }
      }
      if (wakeTails) {
        wakeTails = false
        state.committedSignal.notify()
      }
      ctx.afterBatch(items, failure === undefined ? { entries, bytes: bytesWritten, fsyncSeconds, rotated } : undefined)
      if (batchOpen) traceBatch(entries, failure)
    }

    /** The batch just finished as one `effect-wal.batch` span (a batch that wrote nothing has none). */
    const traceBatch = (entries: number, failure: RequestError | undefined) => {
      const batch = { entries, bytes: bytesWritten, fsyncSeconds, segment: active?.segment.index ?? -1 }
      recordBatch(tracer, batchStarted, clock.unsafeCurrentTimeNanos(), batch, failure)
      batchOpen = false
    }

    /** Serves a batch; a failed write or fsync poisons the WAL. Returns whether it closed the WAL. */
    const process = (items: ReadonlyArray<Request>) =>
      Effect.suspend(() => {
        const closing = items.some((r) => r.kind === RequestKind.Close)
        if (active === undefined || state.poisoned !== undefined) {
          finish(items, state.poisoned)
          return Effect.succeed(closing)
        }
        return serve(items, closing).pipe(
          Effect.match({
            onFailure: (error: WalIOError) => {
              poison(error)
              finish(items, state.poisoned)
              return closing
            },
            onSuccess: () => {
              finish(items, undefined)
              return closing
            }
          }),
          Effect.uninterruptible
        )
      })

    /** A timed fsync in buffered mode, when no request arrived within the interval. */
    const timedSync = Effect.suspend(() => {
      fsyncSeconds.length = 0
      return sync
    }).pipe(
      Effect.match({
        onFailure: poison,
        onSuccess: () => {
          unsyncedSince = undefined
          ctx.afterBatch([], { entries: 0, bytes: 0, fsyncSeconds, rotated: false })
        }
      }),
      Effect.uninterruptible
    )

    /** Resumes the writer fiber while it is parked with nothing to do; `drain` decides when. */
    let wakeFiber: (() => void) | undefined
    /** Whether the parked fiber will wake by itself (buffered mode's interval) to fsync. */
    let parkedWithTimer = false
    let drainQueued = false

    /**
     * Serves what arrived while the writer fiber was parked: in this synchronous step when it can,
     * otherwise by waking the fiber. It also wakes the fiber when buffered mode now has unsynced
     * bytes and the fiber parked without a timer.
     */
    const drain = () => {
      drainQueued = false
      const wake = wakeFiber
      if (wake === undefined || queue.size === 0) return
      if (servableNow(queue.peek())) {
        serveNow(queue.takeAll())
        if (queue.size === 0 && (parkedWithTimer || unsyncedSince === undefined || mode._tag !== "Buffered")) return
      }
      wakeFiber = undefined
      wake()
    }

    queue.onArrival = () => {
      if (wakeFiber === undefined || drainQueued) return
      // A microtask, not now: the fibers that are ready run first and queue their appends, so
      // concurrent appends share this batch's write and fsync.
      drainQueued = true
      queueMicrotask(drain)
    }

    /**
     * Parks the writer fiber until `drain` wakes it. A request may have arrived between the check
     * of the queue and the park (a timed park runs in a fiber of its own): it is taken at once.
     */
    const park = (timed: boolean) =>
      Effect.async<void>((resume) => {
        if (queue.size > 0) return resume(Effect.void)
        parkedWithTimer = timed
        wakeFiber = () => resume(Effect.void)
        return Effect.sync(() => {
          wakeFiber = undefined
        })
      })

    /**
     * The next batch: everything queued by the time the writer runs (parking on an empty queue
     * first). None when buffered mode's interval elapses first and the unsynced tail needs an fsync.
     */
    const take = Effect.suspend((): Effect.Effect<Option.Option<Array<Request>>> => {
      if (queue.size > 0) return Effect.succeed(Option.some(queue.takeAll()))
      if (mode._tag === "Buffered" && unsyncedSince !== undefined && state.poisoned === undefined) {
        const remaining = Duration.toMillis(mode.interval) - (clock.unsafeCurrentTimeMillis() - unsyncedSince)
        if (remaining <= 0) return Effect.succeed(Option.none())
        return Effect.map(
          Effect.timeoutOption(park(true), Duration.millis(remaining)),
          Option.map(() => queue.takeAll())
        )
      }
      return Effect.map(park(false), () => Option.some(queue.takeAll()))
    })

    active = yield* ActiveSegment.open(fs, last, last.size, config.segmentBytes, writerScope).pipe(
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
      const items = taken.value
      if (items.length === 0) continue
      if (mode._tag === "Grouped" && items.every((r) => r.kind === RequestKind.Append)) {
        yield* Effect.sleep(mode.maxDelay)
        for (const request of queue.takeAll()) items.push(request)
      }
      if (yield* process(items)) {
        // A cleanly closed WAL holds only its frames; a poisoned one is left as the failure left it.
        if (active !== undefined) yield* active.close(state.poisoned === undefined)
        return
      }
    }
  })
