/**
 * Segment lifecycle after sealing: reclamation, reader pins and retention. Reclaimed segments are
 * marked `archived`, then handed to the Archiver once no reader still needs them; the reclaim
 * point is made durable before the first of them leaves the directory.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import { Effect, Metric } from "effect"
import type * as Archiver from "../../Archiver.js"
import type { WalIOError } from "../../WalError.js"
import { syncDirectory } from "../io.js"
import type { WalMetrics } from "../../Wal.js"
import { writeReclaimPoint } from "./reclaim.js"
import { reclaimSpan } from "../tracing.js"
import type { SegmentState } from "../segment/state.js"
import { type LogSnapshot, segmentsOf } from "./snapshot.js"

/**
 * Reclamation and pins for one open WAL. It owns which segments are reclaimed and which are still
 * on disk (`firstKept`); the segments themselves are the writer's, read from its published
 * snapshot. Every change runs under one lock, so reclamation, retention and sweeps never overlap.
 */
export class Lifecycle {
  /** The first sequence each open reader may still need. */
  private readonly pins = new Map<object, number>()
  private readonly lock = Effect.unsafeMakeSemaphore(1)
  /** Indexes of reclaimed segments still on disk: archived once no reader needs them. */
  private readonly reclaimed = new Set<number>()
  /** Index of the first segment still on disk; segments below it are archived. */
  firstKept: number

  constructor(
    readonly fs: FileSystem.FileSystem,
    readonly path: Path.Path,
    readonly directory: string,
    /** The writer's current snapshot. */
    readonly snapshot: () => LogSnapshot,
    readonly archiver: Archiver.Service,
    readonly metrics: WalMetrics
  ) {
    this.firstKept = segmentsOf(snapshot(), 0)[0]!.index
  }

  /** The segments still on disk, oldest first; the last one is active. */
  segments(): ReadonlyArray<SegmentState> {
    return segmentsOf(this.snapshot(), this.firstKept)
  }

  /** Whether `segment` was reclaimed and waits to be archived. */
  isReclaimed(segment: SegmentState): boolean {
    return this.reclaimed.has(segment.index)
  }

  /** Records that `holder` may still read from `sequence` on. */
  pin(holder: object, sequence: number): void {
    this.pins.set(holder, sequence)
  }

  /** Forgets `holder`'s pin. Returns whether reclaimed segments are waiting for removal. */
  release(holder: object): boolean {
    this.pins.delete(holder)
    return this.reclaimed.size > 0
  }

  /** Marks sealed segments whose entries are all below `sequence` as reclaimed, then sweeps. */
  reclaim(sequence: number): Effect.Effect<ReadonlyArray<string>, WalIOError> {
    return this.lock.withPermits(1)(Effect.suspend(() => {
      for (const segment of this.segments()) {
        if (segment.sealed && segment.lastSequence < sequence) this.reclaimed.add(segment.index)
      }
      return this.sweepUnlocked()
    })).pipe(reclaimSpan(this.directory, sequence))
  }

  /** Removes the reclaimed segments no reader needs. */
  get sweep(): Effect.Effect<ReadonlyArray<string>, WalIOError> {
    return this.lock.withPermits(1)(Effect.suspend(() => this.sweepUnlocked()))
  }

  /**
   * Reclaims the oldest segments while more than `maxSegments` are kept, or more than `maxBytes`
   * counting the active segment at its full size, so the directory stays within `maxBytes` until
   * the next rotation.
   */
  retain(
    retention: { readonly maxSegments: number; readonly maxBytes: number },
    segmentBytes: number
  ): Effect.Effect<ReadonlyArray<string>, WalIOError> {
    return Effect.suspend(() => {
      const kept = this.segments().filter((segment) => !this.isReclaimed(segment))
      let bytes = kept.slice(0, -1).reduce((sum, segment) => sum + segment.size, segmentBytes)
      let cut = 0
      while (cut < kept.length - 1 && (kept.length - cut > retention.maxSegments || bytes > retention.maxBytes)) {
        bytes -= kept[cut]!.size
        cut++
      }
      return cut === 0 ? Effect.succeed([]) : this.reclaim(kept[cut]!.firstSequence)
    })
  }

  /** Archives segments a crash left below the reclaim point. */
  archiveLeftover(leftover: ReadonlyArray<SegmentState>): Effect.Effect<void, WalIOError> {
    if (leftover.length === 0) return Effect.void
    return Effect.zipRight(
      Effect.forEach(leftover, (segment) => this.archiver.archive(segment), { discard: true }),
      // The removals must be durable before the log is used, like any reclamation.
      syncDirectory(this.fs, this.directory)
    )
  }

  private sweepUnlocked(): Effect.Effect<ReadonlyArray<string>, WalIOError> {
    return Effect.gen(this, function*() {
      let floor = Number.POSITIVE_INFINITY
      for (const sequence of this.pins.values()) floor = Math.min(floor, sequence)
      // Sealed segments never change: this list stays true while the writer goes on.
      const segments = this.segments()
      let count = 0
      while (count < segments.length - 1 && this.isReclaimed(segments[count]!) && segments[count]!.lastSequence < floor) count++
      if (count === 0) return []
      const keep = segments[count]!
      // Durable before any segment goes: recovery then knows the missing prefix was reclaimed.
      yield* writeReclaimPoint(this.fs, this.path, this.directory, { segmentIndex: keep.index, firstSequence: keep.firstSequence })
      const removed: Array<string> = []
      for (let i = 0; i < count; i++) {
        const segment = segments[i]!
        yield* this.archiver.archive(segment)
        this.firstKept = segment.index + 1
        this.reclaimed.delete(segment.index)
        removed.push(segment.name)
      }
      // Make the removals durable; a crash before this only leaves files below the reclaim point,
      // which the next open archives again.
      yield* syncDirectory(this.fs, this.directory)
      yield* Metric.set(this.metrics.segments, this.segments().length)
      return removed
    })
  }
}
