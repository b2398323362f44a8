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
import { Context, Duration, Effect, ExecutionStrategy, Exit, Option, Scope } from "effect"
import type * as Durability from "../../Durability.js"
import { errnoCode, WalIOError, WalPoisonedError } from "../../WalError.js"
import type { ResolvedConfig } from "../config.js"
import { FLAG_CONTINUES, FrameKind, HEADER_SIZE, SEAL_FRAME_SIZE } from "../format/constants.js"
import { BatchEncoder } from "../format/frame.js"
import { open, sizeOf, syncFile, truncate, writeAll } from "../io.js"
import { createSegment } from "../segment/create.js"
import type { SegmentState } from "../segment/state.js"
import type { LogSnapshot } from "./snapshot.js"
import { type Request, type RequestError, type RequestQueue, RequestKind } from "./queue.js"
import type { Signal } from "../signal.js"
import { type SyncAccess, syncAccessOf } from "../syncAccess.js"
import { batchAttributes, SpanName } from "../tracing.js"
import type { LiveWindow } from "../read/liveWindow.js"

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

/**
 * How far the active segment is extended ahead of the writes (never past `segmentBytes`). An
 * append inside space already allocated does not change the file's size, so its fsync has no size
 * to commit: one-at-a-time durable appends on ext4 ran 1.45x faster with raw `fs` calls
 * (docs/design.md). Recovery reads the zeros past the last frame as free space.
 */
const ALLOCATE_AHEAD_BYTES = 1024 * 1024

interface Active {
  segment: SegmentState
  file: FileSystem.File
  scope: Scope.CloseableScope
  /** Bytes written to the file (the next write's offset). */
  written: number
  /** Bytes known durable (fsynced). */
  durable: number
  /** The file's size: `written` plus the zeros allocated ahead of the writes. */
  allocated: number
  /** The file's synchronous operations, when it offers them: batches are then served by `drain`. */
  readonly access: SyncAccess | undefined
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
    // The tracer of the fiber that opened the WAL: each batch is one root span of its own.
    const tracer = yield* Effect.tracer
    const openActive = (segment: SegmentState, written: number) =>
      Effect.gen(function*() {
        const scope = yield* Scope.fork(writerScope, ExecutionStrategy.sequential)
        const file = yield* open(fs, segment.path, "r+").pipe(Scope.extend(scope))
        const allocated = yield* sizeOf(file, segment.path)
        yield* file.seek(written, "start")
        return { segment, file, scope, written, durable: written, allocated, access: syncAccessOf(file) } satisfies Active
      })
    const last = state.snapshot.active
    let active: Active | undefined
    let bytesWritten = 0
    let rotated = false
    const fsyncSeconds: Array<number> = []
    /** When the oldest unsynced write happened (buffered mode's timer). */
    let unsyncedSince: number | undefined
    /** Sequence of the first entry framed since the encoder was last emptied. */
    let framedFrom = 0
    /** When the batch being served started (its span's start). */
    let batchStarted = 0n
    /** Whether a batch has begun and not yet been traced. */
    let batchOpen = false

    /** Starts a batch: clears its report and returns its entries' timestamp. */
    const beginBatch = (now: number): number => {
      batchStarted = clock.unsafeCurrentTimeNanos()
      batchOpen = true
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

    /** The size to give the active segment so that a write ending at `end` fits, with room ahead. */
    const allocationFor = (end: number) => Math.max(end, Math.min(end + ALLOCATE_AHEAD_BYTES, config.segmentBytes))

    /** Sets the active segment's size. The fsync that makes the next frames durable makes it durable too. */
    const allocate = (target: Active, size: number) =>
      Effect.map(truncate(target.file, size, target.segment.path), () => {
        target.allocated = size
      })

    /** Book-keeping once the encoder's bytes are in the file: offsets, the live window, an empty encoder. */
    const wrote = (target: Active, bytes: Uint8Array) => {
      live.stage(target.segment, target.written, bytes, framedFrom, state.nextSequence - 1)
      target.written += bytes.length
      bytesWritten += bytes.length
      encoder.reset()
      framedFrom = state.nextSequence
    }

    /** Writes the framed bytes at the end of the active segment. */
    const flush = Effect.suspend(() => {
      if (encoder.size === 0) return Effect.void
      const target = active!
      const bytes = encoder.bytes()
      const end = target.written + bytes.length
      const write = Effect.map(writeAll(target.file, bytes, target.segment.path), () => wrote(target, bytes))
      if (end <= target.allocated) return write
      // Allocate ahead so that the appends after this one do not change the file's size.
      return Effect.zipRight(allocate(target, allocationFor(end)), write)
    })

    /** Book-keeping once an fsync of everything written up to `upTo` has succeeded. */
    const synced = (target: Active, upTo: number, started: bigint) => {
      fsyncSeconds.push(Number(clock.unsafeCurrentTimeNanos() - started) / 1e9)
      target.durable = upTo
    }

    const sync = Effect.suspend(() => {
      const target = active!
      if (target.durable === target.written) return Effect.void
      const upTo = target.written
      const started = clock.unsafeCurrentTimeNanos()
      return Effect.map(syncFile(target.file, target.segment.path), () => synced(target, upTo, started))
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
        const sealedSize = current.written + encoder.size
        if (current.allocated !== sealedSize) yield* allocate(current, sealedSize)
        yield* flush
        // The seal and every frame before it must be durable before the next segment exists:
        // recovery requires every segment but the last to end with a valid seal frame.
        yield* sync
        const next = yield* createSegment(fs, ctx.path, config.directory, ctx.walId, ctx.codecId, segment.index + 1, state.nextSequence)
        yield* Scope.close(current.scope, Exit.void)
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
        active = yield* openActive(next, next.size)
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
      const current = active!
      const unsynced = current.written - current.durable
      if (unsynced === 0) return false
      if (unsyncedSince === undefined) unsyncedSince = now
      return mustSync(mode, unsynced, requested)
    }

    /** Publishes a committed batch: the new watermark, its bytes for live tails, a wake-up for the tails. */
    const publish = (appended: boolean) => {
      if (!appended) return
      const committed = state.nextSequence - 1
      state.snapshot = {
        sealed: state.snapshot.sealed,
        active: { ...active!.segment, lastSequence: committed, size: active!.written },
        committed,
        committedCheckpoint: state.lastCheckpoint
      }
      live.commit()
      state.committedSignal.notify()
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

    /** Runs one synchronous file operation, throwing its failure as a `WalIOError`. */
    const attemptNow = <A>(operation: string, target: Active, run: () => A): A => {
      try {
        return run()
      } catch (error) {
        throw new WalIOError({ operation, path: target.segment.path, code: errnoCode(error), cause: error })
      }
    }

    /** `flush` as one synchronous step. */
    const flushNow = (target: Active, access: SyncAccess) => {
      if (encoder.size === 0) return
      const bytes = encoder.bytes()
      const end = target.written + bytes.length
      if (end > target.allocated) {
        const size = allocationFor(end)
        attemptNow("truncate", target, () => access.truncate(size))
        target.allocated = size
      }
      attemptNow("write", target, () => access.writeAll(bytes))
      wrote(target, bytes)
    }

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
      const access = target.access!
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
          if (encoder.size >= MAX_WRITE_BYTES) flushNow(target, access)
        }
        flushNow(target, access)
        if (syncDue(now, syncRequested)) {
          const upTo = target.written
          const started = clock.unsafeCurrentTimeNanos()
          attemptNow("fsync", target, access.sync)
          synced(target, upTo, started)
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
      ctx.afterBatch(items, failure === undefined ? { entries, bytes: bytesWritten, fsyncSeconds, rotated } : undefined)
      if (batchOpen) traceBatch(entries, failure)
    }

    /** The batch just finished as one `effect-wal.batch` span (a batch that wrote nothing has none). */
    const traceBatch = (entries: number, failure: RequestError | undefined) => {
      const span = tracer.span(SpanName.batch, Option.none(), Context.empty(), [], batchStarted, "internal")
      const attributes = batchAttributes({ entries, bytes: bytesWritten, fsyncSeconds, segment: active?.segment.index ?? -1 })
      for (const key in attributes) span.attribute(key, attributes[key])
      span.end(clock.unsafeCurrentTimeNanos(), failure === undefined ? Exit.void : Exit.fail(failure))
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
      const items = taken.value
      if (items.length === 0) continue
      if (mode._tag === "Grouped" && items.every((r) => r.kind === RequestKind.Append)) {
        yield* Effect.sleep(mode.maxDelay)
        for (const request of queue.takeAll()) items.push(request)
      }
      if (yield* process(items)) {
        if (active !== undefined) {
          // A cleanly closed WAL holds only its frames, durably (its files can be copied and
          // compared as they are). Everything acknowledged is already durable, so a failure here
          // costs nothing: the zeros the cut would remove are free space to recovery, never data.
          if (state.poisoned === undefined && active.allocated > active.written) {
            const target = active
            yield* Effect.ignore(Effect.zipRight(allocate(target, target.written), syncFile(target.file, target.segment.path)))
          }
          yield* Scope.close(active.scope, Exit.void)
        }
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
