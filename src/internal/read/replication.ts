/**
 * The leader side of replication: the committed log as a byte-exact stream of chunks, segment
 * headers and frames exactly as on disk, following live appends like `tail`. No payload is
 * decoded; every frame's checksum is verified before it leaves.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Exit, Option, Scope, Stream } from "effect"
import type { ReplicationChunk } from "../../Wal.js"
import { WalCorruptionError, type WalIOError } from "../../WalError.js"
import { FORMAT_MAX_PAYLOAD, FrameKind, HEADER_SIZE } from "../format/constants.js"
import { open, readAt } from "../io.js"
import type { SegmentState } from "../segment/state.js"
import type { Signal } from "../signal.js"
import { SegmentReader } from "./segmentReader.js"

/** What the leader stream needs from an open WAL. */
export interface LeaderView {
  readonly fs: FileSystem.FileSystem
  readonly segmentFor: (sequence: number) => Option.Option<SegmentState>
  /** The bytes of a segment that may be read now (its committed size). */
  readonly limitOf: (segment: SegmentState) => number
  readonly committed: () => number
  readonly closed: () => boolean
  readonly committedSignal: Signal
  readonly seed: number
  readonly pin: (holder: object, sequence: number | undefined) => void
}

/** A position in the log that produces raw chunks. */
class ByteCursor {
  private segment: SegmentState | undefined
  private reader: SegmentReader | undefined
  private scope: Scope.CloseableScope | undefined

  constructor(readonly view: LeaderView, public nextSequence: number) {
    view.pin(this, nextSequence)
  }

  /** The next chunk with frames up to `upTo`, or `None` when nothing more is readable now. */
  next(upTo: number): Effect.Effect<Option.Option<ReplicationChunk>, WalIOError | WalCorruptionError> {
    return Effect.gen(this, function*() {
      this.view.pin(this, this.nextSequence)
      for (;;) {
        if (this.reader === undefined) {
          const found = this.view.segmentFor(this.nextSequence)
          if (Option.isNone(found) || found.value.index === this.segment?.index) return Option.none()
          const segment = found.value
          const scope = yield* Scope.make()
          const file = yield* open(this.view.fs, segment.path, "r").pipe(Scope.extend(scope), Effect.tapError(() => Scope.close(scope, Exit.void)))
          this.scope = scope
          this.segment = segment
          if (this.nextSequence < segment.firstSequence) this.nextSequence = segment.firstSequence
          this.reader = new SegmentReader(file, segment.path, HEADER_SIZE, segment.firstSequence, this.view.seed, FORMAT_MAX_PAYLOAD)
          if (this.nextSequence === segment.firstSequence) {
            const header = yield* readAt(file, 0, HEADER_SIZE, segment.path)
            return Option.some({ _tag: "Header", segmentIndex: segment.index, name: segment.name, bytes: header } as const)
          }
        }
        const chunk = yield* this.frames(upTo)
        if (chunk !== undefined) return Option.some(chunk)
        if (this.reader !== undefined) return Option.none()
      }
    })
  }

  /** Frames from the current segment, or `undefined` when none are readable now. */
  private frames(upTo: number): Effect.Effect<ReplicationChunk | undefined, WalIOError | WalCorruptionError> {
    return Effect.gen(this, function*() {
      const reader = this.reader!
      const segment = this.segment!
      const cursor = reader.cursor
      reader.limit = this.view.limitOf(segment)
      let start = -1
      let end = -1
      let lastSequence = this.nextSequence - 1
      let sealed = false
      for (;;) {
        const result = cursor.next()
        if (result === "frame") {
          if (cursor.kind !== FrameKind.seal && cursor.sequence > upTo) {
            cursor.position = cursor.frameStart
            cursor.expectedSequence = cursor.sequence
            break
          }
          if (cursor.kind === FrameKind.seal || cursor.sequence >= this.nextSequence) {
            if (start < 0) start = cursor.frameStart
            end = cursor.position
            if (cursor.kind === FrameKind.seal) {
              sealed = true
              break
            }
            lastSequence = cursor.sequence
          }
          continue
        }
        if (start < 0 && (result === "end" || result === "incomplete") && (yield* reader.refill())) continue
        if (result === "end" || result === "incomplete") {
          if (result === "end" && !segment.sealed) break
          if (start >= 0) break
        }
        return yield* new WalCorruptionError({
          file: segment.path,
          offset: reader.position,
          reason: result === "end" ? "sealed segment ends without a seal frame" : `${result} in committed data`
        })
      }
      if (start < 0) return undefined
      const offset = reader.position - (cursor.position - start)
      const bytes = cursor.buffer.slice(start, end)
      this.nextSequence = lastSequence + 1
      if (sealed) yield* this.close()
      return { _tag: "Frames", segmentIndex: segment.index, offset, bytes, lastSequence, sealed } as const
    })
  }

  close(): Effect.Effect<void> {
    return Effect.suspend(() => {
      const scope = this.scope
      this.scope = undefined
      this.reader = undefined
      return scope === undefined ? Effect.void : Scope.close(scope, Exit.void)
    })
  }
}

/** The committed log from `from` as raw chunks, following live appends until the WAL closes. */
export const streamBytes = (view: LeaderView, from: number): Stream.Stream<ReplicationChunk, WalIOError | WalCorruptionError> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const cursor = new ByteCursor(view, Math.max(from, 1))
    yield* Effect.addFinalizer(() => Effect.zipRight(cursor.close(), Effect.sync(() => view.pin(cursor, undefined))))
    const pull = Effect.gen(function*() {
      for (;;) {
        const seen = view.committedSignal.version
        const chunk = yield* cursor.next(view.committed())
        if (Option.isSome(chunk)) return chunk.value
        if (view.closed()) return yield* Effect.fail(Option.none())
        yield* view.committedSignal.changedSince(seen)
      }
    })
    return Stream.repeatEffectOption(Effect.mapError(pull, (e) => Option.isOption(e) ? e : Option.some(e)))
  }))
