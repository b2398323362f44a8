/**
 * The segment the writer appends to: its open file, how far it is written, how far that is
 * durable, and how far the file is allocated ahead of the writes. Only the writer holds one, so
 * these offsets have one owner. Every operation comes twice where the writer needs both: as an
 * Effect (any `FileSystem`) and as a synchronous step for files that offer `SyncAccess`, with the
 * same meaning and the same `WalIOError`s.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import { Effect, ExecutionStrategy, Exit, Scope } from "effect"
import { errnoCode, WalIOError } from "../../WalError.js"
import { open, sizeOf, syncFile, truncate, writeAll } from "../io.js"
import type { SegmentState } from "../segment/state.js"
import { type SyncAccess, syncAccessOf } from "../syncAccess.js"

/**
 * How far the active segment is extended ahead of the writes (never past `segmentBytes`). An
 * append inside space already allocated does not change the file's size, so its fsync has no size
 * to commit: one-at-a-time durable appends on ext4 ran 1.45x faster with raw `fs` calls
 * (docs/design.md). Recovery reads the zeros past the last frame as free space.
 */
const ALLOCATE_AHEAD_BYTES = 1024 * 1024

/** The segment being appended to, with its file open for writing. */
export class ActiveSegment {
  private constructor(
    readonly segment: SegmentState,
    private readonly file: FileSystem.File,
    private readonly scope: Scope.CloseableScope,
    private writtenBytes: number,
    /** The file's size: `written` plus the zeros allocated ahead of the writes. */
    private allocated: number,
    private readonly segmentBytes: number,
    /** The file's synchronous operations, when it offers them. */
    readonly access: SyncAccess | undefined
  ) {
    this.durableBytes = writtenBytes
  }

  private durableBytes: number

  /** Bytes written to the file (the next write's offset). Only this class moves it. */
  get written(): number {
    return this.writtenBytes
  }

  /** Bytes known durable (fsynced). Only this class moves it. */
  get durable(): number {
    return this.durableBytes
  }

  /**
   * Opens `segment` for writing at `written` (everything before it is durable), in a scope of its
   * own under `parent` that `close` ends.
   */
  static open(
    fs: FileSystem.FileSystem,
    segment: SegmentState,
    written: number,
    segmentBytes: number,
    parent: Scope.Scope
  ): Effect.Effect<ActiveSegment, WalIOError> {
    return Effect.gen(function*() {
      const scope = yield* Scope.fork(parent, ExecutionStrategy.sequential)
      const file = yield* open(fs, segment.path, "r+").pipe(Scope.extend(scope))
      const allocated = yield* sizeOf(file, segment.path)
      yield* file.seek(written, "start")
      return new ActiveSegment(segment, file, scope, written, allocated, segmentBytes, syncAccessOf(file))
    })
  }

  /** Bytes written since the last fsync. */
  get unsynced(): number {
    return this.written - this.durable
  }

  /** The size to give the file so that a write ending at `end` fits, with room ahead. */
  private allocationFor(end: number): number {
    return Math.max(end, Math.min(end + ALLOCATE_AHEAD_BYTES, this.segmentBytes))
  }

  /**
   * Sets the file's size to `size` (nothing to do when it has that size): cuts the space allocated
   * ahead, or extends it. The fsync that makes the next frames durable makes the size durable too.
   */
  resize(size: number): Effect.Effect<void, WalIOError> {
    if (size === this.allocated) return Effect.void
    return Effect.map(truncate(this.file, size, this.segment.path), () => {
      this.allocated = size
    })
  }

  /**
   * Writes `bytes` at the end of what is written, first allocating ahead when they do not fit the
   * allocated space, so that the appends after this one do not change the file's size.
   */
  write(bytes: Uint8Array): Effect.Effect<void, WalIOError> {
    const write = Effect.map(writeAll(this.file, bytes, this.segment.path), () => {
      this.writtenBytes += bytes.length
    })
    const end = this.written + bytes.length
    if (end <= this.allocated) return write
    return Effect.zipRight(this.resize(this.allocationFor(end)), write)
  }

  /** `write` as one synchronous step; requires `access`. */
  writeNow(bytes: Uint8Array): void {
    const access = this.access!
    const end = this.written + bytes.length
    if (end > this.allocated) {
      const size = this.allocationFor(end)
      this.attemptNow("truncate", () => access.truncate(size))
      this.allocated = size
    }
    this.attemptNow("write", () => access.writeAll(bytes))
    this.writtenBytes += bytes.length
  }

  /** fsyncs the file: everything written is durable once it succeeds. */
  sync(): Effect.Effect<void, WalIOError> {
    const upTo = this.written
    return Effect.map(syncFile(this.file, this.segment.path), () => {
      this.durableBytes = upTo
    })
  }

  /** `sync` as one synchronous step; requires `access`. */
  syncNow(): void {
    const upTo = this.written
    this.attemptNow("fsync", this.access!.sync)
    this.durableBytes = upTo
  }

  /**
   * Closes the file. With `trim`, first cuts the space allocated ahead and fsyncs the cut, so a
   * cleanly closed WAL holds only its frames, durably (its files can be copied and compared as
   * they are). Everything acknowledged is already durable, so a failure of the cut costs nothing:
   * the zeros it would remove are free space to recovery, never data.
   */
  close(trim: boolean): Effect.Effect<void> {
    const cut = trim && this.allocated > this.written
      ? Effect.ignore(Effect.zipRight(this.resize(this.written), syncFile(this.file, this.segment.path)))
      : Effect.void
    return Effect.zipRight(cut, Scope.close(this.scope, Exit.void))
  }

  /** Runs one synchronous file operation, throwing its failure as a `WalIOError`. */
  private attemptNow<A>(operation: string, run: () => A): A {
    try {
      return run()
    } catch (error) {
      throw new WalIOError({ operation, path: this.segment.path, code: errnoCode(error), cause: error })
    }
  }
}
