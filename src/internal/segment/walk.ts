/**
 * Walking the frames of one segment file: read in large chunks (`SegmentReader`), every frame
 * judged by the frame-acceptance rule (`SegmentProgress`), until the end of the readable bytes or
 * the first frame that is damaged or refused. Recovery, the follower's recovery and Inspect walk
 * segments with it; they differ only in what they do with the stop (`classifyEnd`).
 */
import { Effect, Option } from "effect"
import type { WalIOError } from "../../WalError.js"
import { type Damage, type SegmentProgress } from "../format/acceptance.js"
import { describeStop, type FrameCursor } from "../format/frame.js"
import type { SegmentReader } from "../read/segmentReader.js"

/** What a walk reports besides the frames' progress. */
export interface WalkOptions {
  /** Called with every accepted frame, after `SegmentProgress.accept`. */
  readonly onFrame?: (cursor: FrameCursor) => void
  /** Called before each read with the file offset reached. */
  readonly onRead?: (offset: number) => Effect.Effect<void>
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
): Effect.Effect<Option.Option<Damage>, WalIOError> =>
  Effect.gen(function*() {
    const cursor = reader.cursor
    const { onFrame, onRead } = options
    for (;;) {
      const result = cursor.next()
      if (result === "frame") {
        const at = reader.frameOffset
        const refused = progress.accept(cursor, at)
        if (refused !== undefined) return Option.some({ offset: at, reason: refused, structural: true })
        if (onFrame !== undefined) onFrame(cursor)
        continue
      }
      if (result === "end" || result === "incomplete") {
        if (onRead !== undefined) yield* onRead(reader.position)
        if (yield* reader.refill()) continue
      }
      if (result === "end") return Option.none()
      return Option.some({ offset: reader.position, reason: describeStop[result], structural: false })
    }
  })
