/**
 * The directory side of segments: listing a WAL directory (segments in index order, segments whose
 * creation a crash interrupted, other files), splitting the listing at the reclaim point, and the
 * checks that the kept segments start where the log must start and have no gap.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Effect, Option } from "effect"
import { fromPlatformError, WalCorruptionError, type WalIOError } from "../../WalError.js"
import { LOCK_FILE } from "../lock.js"
import { RECLAIM_FILE, type ReclaimPoint } from "../write/reclaim.js"
import { CREATING_SUFFIX } from "./create.js"
import { parseSegmentName } from "./name.js"

/** A directory listing split into segments (in index order) and other files. */
export interface Listing {
  readonly segments: ReadonlyArray<{ readonly name: string; readonly index: number; readonly firstSequence: number }>
  readonly ignored: ReadonlyArray<string>
  /** Segments whose creation a crash interrupted before their final rename. */
  readonly creating: ReadonlyArray<string>
}

const isOwnFile = (name: string) =>
  name === LOCK_FILE || name.startsWith(`${LOCK_FILE}.`) || name === RECLAIM_FILE || name === `${RECLAIM_FILE}.tmp`

/** Lists a WAL directory. The lock and reclaim files are the WAL's own and not listed. */
export const listDirectory = (fs: FileSystem.FileSystem, directory: string): Effect.Effect<Listing, WalIOError> =>
  fs.readDirectory(directory).pipe(
    Effect.mapError(fromPlatformError("readDirectory", directory)),
    Effect.map((names) => {
      const segments: Array<{ name: string; index: number; firstSequence: number }> = []
      const ignored: Array<string> = []
      const creating: Array<string> = []
      for (const name of [...names].sort()) {
        const parsed = parseSegmentName(name)
        if (Option.isSome(parsed)) segments.push({ name, index: parsed.value.segmentIndex, firstSequence: parsed.value.firstSequence })
        else if (name.endsWith(CREATING_SUFFIX) && Option.isSome(parseSegmentName(name.slice(0, -CREATING_SUFFIX.length)))) {
          creating.push(name)
        } else if (!isOwnFile(name)) ignored.push(name)
      }
      segments.sort((a, b) => a.index - b.index)
      return { segments, ignored, creating }
    })
  )

/** A listing split at the reclaim point: the segments kept, from `floor` on, and those below it. */
export interface SplitListing {
  /** Index of the first segment kept: the reclaim point's, or 1 without one. */
  readonly floor: number
  /** The segments kept, with the listing's other files. */
  readonly listing: Listing
  /** Segments below the reclaim point: reclaimed on purpose, waiting to be removed. */
  readonly reclaimed: Listing["segments"]
}

/** Splits a listing at the reclaim point (none: nothing was ever reclaimed). */
export const splitAtReclaimPoint = (everything: Listing, reclaimPoint: Option.Option<ReclaimPoint>): SplitListing => {
  const floor = Option.match(reclaimPoint, { onNone: () => 1, onSome: (point) => point.segmentIndex })
  return {
    floor,
    listing: { ...everything, segments: everything.segments.filter((s) => s.index >= floor) },
    reclaimed: everything.segments.filter((s) => s.index < floor)
  }
}

/**
 * Why the first segment kept is not where the log must start (at the reclaim point, or at
 * segment 1 without one): the segment's name and the reason. None when it is, or when no
 * segment is kept.
 */
export const misplacedStart = (
  split: SplitListing,
  reclaimPoint: Option.Option<ReclaimPoint>
): Option.Option<{ readonly name: string; readonly reason: string }> => {
  const head = split.listing.segments[0]
  if (head === undefined) return Option.none()
  if (head.index === split.floor && !Option.exists(reclaimPoint, (point) => point.firstSequence !== head.firstSequence)) {
    return Option.none()
  }
  return Option.some({
    name: head.name,
    reason: Option.match(reclaimPoint, {
      onNone: () => `the log starts at segment ${head.index}: segments from ${split.floor} are missing and were never reclaimed`,
      onSome: (point) => `the log should start at segment ${split.floor} (sequence ${point.firstSequence}), the reclaim point`
    })
  })
}

/** Fails when the segment indexes of a listing are not contiguous. */
export const checkContiguous = (
  directory: string,
  listing: Listing
): Effect.Effect<void, WalCorruptionError, Path.Path> =>
  Effect.flatMap(Path.Path, (path) => {
    for (let i = 1; i < listing.segments.length; i++) {
      const previous = listing.segments[i - 1]!
      const current = listing.segments[i]!
      if (current.index !== previous.index + 1) {
        return Effect.fail(
          new WalCorruptionError({
            file: path.join(directory, current.name),
            offset: 0,
            reason: `segment ${current.index} follows segment ${previous.index}: a segment is missing`
          })
        )
      }
    }
    return Effect.void
  })
