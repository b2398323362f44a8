/**
 * The WAL's record of one segment file: an immutable value. The writer publishes a new record for
 * the active segment with each commit (`write/snapshot.ts`); a record a reader holds never changes.
 */
import { Option } from "effect"

/** What the WAL knows of one segment when the record was made. Records of one segment share its `index`. */
export interface SegmentState {
  readonly index: number
  readonly firstSequence: number
  readonly name: string
  readonly path: string
  /** Last committed sequence in the segment; `firstSequence - 1` while empty. */
  readonly lastSequence: number
  /** Committed size in bytes. */
  readonly size: number
  readonly sealed: boolean
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
