/**
 * The writer's publication: what it has committed, as one immutable value that it replaces (never
 * changes) once per batch and at each rotation, as hashicorp/raft-wal publishes its state. Readers,
 * replication, retention and the `segments` API read the snapshot current when they look; a
 * snapshot they hold stays consistent whatever the writer does next. Publishing costs two small
 * allocations per batch (the snapshot and the active segment's record), nothing per entry.
 *
 * Which segments are still on disk is the lifecycle's to say (`Lifecycle.firstKept`): the writer's
 * list may still name segments the lifecycle has removed until its next rotation prunes them, so
 * every lookup takes the lifecycle's first kept index.
 */
import { Option } from "effect"
import { findSegment, type SegmentState } from "../segment/state.js"

/** What the writer has committed. */
export interface LogSnapshot {
  /** The sealed segments, oldest first; a new array at each rotation. */
  readonly sealed: ReadonlyArray<SegmentState>
  /** The active segment as of the last commit. */
  readonly active: SegmentState
  /** The last acknowledged sequence: readers and tails never go past it. */
  readonly committed: number
  /** The last acknowledged checkpoint entry (0 when none). */
  readonly committedCheckpoint: number
}

/**
 * The snapshot after a batch: `previous` with the active segment `segment` committed up to
 * `committed` (its last entry) and `size` bytes, and the checkpoint `committedCheckpoint`.
 */
export const committedBatch = (
  previous: LogSnapshot,
  segment: SegmentState,
  committed: number,
  size: number,
  committedCheckpoint: number
): LogSnapshot => ({
  sealed: previous.sealed,
  active: {
    index: segment.index,
    firstSequence: segment.firstSequence,
    name: segment.name,
    path: segment.path,
    lastSequence: committed,
    size,
    sealed: false
  },
  committed,
  committedCheckpoint
})

/** The segments of `snapshot` from index `firstKept` on, oldest first; the last one is active. */
export const segmentsOf = (snapshot: LogSnapshot, firstKept: number): ReadonlyArray<SegmentState> => {
  const sealed = snapshot.sealed
  let from = 0
  while (from < sealed.length && sealed[from]!.index < firstKept) from++
  return [...sealed.slice(from), snapshot.active]
}

/**
 * The segment holding `sequence`, or the first one kept after it: the active segment, or by binary
 * search among the sealed segments from `firstKept` on.
 */
export const segmentFor = (snapshot: LogSnapshot, firstKept: number, sequence: number): Option.Option<SegmentState> => {
  const active = snapshot.active
  if (active.firstSequence <= sequence) return Option.some(active)
  const sealed = snapshot.sealed
  let from = 0
  while (from < sealed.length && sealed[from]!.index < firstKept) from++
  return from === sealed.length ? Option.some(active) : findSegment(from === 0 ? sealed : sealed.slice(from), sequence)
}

/** The bytes of `segment` a reader may read now: the committed size of its newest record. */
export const committedSize = (snapshot: LogSnapshot, segment: SegmentState): number =>
  segment.index === snapshot.active.index ? snapshot.active.size : segment.sealed ? segment.size : sealedSize(snapshot, segment)

/** The size of a segment that was active when `segment` was recorded and has been sealed since. */
const sealedSize = (snapshot: LogSnapshot, segment: SegmentState): number => {
  const sealed = snapshot.sealed
  for (let i = sealed.length - 1; i >= 0; i--) if (sealed[i]!.index === segment.index) return sealed[i]!.size
  return segment.size
}
