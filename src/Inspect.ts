/**
 * Operator tools for a WAL directory, usable from a program or through the `effect-wal` CLI:
 * describe a log, verify every checksum, stream its raw entries, gather statistics, and the one
 * explicit repair. Everything but `repair` only reads, takes no lock, and can run while a writer
 * appends.
 *
 * ```ts
 * const report = yield* Inspect.verify("data/wal", { all: true })
 * if (report.problems.length > 0) yield* Inspect.repair("data/wal")
 * ```
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type { Option } from "effect"
import { Effect, Stream } from "effect"
import * as internal from "./internal/inspect.js"
import * as repairInternal from "./internal/repair.js"
import { repairSpan } from "./internal/tracing.js"
import type { TornTail } from "./Wal.js"
import type {
  FormatProblem,
  WalConfigError,
  WalCorruptionError,
  WalFormatError,
  WalIOError,
  WalLockedError
} from "./WalError.js"

/**
 * One thing wrong with a log: where (file and byte offset) and why. `problem` is `"corruption"`
 * for damage no crash explains, or the `FormatProblem` of a header that cannot be read as this WAL's.
 *
 * @since 0.1.0
 * @category models
 */
export interface Problem {
  readonly file: string
  readonly offset: number
  readonly problem: "corruption" | FormatProblem
  readonly reason: string
}

/**
 * One segment as found on disk.
 *
 * @since 0.1.0
 * @category models
 */
export interface SegmentInfo {
  readonly index: number
  readonly name: string
  /**
   * `"sealed"`: it ends with a valid seal frame; `"active"`: the last segment, still appended to;
   * `"unsealed"`: not the last but without a valid seal frame (corruption); `"archived"`: below
   * the reclaim point, reclaimed and waiting to be removed (not read).
   */
  readonly state: "sealed" | "active" | "unsealed" | "archived"
  readonly firstSequence: number
  /** The last committed sequence in the segment; `firstSequence - 1` when it holds no entry. */
  readonly lastSequence: number
  /** Committed data and checkpoint entries. */
  readonly entries: number
  /** File size. */
  readonly bytes: number
  /** Whether its frames were read one by one (otherwise it was trusted by its seal frame). */
  readonly verified: boolean
}

/**
 * The writer lock as found. `status` follows the writer lock's rule: `"live"` when the holder's
 * process exists on this host, `"stale"` when it does not or the lock file is unreadable (a writer
 * would take it over), `"unknown"` for a holder on another host (a writer treats it as live) or in
 * this very process.
 *
 * @since 0.1.0
 * @category models
 */
export interface LockInfo {
  readonly holder: Option.Option<{ readonly pid: number; readonly hostname: string; readonly acquiredAt: number }>
  readonly status: "live" | "stale" | "unknown"
}

/**
 * What `describe` reports.
 *
 * @since 0.1.0
 * @category models
 */
export interface Description {
  readonly directory: string
  /** WAL id (hex). */
  readonly walId: string
  /** Format version of the segment headers. */
  readonly version: number
  /** Codec id of the segment headers. */
  readonly codecId: string
  readonly segments: ReadonlyArray<SegmentInfo>
  /** The last committed sequence (0 when empty). */
  readonly lastSequence: number
  /** Sequence of the newest checkpoint entry, from checkpoint frames or seal frames (0 when none). */
  readonly lastCheckpoint: number
  readonly lock: Option.Option<LockInfo>
  /** An unfinished write at the end of the last segment, which the next writer's recovery cuts. */
  readonly tornTail: Option.Option<TornTail>
  /** Corruption seen while describing (sealed segments are trusted by their seal; `verify` reads all). */
  readonly problems: ReadonlyArray<Problem>
  /** Files in the directory that are not segments. */
  readonly ignoredFiles: ReadonlyArray<string>
}

/**
 * Progress of `verify`: bytes read so far out of the segments' total size.
 *
 * @since 0.1.0
 * @category models
 */
export interface Progress {
  readonly bytesDone: number
  readonly bytesTotal: number
}

/**
 * Options of `verify`.
 *
 * @since 0.1.0
 * @category models
 */
export interface VerifyOptions {
  /** Report every problem (resynchronising on the next valid frame) instead of stopping at the first. */
  readonly all?: boolean
  /** Called as the scan advances, every few hundred KiB and at the end of each segment. */
  readonly onProgress?: (progress: Progress) => Effect.Effect<void>
}

/**
 * What `verify` found.
 *
 * @since 0.1.0
 * @category models
 */
export interface VerifyReport {
  readonly directory: string
  /** WAL id (hex) of the first readable header. */
  readonly walId: Option.Option<string>
  readonly codecId: Option.Option<string>
  readonly segments: number
  /** Frames whose checksum verified. */
  readonly frames: number
  /** Committed data and checkpoint entries. */
  readonly entries: number
  /** Total size of the segment files. */
  readonly bytes: number
  readonly lastSequence: number
  /** Empty for a healthy log. Without `all`, at most one: the first. */
  readonly problems: ReadonlyArray<Problem>
  /** Not a problem: the next writer's recovery cuts it. */
  readonly tornTail: Option.Option<TornTail>
  readonly elapsedMillis: number
}

/**
 * Options of `entries`: the inclusive range of sequence numbers to read.
 *
 * @since 0.1.0
 * @category models
 */
export interface EntriesOptions {
  readonly from?: number
  readonly to?: number
}

/**
 * An entry with its payload as stored, and the codec id of its segment header to decode it with.
 *
 * @since 0.1.0
 * @category models
 */
export interface RawEntry {
  readonly seq: number
  readonly timestamp: number
  readonly kind: "data" | "checkpoint"
  readonly codecId: string
  readonly payload: Uint8Array
}

/**
 * What `stats` reports. Sizes of entries are payload sizes (each frame adds 32 bytes).
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  readonly directory: string
  readonly segments: number
  /** Total size of the segment files. */
  readonly bytes: number
  readonly entries: number
  readonly dataEntries: number
  readonly checkpointEntries: number
  readonly payloadBytes: number
  readonly smallestPayload: number
  readonly largestPayload: number
  /** Entries per payload size, in power-of-two buckets from 16 bytes: `count` payloads of at most `upTo` bytes (and more than half of it). */
  readonly histogram: ReadonlyArray<{ readonly upTo: number; readonly count: number }>
  readonly firstSequence: number
  readonly lastSequence: number
  readonly firstTimestamp: Option.Option<number>
  readonly lastTimestamp: Option.Option<number>
  readonly spanMillis: number
  readonly tornTail: Option.Option<TornTail>
}

/**
 * What `repair` did.
 *
 * @since 0.1.0
 * @category models
 */
export interface RepairReport {
  readonly directory: string
  /** False when there was nothing to repair: the log was left unchanged. */
  readonly repaired: boolean
  /** The first corruption, where the log was cut. */
  readonly problem: Option.Option<Problem>
  /** The segment that was truncated: its new size (`offset`) and the bytes cut. */
  readonly truncated: Option.Option<{ readonly file: string; readonly offset: number; readonly bytes: number }>
  /** Segment files removed (after the cut, or a segment whose header was damaged). */
  readonly removedSegments: ReadonlyArray<string>
  /** `<directory>/repair-<time>`: a copy of every byte cut, under each segment's name, and `repair.json`. */
  readonly backupDirectory: Option.Option<string>
  readonly savedBytes: number
  /** The last committed sequence of the log after the repair. */
  readonly lastSequence: number
  /** A torn tail, left for the next writer's recovery to cut. */
  readonly tornTail: Option.Option<TornTail>
  /** The stale writer lock taken over to repair, if any. */
  readonly lockTakenOver: Option.Option<string>
}

const withFileSystem = <A, E, R>(f: (fs: FileSystem.FileSystem) => Effect.Effect<A, E, R>) => Effect.flatMap(FileSystem.FileSystem, f)

/**
 * Describes the WAL in `directory`: id, format version, codec, each segment with its state and
 * sequence range, the last sequence and checkpoint, the lock holder. Reads every header, the seal
 * frame of each sealed segment and every frame of the last one; writes nothing. Fails with
 * `WalFormatError` when a segment header is not this WAL's (foreign file, newer version, other
 * WAL or codec) or the directory holds no segment, and `WalIOError` when it cannot be read.
 * Corruption does not fail it: it is listed in `problems`.
 *
 * @since 0.1.0
 * @category utils
 */
export const describe = (directory: string): Effect.Effect<Description, WalIOError | WalFormatError, FileSystem.FileSystem | Path.Path> =>
  withFileSystem((fs) => internal.describe(fs, directory))

/**
 * Reads every frame of every segment and checks every header, checksum, sequence number, atomic
 * batch and seal frame, by the rules of recovery: damage at the end of the last segment that no
 * later durable frame contradicts is a torn tail (reported, not a problem). Never modifies
 * anything. Problems are returned, not failed with; only an unreadable directory (`WalIOError`)
 * or one without segments (`WalFormatError`) fails.
 *
 * @since 0.1.0
 * @category utils
 */
export const verify = (
  directory: string,
  options?: VerifyOptions
): Effect.Effect<VerifyReport, WalIOError | WalFormatError, FileSystem.FileSystem | Path.Path> =>
  withFileSystem((fs) => internal.verify(fs, directory, options))

/**
 * The committed entries with `from <= seq <= to`, in order, payloads as stored, each with the
 * codec id of the segment headers. Reads like `Wal.reader` (no lock; an unfinished write at the end
 * of the last segment ends the stream) but accepts any codec. Fails with `WalCorruptionError` at
 * damage in a sealed segment, `WalFormatError` for a header that is not this WAL's,
 * `WalConfigError` for a bound that is not an integer, `WalIOError` on I/O.
 *
 * @since 0.1.0
 * @category utils
 */
export const entries = (
  directory: string,
  options?: EntriesOptions
): Stream.Stream<RawEntry, WalIOError | WalFormatError | WalCorruptionError | WalConfigError, FileSystem.FileSystem | Path.Path> =>
  Stream.unwrap(Effect.map(FileSystem.FileSystem, (fs) => internal.entries(fs, directory, options)))

/**
 * Sizes, entry counts, a payload-size histogram and the time span of the timestamps, from a full
 * read of the log. Fails with the first problem `verify` would report (`WalCorruptionError` or
 * `WalFormatError`), or `WalIOError`.
 *
 * @since 0.1.0
 * @category utils
 */
export const stats = (directory: string): Effect.Effect<Stats, WalIOError | WalFormatError | WalCorruptionError, FileSystem.FileSystem | Path.Path> =>
  withFileSystem((fs) => internal.stats(fs, directory))

/**
 * The explicit repair of a corrupt log. Takes the writer lock for its duration, so it fails with
 * `WalLockedError` while a live writer holds it (a stale lock is taken over and reported). Cuts
 * the log at the first corruption: the damaged segment is truncated at the end of its last
 * complete batch before the damage (or removed when its header is damaged) and every later
 * segment is removed, after every byte cut was copied to `<directory>/repair-<time>/` and made
 * durable. Afterwards the log opens with `Wal.make`. Idempotent: a log with nothing to repair is
 * left unchanged and `repaired` is false; a torn tail is left for recovery to cut. Refuses with
 * `WalFormatError` a header of another format, version, WAL or codec (not damage), and with
 * `WalCorruptionError` a cut that would remove the first segment. I/O fails with `WalIOError`.
 *
 * @since 0.1.0
 * @category utils
 */
export const repair = (
  directory: string
): Effect.Effect<RepairReport, WalIOError | WalLockedError | WalFormatError | WalCorruptionError, FileSystem.FileSystem | Path.Path> =>
  withFileSystem((fs) => repairInternal.repair(fs, directory)).pipe(repairSpan(directory))

/**
 * The typed error a problem stands for: `WalCorruptionError` or `WalFormatError`.
 *
 * @since 0.1.0
 * @category utils
 */
export const problemError: (problem: Problem) => WalCorruptionError | WalFormatError = internal.problemError
