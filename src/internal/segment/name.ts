/**
 * Segment file names: `<index>-<first sequence>.wal`, both as 20 decimal digits so that lexical
 * order is numeric order. Any other name is not a segment and the directory scan ignores it.
 */
import { Option } from "effect"

/** The parts of a segment file name. */
export interface SegmentName {
  readonly segmentIndex: number
  readonly firstSequence: number
}

const PATTERN = /^(\d{20})-(\d{20})\.wal$/

/** The file name of a segment. */
export const formatSegmentName = (segmentIndex: number, firstSequence: number): string =>
  `${String(segmentIndex).padStart(20, "0")}-${String(firstSequence).padStart(20, "0")}.wal`

/** Parses a segment file name; `None` for anything else (including numbers past 2^53). */
export const parseSegmentName = (name: string): Option.Option<SegmentName> => {
  const match = PATTERN.exec(name)
  if (match === null) return Option.none()
  const segmentIndex = Number(match[1])
  const firstSequence = Number(match[2])
  if (!Number.isSafeInteger(segmentIndex) || !Number.isSafeInteger(firstSequence) || firstSequence < 1) {
    return Option.none()
  }
  return Option.some({ segmentIndex, firstSequence })
}
