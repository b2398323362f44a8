/**
 * The WAL's Effect metrics and back-pressure signals. Metric names are documented in
 * docs/operations.md; every metric is tagged with the WAL directory (`wal_directory`).
 */
import { Effect, Metric, MetricBoundaries, Option, Stream } from "effect"
import type { Pressure, WalMetrics } from "../Wal.js"
import { Signal } from "./signal.js"
import type { BatchReport } from "./write/writer.js"

const isSeparator = (char: string | undefined) => char === "/" || char === "\\"

/**
 * The `wal_directory` tag of a directory: without repeated or trailing separators and without `.`
 * segments, so that `"/data/wal"`, `"/data/wal/"` and `"/data/./wal"` name the same metrics. It
 * is lexical: `..` and symbolic links are kept as written.
 */
export const directoryTag = (directory: string): string => {
  const separator = directory.includes("/") || !directory.includes("\\") ? "/" : "\\"
  const joined = directory.split(/[\\/]+/).filter((part) => part !== "" && part !== ".").join(separator)
  if (isSeparator(directory[0])) return separator + joined
  return joined === "" ? "." : joined
}

/** Tags a metric with the WAL directory. */
const tagged = <M extends Metric.Metric<any, any, any>>(metric: M, directory: string): M =>
  Metric.tagged(metric, "wal_directory", directoryTag(directory)) as M

const fsyncBoundaries = MetricBoundaries.exponential({ start: 0.0001, factor: 2, count: 16 })
const batchBoundaries = MetricBoundaries.exponential({ start: 1, factor: 2, count: 14 })

/** The metrics of one WAL. */
export const make = (directory: string): WalMetrics => ({
  appends: tagged(Metric.counter("wal_appends_total", { description: "Entries acknowledged" }), directory),
  bytesWritten: tagged(Metric.counter("wal_bytes_written_total", { description: "Bytes written to segment files" }), directory),
  fsyncDuration: tagged(
    Metric.histogram("wal_fsync_duration_seconds", fsyncBoundaries, "Duration of each segment fsync"),
    directory
  ),
  batchSize: tagged(Metric.histogram("wal_batch_size", batchBoundaries, "Entries per group-commit batch"), directory),
  queueDepth: tagged(Metric.gauge("wal_queue_depth", { description: "Entries waiting for the writer" }), directory),
  segments: tagged(Metric.gauge("wal_segments", { description: "Segment files in the WAL directory" }), directory),
  recoveryDuration: tagged(Metric.gauge("wal_recovery_duration_seconds", { description: "Duration of the last open" }), directory),
  recoveryFrames: tagged(Metric.gauge("wal_recovery_frames_verified", { description: "Frames verified by the last open" }), directory),
  recoveryTruncatedBytes: tagged(
    Metric.counter("wal_recovery_truncated_bytes_total", { description: "Torn-tail bytes cut at open" }),
    directory
  )
})

/** The signals of a WAL that has served no batch yet. */
export const idle: Pressure = {
  queueEntries: 0,
  queueBytes: 0,
  lastFsyncMillis: 0,
  recentFsyncMillis: 0,
  writeBytesPerSecond: 0,
  saturated: false
}

/** Thresholds past which the WAL reports itself saturated. */
export interface Thresholds {
  readonly fsyncMillis: number
  readonly queueEntries: number
  readonly queueBytes: number
}

/**
 * Keeps the back-pressure signals: updated once per batch, read at any time, and followed as a
 * stream of the latest value (a consumer slower than the writer skips to the newest signals
 * instead of queueing one value per batch).
 */
export class PressureGauge {
  private latest: Pressure = idle
  private closed = false
  private readonly updated = new Signal()
  /** Recent fsync durations in milliseconds (the last 32). */
  private readonly recent: Array<number> = []
  private lastFsyncMillis = 0
  private windowStart = -1
  private windowBytes = 0
  private throughput = 0

  constructor(readonly thresholds: Thresholds) {}

  /** Records a batch at `nowMillis` and publishes the new signals. */
  record(report: BatchReport, nowMillis: number, queueEntries: number, queueBytes: number): void {
    for (const seconds of report.fsyncSeconds) {
      this.lastFsyncMillis = seconds * 1000
      this.recent.push(this.lastFsyncMillis)
      if (this.recent.length > 32) this.recent.shift()
    }
    if (this.windowStart < 0) this.windowStart = nowMillis
    this.windowBytes += report.bytes
    const elapsed = nowMillis - this.windowStart
    if (elapsed >= 1000) {
      this.throughput = this.windowBytes / (elapsed / 1000)
      this.windowStart = nowMillis
      this.windowBytes = 0
    }
    this.latest = this.snapshot(queueEntries, queueBytes)
    this.updated.notify()
  }

  /** Ends every `changes` stream (the WAL closed). */
  close(): void {
    this.closed = true
    this.updated.notify()
  }

  /** The current signals, then the latest after each batch; ends when the WAL closes. */
  readonly changes: Stream.Stream<Pressure> = Stream.suspend(() => {
    let seen: number | undefined
    const next = (): Effect.Effect<Pressure, Option.Option<never>> => {
      if (this.closed) return Effect.fail(Option.none())
      seen = this.updated.version
      return Effect.succeed(this.latest)
    }
    return Stream.repeatEffectOption(
      Effect.suspend(() => seen === undefined ? next() : Effect.flatMap(this.updated.changedSince(seen), next))
    )
  })

  /** The current signals. */
  snapshot(queueEntries: number, queueBytes: number): Pressure {
    const recentFsyncMillis = this.recent.length === 0 ? 0 : Math.max(...this.recent)
    const { thresholds } = this
    return {
      queueEntries,
      queueBytes,
      lastFsyncMillis: this.lastFsyncMillis,
      recentFsyncMillis,
      writeBytesPerSecond: this.throughput,
      saturated: recentFsyncMillis >= thresholds.fsyncMillis || queueEntries >= thresholds.queueEntries ||
        queueBytes >= thresholds.queueBytes
    }
  }
}
