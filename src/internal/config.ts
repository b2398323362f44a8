/**
 * Validation of the options of `Wal.make` and `Wal.reader` with Schema. Invalid options fail with
 * `WalConfigError` naming the field.
 */
import { Duration, Effect, Either, ParseResult, Schema } from "effect"
import type * as Durability from "../Durability.js"
import { WalConfigError } from "../WalError.js"
import { FRAME_HEADER_SIZE, HEADER_SIZE, SEAL_FRAME_SIZE } from "./format/constants.js"

/** Default size at which a segment is sealed and the next one started: 64 MiB. */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024
/** Default largest payload: 16 MiB. */
export const DEFAULT_MAX_ENTRY_BYTES = 16 * 1024 * 1024
/** Default number of appends the queue holds before back-pressure. */
export const DEFAULT_QUEUE_CAPACITY = 8192
/** Default bytes of payload the append queue holds before back-pressure: 64 MiB. */
export const DEFAULT_QUEUE_BYTES = 64 * 1024 * 1024
/** Default fsync duration past which the WAL reports saturation. */
export const DEFAULT_SATURATION_FSYNC_MILLIS = 100
/** Smallest segment size accepted (small segments are for tests). */
export const MIN_SEGMENT_BYTES = 1024
/** Largest segment size: frame durable offsets are u32. */
export const MAX_SEGMENT_BYTES = 0xffff_ffff

const positiveInt = (field: string) =>
  Schema.Number.pipe(Schema.int({ message: () => `${field} must be an integer` }), Schema.positive({ message: () => `${field} must be positive` }))

const positiveDuration = Schema.DurationFromSelf.pipe(
  Schema.filter((d) => Duration.isFinite(d) && Duration.greaterThan(d, Duration.zero) || "must be a positive, finite duration")
)

const DurabilitySchema = Schema.Union(
  Schema.Struct({ _tag: Schema.Literal("Strict") }),
  Schema.Struct({ _tag: Schema.Literal("None") }),
  Schema.Struct({ _tag: Schema.Literal("Grouped"), maxDelay: positiveDuration }),
  Schema.Struct({ _tag: Schema.Literal("Buffered"), interval: positiveDuration, bytes: positiveInt("bytes") })
)

const OptionsSchema = Schema.Struct({
  directory: Schema.String.pipe(Schema.minLength(1, { message: () => "must not be empty" })),
  durability: Schema.optional(DurabilitySchema),
  segmentBytes: Schema.optional(
    positiveInt("segmentBytes").pipe(
      Schema.between(MIN_SEGMENT_BYTES, MAX_SEGMENT_BYTES, {
        message: () => `must be between ${MIN_SEGMENT_BYTES} and ${MAX_SEGMENT_BYTES}`
      })
    )
  ),
  maxEntryBytes: Schema.optional(positiveInt("maxEntryBytes")),
  queueCapacity: Schema.optional(positiveInt("queueCapacity")),
  queueBytes: Schema.optional(positiveInt("queueBytes")),
  saturation: Schema.optional(Schema.Struct({
    fsyncMillis: Schema.optional(Schema.Number.pipe(Schema.positive({ message: () => "must be positive" }))),
    queueFraction: Schema.optional(Schema.Number.pipe(Schema.between(0, 1, { message: () => "must be between 0 and 1" })))
  })),
  retention: Schema.optional(Schema.Struct({
    maxSegments: Schema.optional(positiveInt("maxSegments").pipe(Schema.greaterThanOrEqualTo(2, { message: () => "must keep at least 2 segments" }))),
    maxBytes: Schema.optional(positiveInt("maxBytes"))
  })),
  overflow: Schema.optional(Schema.Literal("suspend", "fail")),
  verify: Schema.optional(Schema.Literal("full", "tail"))
})

/** Options after validation, with every default applied. */
export interface ResolvedConfig {
  readonly directory: string
  readonly durability: Durability.Durability
  readonly segmentBytes: number
  readonly maxEntryBytes: number
  readonly queueCapacity: number
  readonly queueBytes: number
  readonly saturation: { readonly fsyncMillis: number; readonly queueFraction: number }
  readonly retention: { readonly maxSegments: number; readonly maxBytes: number } | undefined
  readonly overflow: "suspend" | "fail"
  readonly verify: "full" | "tail"
}

/** The largest payload a segment of `segmentBytes` can hold next to its header and seal frame. */
export const payloadRoom = (segmentBytes: number): number => segmentBytes - HEADER_SIZE - SEAL_FRAME_SIZE - FRAME_HEADER_SIZE

/**
 * Validates raw options. `maxEntryBytes`, when not given, is the default clamped to what one
 * segment can hold; when given it must fit.
 */
export const resolve = (input: unknown): Effect.Effect<ResolvedConfig, WalConfigError> =>
  Either.match(Schema.decodeUnknownEither(OptionsSchema, { onExcessProperty: "ignore" })(input), {
    onLeft: (error) => Effect.fail(toConfigError(error)),
    onRight: (options) => {
      const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES
      const room = payloadRoom(segmentBytes)
      const maxBytes = options.retention?.maxBytes
      if (maxBytes !== undefined && maxBytes < segmentBytes) {
        return Effect.fail(
          new WalConfigError({ field: "retention.maxBytes", detail: `${maxBytes} is less than one segment (${segmentBytes} bytes)` })
        )
      }
      if (options.maxEntryBytes !== undefined && options.maxEntryBytes > room) {
        return Effect.fail(
          new WalConfigError({
            field: "maxEntryBytes",
            detail: `${options.maxEntryBytes} does not fit a segment of ${segmentBytes} bytes (at most ${room})`
          })
        )
      }
      return Effect.succeed({
        directory: options.directory,
        durability: options.durability ?? { _tag: "Strict" },
        segmentBytes,
        maxEntryBytes: options.maxEntryBytes ?? Math.min(DEFAULT_MAX_ENTRY_BYTES, room),
        queueCapacity: options.queueCapacity ?? DEFAULT_QUEUE_CAPACITY,
        queueBytes: options.queueBytes ?? DEFAULT_QUEUE_BYTES,
        saturation: {
          fsyncMillis: options.saturation?.fsyncMillis ?? DEFAULT_SATURATION_FSYNC_MILLIS,
          queueFraction: options.saturation?.queueFraction ?? 0.8
        },
        retention: options.retention === undefined
          ? undefined
          : {
            maxSegments: options.retention.maxSegments ?? Number.POSITIVE_INFINITY,
            maxBytes: options.retention.maxBytes ?? Number.POSITIVE_INFINITY
          },
        overflow: options.overflow ?? "suspend",
        verify: options.verify ?? "full"
      })
    }
  })

const toConfigError = (error: ParseResult.ParseError): WalConfigError => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  const field = issue === undefined || issue.path.length === 0 ? "options" : issue.path.map(String).join(".")
  return new WalConfigError({ field, detail: issue?.message ?? String(error) })
}
