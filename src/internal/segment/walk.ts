/**
 * Walking the frames of one segment file: read in large chunks (`SegmentReader`), every frame
 * judged by the frame-acceptance rule (`SegmentProgress`), until the end of the readable bytes or
 * the first frame that is damaged or refused. Recovery, the follower's recovery and Inspect walk
 * segments with it; they differ only in what they do with the stop (`classifyEnd`).
 */
import { Effect, Option } from "effect"
import type { WalIOError } from "../../WalError.js"
import { type Damage, type SegmentProgress } from "../format/acceptance.js"
import { describeStop, type FrameCursor, type StopReason } from "../format/frame.js"
import type { SegmentReader } from "../read/segmentReader.js"

/** What a walk reports besides the frames' progress. */
export interface WalkOptions {
  /** Called with every accepted frame, after `SegmentProgress.accept`. */
  readonly onFrame?: (cursor: FrameCursor) => void
  /** Called before each read with the file offset reached. */
  readonly onRead?: (offset: number) => Effect.Effect<void>
}

/**
 * Feeds the frames buffered in `reader` to `progress`, in one synchronous loop, until the cursor
 * stops (its reason) or the rule refuses a frame (the damage). A plain function rather than part
 * of a generator body: on a full open of 1 GiB of 1 KiB frames (a million frames) the loop in the
 * generator cost about 3% of the open (W5, both walks alternating in one process, median of 12).
 */
const walkBuffered = (
  reader: SegmentReader,
  progress: SegmentProgress,
  onFrame: WalkOptions["onFrame"]
): Damage | StopReason => {
  const cursor = reader.cursor
  for (;;) {
    const result = cursor.next()
    if (result !== "frame") return result
    const at = reader.frameOffset
    const refused = progress.accept(cursor, at)
    if (refused !== undefined) return { offset: at, reason: refused, structural: true }
    if (onFrame !== undefined) onFrame(cursor)
  }
}

/**
 * Feeds every frame `reader` decodes to `progress`, reading on as needed. Returns the frame the
 * walk stopped on (none: it reached the end of the readable bytes). A frame the cursor refuses is
 * named by the format's description of the stop; a valid frame the rule refuses is structural.
 * Only I/O fails the walk.
 */
export const walkFrames = (
  reader: SegmentReader,
  progress: SegmentProgress,
  options: WalkOptions = {}
): Effect.Effect<Option.Option<Damage>, WalIOError> => {
  const { onFrame, onRead } = options
  /** Where the walk ends when the cursor stopped with `stop` and nothing more can be read. */
  const stoppedAt = (stop: StopReason): Option.Option<Damage> =>
    stop === "end" ? Option.none() : Option.some({ offset: reader.position, reason: describeStop[stop], structural: false })
  const walk = (): Effect.Effect<Option.Option<Damage>, WalIOError> => {
    const stop = walkBuffered(reader, progress, onFrame)
    if (typeof stop !== "string") return Effect.succeed(Option.some(stop))
    if (stop !== "end" && stop !== "incomplete") return Effect.succeed(stoppedAt(stop))
    const refill = Effect.flatMap(reader.refill(), (more) => more ? walk() : Effect.succeed(stoppedAt(stop)))
    return onRead === undefined ? refill : Effect.zipRight(onRead(reader.position), refill)
  }
  return Effect.suspend(walk)
}
