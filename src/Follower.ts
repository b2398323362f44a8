/**
 * Replication: a follower keeps a replica directory byte-identical to a leader WAL by consuming
 * the leader's `wal.streamBytes` chunks, and a small envelope carries those chunks across a
 * process boundary (a pipe, a socket).
 *
 * ```ts
 * // in the leader process
 * yield* wal.streamBytes({ from }).pipe(Stream.map(Follower.encodeChunk), Stream.run(socketSink))
 * // in the follower process
 * const result = yield* Follower.follow({
 *   directory: "data/replica",
 *   source: (from) => Follower.decodeChunks(connect(from))
 * })
 * ```
 *
 * `docs/operations.md` (replication set-up) describes the guarantees and a deployment.
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type { Effect, Option, Stream } from "effect"
import type * as Durability from "./Durability.js"
import * as envelope from "./internal/envelope.js"
import * as internal from "./internal/follower.js"
import type { ReplicationChunk, TornTail } from "./Wal.js"
import type { WalCorruptionError, WalError } from "./WalError.js"

/**
 * Options of `follow`.
 *
 * @since 0.1.0
 * @category models
 */
export interface FollowOptions<E, R> {
  /** The replica directory; created with its parents when missing. */
  readonly directory: string
  /**
   * The leader's chunks from sequence `from` on: `wal.streamBytes({ from })` in the same process,
   * or `decodeChunks` of a connection to the leader. Called once per `follow`, after the replica
   * has been recovered. The follow ends when this stream ends, and fails when it fails.
   */
  readonly source: (from: number) => Stream.Stream<ReplicationChunk, E, R>
  /**
   * When the replica is fsynced besides the fsyncs replication always makes (see `follow`):
   * `strict` (default) after every chunk; `grouped({ maxDelay })` at most `maxDelay` after a write;
   * `buffered({ interval, bytes })` at most `interval` after a write or once `bytes` are unsynced;
   * `none` only at segment seals and when the source ends.
   */
  readonly durability?: Durability.Durability
  /**
   * Largest payload accepted in an incoming frame; a larger one fails the follow. By default any
   * length the format allows, since the leader's frames are already written (its `maxEntryBytes`
   * only limits its new appends). Frames already in the replica are never judged by it.
   */
  readonly maxEntryBytes?: number
}

/**
 * What opening the replica found and repaired before following.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReplicaRecovery {
  /** Segment files in the replica after recovery. */
  readonly segments: number
  /** The last committed sequence in the replica (0 when empty). */
  readonly lastSequence: number
  /** The torn tail cut from the last segment (a follower crash in the middle of a write). */
  readonly tornTail: Option.Option<TornTail>
  /** Segment files removed because a crash tore their creation. */
  readonly removedSegments: ReadonlyArray<string>
  /** The holder of a stale lock that was taken over, if any. */
  readonly lockTakenOver: Option.Option<string>
}

/**
 * What a `follow` did.
 *
 * @since 0.1.0
 * @category models
 */
export interface FollowResult {
  /** The sequence the source was asked to start from. */
  readonly from: number
  /** What opening the replica found and repaired. */
  readonly recovery: ReplicaRecovery
  /** Segment files created. */
  readonly segmentsCreated: number
  /** Frames written (data, checkpoint and seal frames). */
  readonly framesWritten: number
  /** Bytes written: headers and frames. */
  readonly bytesWritten: number
  /** The replica's last committed sequence when the source ended (0 when empty). */
  readonly lastSequence: number
  /** Time spent following, from Effect's `Clock`. */
  readonly elapsedMillis: number
}

/**
 * Replicates a leader WAL into `options.directory` until the source ends.
 *
 * It takes the directory's writer lock (a replica is a WAL directory: `Wal.make` cannot write to
 * it while it is followed, and the other way round), recovers the replica with the WAL's rules (a
 * torn tail is cut and fsynced, as is free space a `Wal.make` on the replica allocated; a segment
 * whose creation was torn is removed; it never creates a segment of its own), and calls `source`
 * with the sequence to resume from. For each chunk:
 * - a `Header` is decoded and checked (WAL id and codec of the replica, the next segment index and
 *   first sequence, a sealed previous segment), then created with `"wx"`, written, fsynced, and
 *   the directory fsynced, as the leader creates a segment;
 * - a `Frames` chunk must start at the end of the replica's last segment; every frame is checked
 *   (checksum under the WAL's seed, lengths, fields, contiguous sequences, atomic batches, the seal
 *   against the segment's entries) before any byte is written; then it is written.
 *
 * Guarantees: the replica's segments are byte-identical to the leader's, a prefix of them at any
 * moment; nothing that failed validation is ever written; every frame's durable offset holds on
 * the replica as on the leader (the follower fsyncs before writing a frame that says earlier bytes
 * are durable), so the replica's recovery tells a torn tail from corruption as the leader's does;
 * a seal is fsynced before the next segment exists; the replica is fsynced when `follow` returns.
 * After a crash of the follower or the leader, calling `follow` again resumes: a replica whose
 * last segment is unsealed asks again for its last entry (or header) and compares the repeated
 * bytes with its own instead of writing them, which also detects a leader whose log diverged.
 * The replica opens with `Wal.make` / `Wal.reader` as a WAL with the same entries.
 *
 * Failures: `WalLockedError` (a writer or another follower holds the directory), `WalConfigError`
 * (options), `WalFormatError` (a header that does not decode, or of another WAL or codec),
 * `WalCorruptionError` (an invalid frame, naming the source chunk and the offset; a chunk that does
 * not continue the replica; a damaged replica at open), `WalIOError`, and the source's own `E`.
 * A failure leaves the replica a valid prefix; the next `follow` resumes from it.
 *
 * @since 0.1.0
 * @category utils
 */
export const follow: <E, R>(
  options: FollowOptions<E, R>
) => Effect.Effect<FollowResult, WalError | E, FileSystem.FileSystem | Path.Path | R> = internal.follow

/**
 * Encodes a chunk as one self-delimiting message for a byte transport. Layout (little-endian):
 *
 * | offset | size | field |
 * |---:|---:|---|
 * | 0 | 4 | CRC-32C of bytes `[4, 40 + name length)`: the envelope and the name |
 * | 4 | 1 | envelope version, `1` |
 * | 5 | 1 | tag: `1` Header, `2` Frames |
 * | 6 | 1 | flags: bit 0 sealed (Frames only) |
 * | 7 | 1 | name length (Header: the segment file name; Frames: 0) |
 * | 8 | 8 | segment index |
 * | 16 | 8 | offset (Frames; 0 for a Header) |
 * | 24 | 8 | last sequence (Frames; 0 for a Header) |
 * | 32 | 4 | length of the bytes |
 * | 36 | 4 | reserved, zero |
 * | 40 | n | name (ASCII), then the bytes: the segment header, or the frames as on disk |
 *
 * The envelope checksum guards the fields that place the bytes (and the length, so a damaged
 * length is refused before anything waits for it); the bytes carry their own checksums (header
 * checksum, frame checksums), which `follow` verifies before writing.
 *
 * @since 0.1.0
 * @category utils
 */
export const encodeChunk: (chunk: ReplicationChunk) => Uint8Array = envelope.encodeChunk

/**
 * Turns a byte stream of `encodeChunk` messages, cut anywhere (pipe or socket reads), back into
 * chunks. Fails with `WalCorruptionError` (file `"replication stream"`, offset in the stream) on a
 * damaged envelope, or when the stream ends inside a message.
 *
 * @since 0.1.0
 * @category utils
 */
export const decodeChunks: <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>
) => Stream.Stream<ReplicationChunk, E | WalCorruptionError, R> = envelope.decodeChunks
