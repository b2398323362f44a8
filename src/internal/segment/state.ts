/**
 * The WAL's record of one segment file, as recovery finds it and the writer extends it.
 */

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
