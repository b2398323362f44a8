/**
 * The write-ahead log: a single writer fiber fed by a bounded queue, group commit, segmented and
 * checksummed files, recovery that refuses corruption, and Stream replay and tailing.
 *
 * ```ts
 * const wal = yield* Wal.make({ directory: "data/wal", schema: Event })
 * const seq = yield* wal.append(event)
 * yield* wal.replay({ from: 1 }).pipe(Stream.runForEach(apply))
 * ```
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type { Context, Metric, Option, Schema, Scope, Stream } from "effect"
import type { Config, ConfigError as ConfigErrorModule, Effect } from "effect"
import { Layer } from "effect"
import type * as Durability from "./Durability.js"
import * as Metrics from "./internal/metrics.js"
import * as internal from "./internal/wal.js"
import type {
  AppendError,
  OpenError,
  ReadError,
  StreamBytesError,
  WalClosedError,
  WalConfigError,
  WalIOError,
  WalPoisonedError
} from "./WalError.js"

/**
 * One entry of the log. `seq` starts at 1 and is contiguous; `timestamp` is milliseconds from a
 * hybrid logical clock (Effect's `Clock`, never decreasing even when the wall clock steps back).
 * The payload belongs to the caller: the WAL never writes into it after handing it out.
 *
 * @since 0.1.0
 * @category models
 */
export interface WalEntry<A> {
  readonly seq: number
  readonly timestamp: number
  readonly kind: "data" | "checkpoint"
  readonly payload: A
}

/**
 * Options shared by `make`, `layer` and `reader`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadOptions<A = Uint8Array, I = unknown> {
  /** The WAL directory; created with its parents when missing (writer only). */
  readonly directory: string
  /**
   * The payload schema. Payloads are encoded with it, then turned into bytes by the `Codec`
   * service (JSON by default). Without a schema payloads are `Uint8Array`s written as they are.
   */
  readonly schema?: Schema.Schema<A, I, never>
  /** Largest payload in bytes (default 16 MiB, at most what one segment holds). */
  readonly maxEntryBytes?: number
}

/**
 * Options of a writer.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<A = Uint8Array, I = unknown> extends ReadOptions<A, I> {
  /** When an append is acknowledged (default `Durability.strict`). */
  readonly durability?: Durability.Durability
  /** Size at which a segment is sealed and the next one begins (default 64 MiB, 1 KiB to 4 GiB). */
  readonly segmentBytes?: number
  /** How many requests the append queue holds (default 8192). */
  readonly queueCapacity?: number
  /**
   * How many payload bytes the append queue holds (default 64 MiB); past it producers are
   * suspended or refused like at `queueCapacity`. A batch larger than this waits for an empty queue.
   */
  readonly queueBytes?: number
  /**
   * When `pressure` reports saturation: the slowest of the last 32 fsyncs reached `fsyncMillis`
   * (default 100), or the queue holds `queueFraction` (default 0.8) of its entries or bytes limit.
   */
  readonly saturation?: { readonly fsyncMillis?: number; readonly queueFraction?: number }
  /**
   * Optional retention, off by default: after each rotation, reclaim the oldest sealed segments
   * while more than `maxSegments` segments (at least 2) are kept, or while the kept segments with
   * the active one counted at its full `segmentBytes` exceed `maxBytes` (at least one segment).
   * Segments a reader still needs stay until it is done.
   */
  readonly retention?: { readonly maxSegments?: number; readonly maxBytes?: number }
  /** A full queue suspends the producer (`"suspend"`, default) or fails with `WalOverloadedError` (`"fail"`). */
  readonly overflow?: "suspend" | "fail"
  /**
   * `"full"` (default) verifies every frame of every segment at open. `"tail"` scans only the last
   * segment, trusts sealed segments by their seal frame, and verifies their frames as they are read.
   */
  readonly verify?: "full" | "tail"
}

/**
 * A torn tail that recovery cut off: data written but never made durable before a crash.
 *
 * @since 0.1.0
 * @category models
 */
export interface TornTail {
  /** The segment file that was truncated. */
  readonly file: string
  /** The new end of the file: the end of the last complete batch. */
  readonly offset: number
  /** Bytes cut. */
  readonly bytes: number
  /** Complete frames of an unfinished atomic batch that were cut with it. */
  readonly entries: number
  /** What was found at the cut: an incomplete frame, a checksum mismatch, an unfinished batch, ... */
  readonly reason: string
}

/**
 * What opening the WAL found and did. Nothing is repaired without being reported here.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecoveryReport {
  /** Whether the directory held no WAL and a new one was created. */
  readonly created: boolean
  /** The WAL id (hex) written in every segment header. */
  readonly walId: string
  /** The codec id of the segments. */
  readonly codecId: string
  /** The verification mode used. */
  readonly verify: "full" | "tail"
  /** Segment files in the log after opening. */
  readonly segments: number
  /** Segments whose frames were read and verified one by one. */
  readonly segmentsScanned: number
  /** Frames whose checksum was verified. */
  readonly framesVerified: number
  /** The last committed sequence number (0 when empty). */
  readonly lastSequence: number
  /** The sequence number of the last checkpoint entry (0 when none). */
  readonly lastCheckpoint: number
  /** The torn tail that was cut, if any. */
  readonly tornTail: Option.Option<TornTail>
  /** Segment files removed because their creation was torn by a crash (no entry in them). */
  readonly removedSegments: ReadonlyArray<string>
  /**
   * Segments below the durable reclaim point that a crash during a reclamation left behind; they
   * were archived (deleted by default) at open.
   */
  readonly reclaimedAtOpen: ReadonlyArray<string>
  /** The holder of a stale lock that was taken over, if any. */
  readonly lockTakenOver: Option.Option<string>
  /** Files in the directory that are not segments and were left alone. */
  readonly ignoredFiles: ReadonlyArray<string>
  /** Time spent opening, from Effect's `Clock`. */
  readonly elapsedMillis: number
}

/**
 * The lifecycle state of a segment: `active` (being written), `sealed` (complete, immutable),
 * `archived` (reclaimed, removed once no reader needs it). States only move forward.
 *
 * @since 0.1.0
 * @category models
 */
export type SegmentStatus = "active" | "sealed" | "archived"

/**
 * One segment of the log.
 *
 * @since 0.1.0
 * @category models
 */
export interface SegmentInfo {
  readonly index: number
  readonly name: string
  readonly firstSequence: number
  /** Last committed sequence; `firstSequence - 1` while empty. */
  readonly lastSequence: number
  /** Committed bytes. */
  readonly bytes: number
  readonly status: SegmentStatus
}

/**
 * Back-pressure signals, sampled after every batch.
 *
 * @since 0.1.0
 * @category models
 */
export interface Pressure {
  /** Requests waiting for the writer. */
  readonly queueEntries: number
  /** Payload bytes waiting for the writer. */
  readonly queueBytes: number
  /** Duration of the last fsync. */
  readonly lastFsyncMillis: number
  /** The slowest of the last 32 fsyncs. */
  readonly recentFsyncMillis: number
  /** Bytes written per second over the last full second of activity. */
  readonly writeBytesPerSecond: number
  /** Whether fsync latency or queue depth passed the `saturation` thresholds. */
  readonly saturated: boolean
}

/**
 * A piece of the byte-exact replication stream: a segment header (the start of a segment) or a
 * run of whole frames exactly as on disk at `offset` of segment `segmentIndex`. A chunk whose
 * frames end with a seal frame has `sealed: true`: the next chunk starts the next segment.
 *
 * @since 0.1.0
 * @category models
 */
export type ReplicationChunk =
  | {
    readonly _tag: "Header"
    readonly segmentIndex: number
    readonly name: string
    readonly bytes: Uint8Array
  }
  | {
    readonly _tag: "Frames"
    readonly segmentIndex: number
    readonly offset: number
    readonly bytes: Uint8Array
    /** The last data or checkpoint sequence in `bytes`. */
    readonly lastSequence: number
    readonly sealed: boolean
  }

/**
 * The errors of each operation, defined beside the error classes: `OpenError`, `AppendError`,
 * `ReadError`, `StreamBytesError`.
 *
 * @since 0.1.0
 * @category models
 */
export type { AppendError, OpenError, ReadError, StreamBytesError } from "./WalError.js"

/**
 * A read-only view of a WAL.
 *
 * @since 0.1.0
 * @category models
 */
export interface WalReader<A> {
  /** The WAL directory. */
  readonly directory: string
  /**
   * Entries with `from <= seq <= to` in sequence order, up to the last committed entry at the
   * moment the stream starts. Chunks hold many entries; payloads are decoded a chunk at a time.
   * A `from` or `to` that is not an integer dies with `WalConfigError`.
   */
  readonly replay: (options?: { readonly from?: number; readonly to?: number }) => Stream.Stream<WalEntry<A>, ReadError>
}

/**
 * An open WAL. Appends are acknowledged once their durability mode is met; reads never block the
 * writer and the writer never waits for a reader.
 *
 * @since 0.1.0
 * @category models
 */
export interface Wal<A> extends WalReader<A> {
  /** Appends one entry and returns its sequence number once durable under the mode in use. */
  readonly append: (payload: A) => Effect.Effect<number, AppendError>
  /**
   * Appends entries as one atomic batch: after a crash either all of them are in the log or none.
   * Returns their sequence numbers. An empty batch returns an empty array at once. The payloads
   * (and, without a schema, the array itself) are written as they are when the batch is served:
   * do not change them before the append completes.
   */
  readonly appendAll: (payloads: Iterable<A>) => Effect.Effect<ReadonlyArray<number>, AppendError>
  /**
   * Replays from `from`, then follows new entries as they are acknowledged, with no gap and no
   * duplicate between the two phases. A slow consumer reads from the files, so it holds no
   * unbounded memory. Ends when the WAL closes.
   */
  readonly tail: (options?: { readonly from?: number }) => Stream.Stream<WalEntry<A>, ReadError>
  /**
   * Appends a checkpoint entry (kind `"checkpoint"`): a marker the application writes when its
   * state up to here is saved elsewhere. Returns its sequence number once durable.
   */
  readonly checkpoint: (payload: A) => Effect.Effect<number, AppendError>
  /** The sequence number of the last acknowledged checkpoint (0 when none), known without a scan. */
  readonly lastCheckpoint: Effect.Effect<number>
  /**
   * Replays from the last checkpoint (inclusive), or from the start when there is none. Like
   * `replay`, bounded by the watermark when the stream starts.
   */
  readonly replayFromCheckpoint: Stream.Stream<WalEntry<A>, ReadError>
  /**
   * Marks every sealed segment whose entries are all below `sequence` as reclaimed (`archived`)
   * and removes those no reader still needs, through the `Archiver` service (deleted by default).
   * The active segment is never reclaimed. Returns the names of the segments removed now.
   */
  readonly reclaim: (sequence: number) => Effect.Effect<ReadonlyArray<string>, WalIOError | WalConfigError>
  /** The segments of the log, oldest first. */
  readonly segments: Effect.Effect<ReadonlyArray<SegmentInfo>>
  /**
   * Back-pressure signals: the current value, and a stream of the current value then the latest
   * value after each batch. A consumer slower than the writer skips to the newest value instead
   * of queueing one per batch; the stream ends when the WAL closes.
   */
  readonly pressure: {
    readonly current: Effect.Effect<Pressure>
    readonly changes: Stream.Stream<Pressure>
  }
  /**
   * The committed log from `from` as a byte-exact, order-preserving stream: segment headers and
   * frames exactly as on disk, segment boundaries marked, following live appends like `tail`
   * (never past the acknowledged watermark). No payload is decoded. Starting inside a segment
   * gives frames from the entry `from` on, without the header; starting at a segment's first
   * entry starts with that segment's header, so the previous segment's seal frame is not sent
   * (a follower resumes from its own last entry to receive it). Ends when the WAL closes.
   */
  readonly streamBytes: (options?: { readonly from?: number }) => Stream.Stream<ReplicationChunk, StreamBytesError>
  /** Makes everything appended so far durable (an fsync), whatever the durability mode. */
  readonly sync: Effect.Effect<void, WalClosedError | WalPoisonedError>
  /** The last acknowledged sequence number (0 when empty). */
  readonly lastSequence: Effect.Effect<number>
  /** What opening found and did. */
  readonly recovery: RecoveryReport
}

/**
 * Opens (or creates) the WAL in `options.directory` for writing, for the life of the scope: takes
 * the directory lock, recovers, and starts the writer. Closing the scope stops intake, writes and
 * syncs what is queued, and releases the lock.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: {
  <A, I>(
    options: Options<A, I> & { readonly schema: Schema.Schema<A, I, never> }
  ): Effect.Effect<Wal<A>, OpenError, FileSystem.FileSystem | Path.Path | Scope.Scope>
  (options: Options): Effect.Effect<Wal<Uint8Array>, OpenError, FileSystem.FileSystem | Path.Path | Scope.Scope>
} = internal.make as any

/**
 * A read-only view of the WAL in `options.directory`: it takes no lock, writes nothing, and can
 * run while another process writes. Each replay sees a consistent committed prefix. While that
 * writer reclaims segments, a replay reads any range still retained whole: it opens only the
 * segments it needs, and lists the directory again when one was reclaimed since it listed. A
 * replay never skips an entry: before its first entry it starts at the first one still retained
 * (as `from` below the retained range does); once it has delivered entries, a segment it needs
 * next that the writer reclaimed meanwhile (the reader holds nothing back) fails the replay with
 * `WalIOError` (`code: "ENOENT"`, the segment's path). Replay again to go on from what is left.
 *
 * @since 0.1.0
 * @category constructors
 */
export const reader: {
  <A, I>(
    options: ReadOptions<A, I> & { readonly schema: Schema.Schema<A, I, never> }
  ): Effect.Effect<WalReader<A>, WalConfigError, FileSystem.FileSystem | Path.Path>
  (options: ReadOptions): Effect.Effect<WalReader<Uint8Array>, WalConfigError, FileSystem.FileSystem | Path.Path>
} = internal.reader as any

/**
 * The Effect metrics of one WAL, each tagged `wal_directory`.
 *
 * @since 0.2.0
 * @category models
 */
export interface WalMetrics {
  /** `wal_appends_total`: entries acknowledged. */
  readonly appends: Metric.Metric.Counter<number>
  /** `wal_bytes_written_total`: bytes written to segment files. */
  readonly bytesWritten: Metric.Metric.Counter<number>
  /** `wal_fsync_duration_seconds`: the duration of each segment fsync. */
  readonly fsyncDuration: Metric.Metric.Histogram<number>
  /** `wal_batch_size`: entries per group-commit batch. */
  readonly batchSize: Metric.Metric.Histogram<number>
  /** `wal_queue_depth`: entries waiting for the writer. */
  readonly queueDepth: Metric.Metric.Gauge<number>
  /** `wal_segments`: segment files in the WAL directory. */
  readonly segments: Metric.Metric.Gauge<number>
  /** `wal_recovery_duration_seconds`: the duration of the last open. */
  readonly recoveryDuration: Metric.Metric.Gauge<number>
  /** `wal_recovery_frames_verified`: frames verified by the last open. */
  readonly recoveryFrames: Metric.Metric.Gauge<number>
  /** `wal_recovery_truncated_bytes_total`: torn-tail bytes cut at open. */
  readonly recoveryTruncatedBytes: Metric.Metric.Counter<number>
}

/**
 * The Effect metrics of the WAL in `directory`, the same keys the WAL updates, for reading with
 * `Metric.value` or exporting (see `WalMetrics` for the names). The `wal_directory` tag is the
 * directory without repeated or trailing separators or `.` segments, so `Wal.metrics("/data/wal")`
 * finds the metrics of a WAL opened as `"/data/wal/"` or `"/data/./wal"`; it is lexical, so name a
 * WAL the same way in both places when `..` or symbolic links are involved.
 *
 * @since 0.1.0
 * @category utils
 */
export const metrics = (directory: string): WalMetrics => Metrics.make(directory)

/**
 * A Layer that provides an open WAL under the user's own tag.
 *
 * ```ts
 * class Events extends Context.Tag("Events")<Events, Wal.Wal<Event>>() {}
 * const EventsLive = Wal.layer(Events, { directory: "data/events", schema: Event })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <Id, A, I>(
  tag: Context.Tag<Id, Wal<A>>,
  options: Options<A, I> & { readonly schema: Schema.Schema<A, I, never> }
): Layer.Layer<Id, OpenError, FileSystem.FileSystem | Path.Path> => Layer.scoped(tag, make(options))

/**
 * Like `layer`, for a WAL of raw `Uint8Array` payloads.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerBytes = <Id>(
  tag: Context.Tag<Id, Wal<Uint8Array>>,
  options: Options
): Layer.Layer<Id, OpenError, FileSystem.FileSystem | Path.Path> => Layer.scoped(tag, make(options))

/**
 * The options of a writer as `Config`s, one per option of `Options` (the payload `schema` apart,
 * which is code, not configuration): `directory` is required, every other option is optional and
 * keeps its default when left out. Options with parts take a `Config` of the whole value, such as
 * `Config.all({ maxSegments: Config.integer("MAX_SEGMENTS") })` for `retention` or
 * `Durability.config` for `durability`.
 *
 * @since 0.2.0
 * @category models
 */
export type ConfigOptions =
  & { readonly directory: Config.Config<string> }
  & {
    readonly [K in Exclude<keyof Options, "directory" | "schema">]?: Config.Config<Exclude<Options[K], undefined>>
  }

/**
 * Errors of opening a WAL from `Config`: a missing or malformed value, or a value the WAL refuses
 * (reported as `ConfigError.InvalidData` at the option's path), then the errors of opening.
 *
 * @since 0.2.0
 * @category models
 */
export type OpenConfigError = ConfigErrorModule.ConfigError | Exclude<OpenError, WalConfigError>

/**
 * Like `make`, with every option read from `Config` when the WAL opens: `Config.string("WAL_DIR")`
 * for the directory, `Config.integer(...)` for sizes, `Durability.config` for the durability.
 * Reading fails with the `ConfigError` of the value, and a value the WAL refuses fails with
 * `ConfigError.InvalidData` naming the option (`["segmentBytes"]`, `["retention", "maxBytes"]`),
 * so every configuration problem is a `ConfigError`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeConfig: {
  <A, I>(
    options: ConfigOptions & { readonly schema: Schema.Schema<A, I, never> }
  ): Effect.Effect<Wal<A>, OpenConfigError, FileSystem.FileSystem | Path.Path | Scope.Scope>
  (options: ConfigOptions): Effect.Effect<Wal<Uint8Array>, OpenConfigError, FileSystem.FileSystem | Path.Path | Scope.Scope>
} = internal.makeConfig as any

/**
 * A Layer that provides an open WAL under the user's own tag, its options read from `Config`
 * (see `makeConfig`).
 *
 * ```ts
 * const EventsLive = Wal.layerConfig(Events, {
 *   schema: Event,
 *   directory: Config.string("WAL_DIR"),
 *   durability: Durability.config.pipe(Config.nested("WAL_DURABILITY"))
 * })
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerConfig = <Id, A, I>(
  tag: Context.Tag<Id, Wal<A>>,
  options: ConfigOptions & { readonly schema: Schema.Schema<A, I, never> }
): Layer.Layer<Id, OpenConfigError, FileSystem.FileSystem | Path.Path> => Layer.scoped(tag, makeConfig(options))
