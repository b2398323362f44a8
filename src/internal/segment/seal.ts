/**
 * The seal frame at the end of a sealed segment, read alone: what a fast open (`verify: "tail"`)
 * and Inspect's `describe` trust instead of reading every frame.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Option } from "effect"
import type { WalIOError } from "../../WalError.js"
import { readU64, viewOf } from "../format/bytes.js"
import { FrameKind, HEADER_SIZE, SEAL_FRAME_SIZE, SEAL_PAYLOAD_SIZE } from "../format/constants.js"
import { decodeSealPayload, FrameCursor, type SealInfo } from "../format/frame.js"
import { readAt } from "../io.js"

/** A valid seal frame and its timestamp. */
export interface SealFrame extends SealInfo {
  readonly timestamp: number
}

/**
 * Reads the seal frame that ends a segment of `size` bytes starting at `firstSequence`. `None`
 * unless the segment's last bytes are a valid seal frame of this WAL (checksum under `seed`) whose
 * entry count agrees with its first and last sequences.
 */
export const readSeal = (
  file: FileSystem.File,
  path: string,
  size: number,
  firstSequence: number,
  seed: number
): Effect.Effect<Option.Option<SealFrame>, WalIOError> =>
  Effect.suspend(() => {
    const at = size - SEAL_FRAME_SIZE
    if (at < HEADER_SIZE) return Effect.succeed(Option.none())
    return Effect.map(readAt(file, at, SEAL_FRAME_SIZE, path), (bytes) => {
      const cursor = new FrameCursor(seed, SEAL_PAYLOAD_SIZE)
      cursor.reset(bytes, 0, bytes.length, readU64(viewOf(bytes), 16) + 1)
      if (cursor.next() !== "frame" || cursor.kind !== FrameKind.seal) return Option.none()
      const seal = decodeSealPayload(bytes, cursor.payloadStart)
      return seal.lastSequence - firstSequence + 1 === seal.entryCount ? Option.some({ ...seal, timestamp: cursor.timestamp }) : Option.none()
    })
  })
