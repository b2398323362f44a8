/**
 * Constants of the on-disk format. `docs/format.md` is the byte-exact specification; every value
 * here appears there.
 */

/** The first eight bytes of every segment file: ASCII "EFWALSEG". */
export const SEGMENT_MAGIC = Uint8Array.of(0x45, 0x46, 0x57, 0x41, 0x4c, 0x53, 0x45, 0x47)

/** The format version this build writes and the newest it reads. */
export const FORMAT_VERSION = 1

/** Size of a segment header in bytes; the first frame starts here. */
export const HEADER_SIZE = 128

/** Longest codec id a header can hold. */
export const MAX_CODEC_ID_LENGTH = 64

/** Size of a frame's fixed header (checksum included) in bytes. */
export const FRAME_HEADER_SIZE = 32

/** Size of a seal frame's payload: last sequence, entry count, last checkpoint sequence. */
export const SEAL_PAYLOAD_SIZE = 24

/** Size of a whole seal frame. */
export const SEAL_FRAME_SIZE = FRAME_HEADER_SIZE + SEAL_PAYLOAD_SIZE

/** Length of a WAL id in bytes. */
export const WAL_ID_SIZE = 16

/** Frame kinds. Values 0 and above 3 are invalid in format version 1. */
export const FrameKind = {
  data: 1,
  checkpoint: 2,
  seal: 3
} as const

/** Frame kind as stored. */
export type FrameKind = typeof FrameKind[keyof typeof FrameKind]

/** Flag bit: more frames of the same atomic batch follow; a frame without it commits its batch. */
export const FLAG_CONTINUES = 0x01

/**
 * Largest payload the format can describe in one segment of at most 4 GiB. Readers and recovery
 * accept any length up to this (and up to the bytes that actually exist): the configured
 * `maxEntryBytes` limits new appends only, never data already written.
 */
export const FORMAT_MAX_PAYLOAD = 0xffff_ffff - HEADER_SIZE - FRAME_HEADER_SIZE

/** Largest value a u64 field may hold so that it is exact as a JavaScript number. */
export const MAX_U64_AS_NUMBER = Number.MAX_SAFE_INTEGER
