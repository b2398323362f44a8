/**
 * The WAL's record of one segment file, as recovery finds it and the writer extends it.
 */
import { Option } from "effect"

/** What the WAL knows of one segment. The writer updates the active one in place. */
export interface SegmentState {
  readonly index: number
  readonly firstSequence: number
  readonly name: string
  readonly path: string
  /** Last committed sequence in the segment; `firstSequence - 1` while empty. */
  lastSequence: number
  /** Committed size in bytes. */
  size: number
  sealed: boolean
  /** Reclaimed: waiting to be archived once no reader needs it. */
  archived: boolean
}

/** The last segment whose first sequence is at most `sequence` (or the first segment). */
export const findSegment = (segments: ReadonlyArray<SegmentState>, sequence: number): Option.Option<SegmentState> => {
  let low = 0
  let high = segments.length - 1
  if (high < 0) return Option.none()
  while (low < high) {
    const mid = (low + high + 1) >>> 1
    if (segments[mid]!.firstSequence <= sequence) low = mid
    else high = mid - 1
  }
  return Option.some(segments[low]!)
}
