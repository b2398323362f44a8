/**
 * The WAL's tracing spans: their names and attributes, in one place. Spans cover operations that
 * happen once per open, read, reclamation, repair or writer batch, never one append, so tracing
 * costs nothing per entry. Attributes are prefixed `effect-wal.`.
 */
import { Context, DefaultServices, Effect, Exit, Option, Stream, Tracer } from "effect"
import type { RecoveryReport } from "../Wal.js"

/** The span names, documented in docs/operations.md. */
export const SpanName = {
  open: "effect-wal.open",
  batch: "effect-wal.batch",
  replay: "effect-wal.replay",
  reclaim: "effect-wal.reclaim",
  repair: "effect-wal.repair"
} as const

/** What a writer batch reports to its span. */
export interface BatchSpanInput {
  /** Entries written (appends and checkpoints). */
  readonly entries: number
  /** Bytes written to the segment. */
  readonly bytes: number
  /** Durations of the fsyncs the batch made, in seconds. */
  readonly fsyncSeconds: ReadonlyArray<number>
  /** The index of the segment written. */
  readonly segment: number
}

/** The attributes of an `effect-wal.batch` span. */
export const batchAttributes = (batch: BatchSpanInput): Record<string, number> => {
  let fsyncSeconds = 0
  for (const seconds of batch.fsyncSeconds) fsyncSeconds += seconds
  return {
    "effect-wal.entries": batch.entries,
    "effect-wal.bytes": batch.bytes,
    "effect-wal.fsync_ms": fsyncSeconds * 1000,
    "effect-wal.fsyncs": batch.fsyncSeconds.length,
    "effect-wal.segment": batch.segment
  }
}

/** The tracer a fiber has when the application provides none: Effect's built-in tracer. */
const builtInTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/**
 * Whether a root span that `tracer` makes can be seen by anyone: not with Effect's built-in
 * tracer, which exports nothing, so the writer makes no batch span under it. A span there cost the
 * writer about 2.5 µs per batch (two random hex ids, an attribute map), most of the CPU that
 * tracing cost a one-at-a-time append.
 */
export const recordsSpans = (tracer: Tracer.Tracer): boolean => tracer !== builtInTracer

/**
 * Records a writer batch that ran from `startNanos` to `endNanos` as one root `effect-wal.batch`
 * span of `tracer`, failed with `failure` when there is one.
 */
export const recordBatch = (
  tracer: Tracer.Tracer,
  startNanos: bigint,
  endNanos: bigint,
  batch: BatchSpanInput,
  failure: unknown
): void => {
  const span = tracer.span(SpanName.batch, Option.none(), Context.empty(), [], startNanos, "internal")
  const attributes = batchAttributes(batch)
  for (const key in attributes) span.attribute(key, attributes[key])
  span.end(endNanos, failure === undefined ? Exit.void : Exit.fail(failure))
}

/** The attributes an `effect-wal.open` span ends with: what recovery found and did. */
export const recoveryAttributes = (report: RecoveryReport): Record<string, unknown> => ({
  "effect-wal.created": report.created,
  "effect-wal.segments": report.segments,
  "effect-wal.frames_verified": report.framesVerified,
  "effect-wal.last_sequence": report.lastSequence,
  "effect-wal.torn_bytes": Option.match(report.tornTail, { onNone: () => 0, onSome: (tail) => tail.bytes }),
  "effect-wal.lock_taken_over": Option.isSome(report.lockTakenOver)
})

/** Opening a WAL in `directory` (lock, scan, verify, repair of a torn tail) as one span. */
export const openSpan = (directory: string, verify: "full" | "tail") =>
<A extends { readonly report: RecoveryReport }, E, R>(recovery: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  recovery.pipe(
    Effect.tap((recovered) => Effect.annotateCurrentSpan(recoveryAttributes(recovered.report))),
    Effect.withSpan(SpanName.open, { attributes: { "effect-wal.directory": directory, "effect-wal.verify": verify } })
  )

/** A replay of `directory` from `from` (to `to`) as one span, from its first pull to its end. */
export const replaySpan = (directory: string, from: number, to: number | undefined) =>
<A, E, R>(stream: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
  Stream.withSpan(stream, SpanName.replay, {
    attributes: { "effect-wal.directory": directory, "effect-wal.from": from, ...(to === undefined ? {} : { "effect-wal.to": to }) }
  })

/** A reclamation below `sequence` as one span, annotated with the segments it removed. */
export const reclaimSpan = (directory: string, sequence: number) =>
<E, R>(reclaim: Effect.Effect<ReadonlyArray<string>, E, R>): Effect.Effect<ReadonlyArray<string>, E, R> =>
  reclaim.pipe(
    Effect.tap((removed) => Effect.annotateCurrentSpan("effect-wal.removed", removed.length)),
    Effect.withSpan(SpanName.reclaim, { attributes: { "effect-wal.directory": directory, "effect-wal.sequence": sequence } })
  )

/** An explicit repair of `directory` as one span, annotated with whether it changed the log. */
export const repairSpan = (directory: string) =>
<A extends { readonly repaired: boolean }, E, R>(repair: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  repair.pipe(
    Effect.tap((report) => Effect.annotateCurrentSpan("effect-wal.repaired", report.repaired)),
    Effect.withSpan(SpanName.repair, { attributes: { "effect-wal.directory": directory } })
  )
