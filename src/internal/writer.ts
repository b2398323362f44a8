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
import type * as Path from "@effect/platform/Path"
import { Duration, Effect, ExecutionStrategy, Exit, Option, Scope } from "effect"
import type * as Durability from "../Durability.js"
import { WalPoisonedError } from "../WalError.js"
import type { WalError, WalIOError } from "../WalError.js"
import type { ResolvedConfig } from "./config.js"
import { FLAG_CONTINUES, FrameKind, HEADER_SIZE, SEAL_FRAME_SIZE } from "./format/constants.js"
import { BatchEncoder } from "./format/frame.js"
import { open, sizeOf, syncFile, truncate, writeAll } from "./io.js"
import { createSegment, type SegmentState } from "./recovery.js"
import type { RequestQueue } from "./requestQueue.js"
import type { Signal } from "./signal.js"

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
  /** Notified every time the watermark moves and when the WAL closes. */
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
  /** Called after every batch, served or failed, with the requests it took off the queue. */
  readonly afterBatch: (requests: ReadonlyArray<Request>, report: BatchReport | undefined) => void
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
    const clock = yield* Effect.clock
    const openActive = (segment: SegmentState, written: number) =>
      Effect.gen(function*() {
        const scope = yield* Scope.fork(writerScope, ExecutionStrategy.sequential)
        const file = yield* open(fs, segment.path, "r+").pipe(Scope.extend(scope))
        const allocated = yield* sizeOf(file, segment.path)
        yield* file.seek(written, "start")
        return { segment, file, scope, written, durable: written, allocated } satisfies Active
      })
    const last = state.segments[state.segments.length - 1]!
    let active: Active | undefined
    let bytesWritten = 0
    let rotated = false
    const fsyncSeconds: Array<number> = []
    /** When the oldest unsynced write happened (buffered mode's timer). */
    let unsyncedSince: number | undefined

    /** Sets the active segment's size. The fsync that makes the next frames durable makes it durable too. */
    const allocate = (target: Active, size: number) =>
      Effect.map(truncate(target.file, size, target.segment.path), () => {
        target.allocated = size
      })

    /** Writes the framed batch at the end of the active segment and starts a new one. */
    const flush = Effect.suspend(() => {
      if (encoder.size === 0) return Effect.void
      const target = active!
      const bytes = encoder.bytes()
      const end = target.written + bytes.length
      const write = Effect.map(writeAll(target.file, bytes, target.segment.path), () => {
        target.written = end
        bytesWritten += bytes.length
        encoder.reset()
      })
      if (end <= target.allocated) return write
      // Allocate ahead so that the appends after this one do not change the file's size.
      return Effect.zipRight(allocate(target, Math.max(end, Math.min(end + ALLOCATE_AHEAD_BYTES, config.segmentBytes))), write)
    })

    const sync = Effect.suspend(() => {
      const target = active!
      if (target.durable === target.written) return Effect.void
      const upTo = target.written
      const started = clock.unsafeCurrentTimeNanos()
      return Effect.map(syncFile(target.file, target.segment.path), () => {
        fsyncSeconds.push(Number(clock.unsafeCurrentTimeNanos() - started) / 1e9)
        target.durable = upTo
      })
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
        segment.lastSequence = lastSequence
        segment.size = current.written
        segment.sealed = true
        const next = yield* createSegment(fs, ctx.path, config.directory, ctx.walId, ctx.codecId, segment.index + 1, state.nextSequence)
        yield* Scope.close(current.scope, Exit.void)
        active = undefined
        state.segments.push(next)
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

    /**
     * Frames, writes and (as the mode says) fsyncs one batch. Loops and effect chains rather than a
     * generator: this runs once per batch, and a generator here cost about a sixth of the CPU of a
     * one-at-a-time append (on tmpfs, 63,000 -> 75,000 appends/s without it).
     */
    const serve = (items: ReadonlyArray<Request>, closing: boolean): Effect.Effect<void, WalIOError> =>
      Effect.suspend(() => {
        let syncRequested = closing
        let appended = false
        bytesWritten = 0
        rotated = false
        fsyncSeconds.length = 0
        const now = clock.unsafeCurrentTimeMillis()
        // Hybrid logical clock: never behind the last timestamp written, even if the wall clock steps back.
        const timestamp = Math.max(now, state.lastTimestamp)
        state.lastTimestamp = timestamp
        encoder.reset()

        /** Publishes the batch: the new committed watermark, and a wake-up for the tails. */
        const publish = () => {
          if (!appended) return
          const current = active!
          current.segment.lastSequence = state.nextSequence - 1
          current.segment.size = current.written
          state.committed = state.nextSequence - 1
          state.committedCheckpoint = state.lastCheckpoint
          state.committedSignal.notify()
        }

        /** After the last write of the batch: fsyncs as the mode says, then publishes. */
        const complete = (): Effect.Effect<void, WalIOError> => {
          const current = active!
          const unsynced = current.written - current.durable
          if (unsynced > 0 && unsyncedSince === undefined) unsyncedSince = now
          if (unsynced > 0 && mustSync(mode, unsynced, syncRequested)) {
            return Effect.map(sync, () => {
              unsyncedSince = undefined
              publish()
            })
          }
          publish()
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

    /** Completes every request of a batch with its outcome and reports the batch. */
    const finish = (items: ReadonlyArray<Request>, failure: WalError | undefined) => {
      let entries = 0
      for (const request of items) {
        if (failure !== undefined && request.kind !== RequestKind.Close) request.complete(Exit.fail(failure))
        else {
          entries += request.payloads.length
          request.complete(Exit.succeed(request.firstSequence))
        }
      }
      ctx.afterBatch(items, failure === undefined ? { entries, bytes: bytesWritten, fsyncSeconds, rotated } : undefined)
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
              // Fail-stop: never retry a failed write or fsync and then acknowledge, since the
              // kernel may already have dropped the dirty pages.
              state.poisoned = new WalPoisonedError({ cause: error })
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
        onFailure: (error) => {
          state.poisoned = new WalPoisonedError({ cause: error })
        },
        onSuccess: () => {
          unsyncedSince = undefined
          ctx.afterBatch([], { entries: 0, bytes: 0, fsyncSeconds, rotated: false })
        }
      }),
      Effect.uninterruptible
    )

    /**
     * The next batch: everything queued by the time the writer runs (waking on an empty queue
     * first). None when buffered mode's interval elapses first and the unsynced tail needs an fsync.
     */
    const take = Effect.suspend((): Effect.Effect<Option.Option<Array<Request>>> => {
      if (queue.size > 0) return Effect.succeed(Option.some(queue.takeAll()))
      if (mode._tag === "Buffered" && unsyncedSince !== undefined && state.poisoned === undefined) {
        const remaining = Duration.toMillis(mode.interval) - (clock.unsafeCurrentTimeMillis() - unsyncedSince)
        if (remaining <= 0) return Effect.succeed(Option.none())
        return Effect.map(
          Effect.timeoutOption(queue.nonEmpty, Duration.millis(remaining)),
          Option.map(() => queue.takeAll())
        )
      }
      return Effect.map(queue.nonEmpty, () => Option.some(queue.takeAll()))
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
