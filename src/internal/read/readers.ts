/**
 * The streams that read an open WAL: replay (bounded by the committed watermark when it starts),
 * tail (committed entries from memory while it keeps up, from disk otherwise, then waits for the
 * next commit) and the leader's byte stream. They read the writer's published snapshot and pin
 * what they still need, so reclamation never removes a segment under them.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import { Chunk, Effect, Option, type Queue, Stream } from "effect"
import type { ReadError, Wal, WalEntry } from "../../Wal.js"
import { WalConfigError } from "../../WalError.js"
import { FORMAT_MAX_PAYLOAD } from "../format/constants.js"
import type { PayloadCodec } from "../payload.js"
import type { Listener } from "../signal.js"
import { replaySpan } from "../tracing.js"
import type { CloseStatus } from "../write/close.js"
import type { Lifecycle } from "../write/lifecycle.js"
import { committedSize, segmentFor } from "../write/snapshot.js"
import type { WriterState } from "../write/writer.js"
import type { LiveWindow } from "./liveWindow.js"
import { LogCursor, readChunk, readLiveChunk, type SegmentSource } from "./logReader.js"
import { type LeaderView, streamBytes } from "./replication.js"

/** Validates `from` / `to` of a read; a bound that is not an integer is a defect of the caller. */
export const checkRange = (options: { readonly from?: number; readonly to?: number } | undefined) => {
  for (const field of ["from", "to"] as const) {
    const value = options?.[field]
    if (value !== undefined && !Number.isSafeInteger(value)) {
      return Option.some(new WalConfigError({ field, detail: `must be an integer, got ${value}` }))
    }
  }
  return Option.none()
}

/**
 * A stream of chunks pulled from a cursor made for this stream alone; `pull` returns an empty chunk
 * to end the stream, and the cursor is disposed of when the stream ends, fails or is interrupted.
 * A finaliser rather than a scoped wrapper: every chunk of a tail passes through whatever layers the
 * stream has, and the flattened inner stream of `unwrapScoped` cost each chunk 0.3-2.7 µs more
 * (a bare chunk with its wake-up: about 4 µs).
 */
export const cursorStream = <A>(
  cursor: LogCursor<A>,
  pull: (cursor: LogCursor<A>) => Effect.Effect<Chunk.Chunk<WalEntry<A>>, ReadError>
): Stream.Stream<WalEntry<A>, ReadError> =>
  Stream.repeatEffectChunkOption(
    Effect.flatMap(Effect.mapError(pull(cursor), Option.some), (chunk) =>
      Chunk.isEmpty(chunk) ? Effect.fail(Option.none()) : Effect.succeed(chunk))
  ).pipe(Stream.ensuring(cursor.dispose()))

/** What the streams of an open WAL need. */
export interface ReadersContext<A> {
  readonly fs: FileSystem.FileSystem
  readonly directory: string
  readonly seed: number
  readonly payload: PayloadCodec<A>
  readonly state: WriterState
  readonly status: CloseStatus
  readonly lifecycle: Lifecycle
  readonly live: LiveWindow
  /** Offered when a reader lets go of reclaimed segments: the sweep runs. */
  readonly maintenance: Queue.Enqueue<void>
}

/** The read side of `Wal`. */
export interface Readers<A> {
  readonly replay: (options?: { readonly from?: number; readonly to?: number }) => Stream.Stream<WalEntry<A>, ReadError>
  readonly replayFromCheckpoint: Stream.Stream<WalEntry<A>, ReadError>
  readonly tail: (options?: { readonly from?: number }) => Stream.Stream<WalEntry<A>, ReadError>
  readonly streamBytes: Wal<A>["streamBytes"]
}

/** Builds the streams over the writer's published snapshot. */
export const makeReaders = <A>(ctx: ReadersContext<A>): Readers<A> => {
  const { directory, fs, lifecycle, live, maintenance, payload, state, status } = ctx
  const source: SegmentSource = {
    segmentFor: (sequence) => Effect.sync(() => segmentFor(state.snapshot, lifecycle.firstKept, sequence)),
    limitOf: (segment) => committedSize(state.snapshot, segment),
    damageAtEnd: () => "corruption",
    segmentGone: (_, error) => Effect.fail(error),
    checkHeader: () => Effect.void,
    seed: ctx.seed,
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
  const pullLive = (cursor: LogCursor<A>, listener: Listener): Effect.Effect<Chunk.Chunk<WalEntry<A>>, ReadError> => {
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
      status.closed ? Effect.succeed(empty) : Effect.zipRight(state.committedSignal.changedFor(listener, seen), pull)
    return pull
  }

  const tail = (options?: { readonly from?: number }): Stream.Stream<WalEntry<A>, ReadError> =>
    Option.match(checkRange(options), {
      onSome: Stream.die,
      onNone: () =>
        Stream.suspend(() => {
          live.attach()
          const listener = state.committedSignal.listen()
          const cursor = new LogCursor(fs, source, payload, Math.max(options?.from ?? 1, 1))
          return cursorStream(cursor, (c) => pullLive(c, listener)).pipe(
            Stream.ensuring(Effect.sync(() => {
              state.committedSignal.unlisten(listener)
              live.detach()
            }))
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
    seed: ctx.seed,
    pin: source.pin
  }

  return {
    replay,
    replayFromCheckpoint: Stream.suspend(() => replayFrom(Math.max(state.snapshot.committedCheckpoint, 1), undefined)),
    tail,
    streamBytes: (options) =>
      Option.match(checkRange(options), {
        onSome: Stream.die,
        onNone: () => streamBytes(leader, options?.from ?? 1)
      })
  }
}
