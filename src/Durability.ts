/**
 * Durability modes: when an append is acknowledged, and so what a crash can lose.
 *
 * | mode | `append` resolves when | process crash loses | power loss loses |
 * |---|---|---|---|
 * | `strict` (default) | its batch is written and fsynced | nothing acknowledged | nothing acknowledged |
 * | `grouped({ maxDelay })` | as strict, after waiting up to `maxDelay` to gather a bigger batch | nothing acknowledged | nothing acknowledged |
 * | `buffered({ interval, bytes })` | its batch is written to the OS; fsync every `interval` or `bytes` | nothing acknowledged | at most the last interval / bytes |
 * | `none` | its batch is written to the OS; fsync only at seal, `sync` and close | nothing acknowledged | everything since the last sync |
 *
 * `docs/durability.md` spells the contract out.
 *
 * @since 0.1.0
 */
import { Config, ConfigError, Duration, Either, Option } from "effect"

/**
 * Every append is fsynced before it is acknowledged; concurrent appends share one fsync.
 *
 * @since 0.1.0
 * @category models
 */
export interface Strict {
  readonly _tag: "Strict"
}

/**
 * As `Strict`, but the writer waits up to `maxDelay` after the first waiting append to gather a
 * larger batch for one fsync.
 *
 * @since 0.1.0
 * @category models
 */
export interface Grouped {
  readonly _tag: "Grouped"
  readonly maxDelay: Duration.Duration
}

/**
 * Appends are acknowledged once written to the OS; an fsync runs once `interval` has passed since
 * the first unsynced write or once `bytes` unsynced bytes have accumulated, whichever comes first.
 *
 * @since 0.1.0
 * @category models
 */
export interface Buffered {
  readonly _tag: "Buffered"
  readonly interval: Duration.Duration
  readonly bytes: number
}

/**
 * Appends are acknowledged once written to the OS; fsync only when a segment is sealed, on
 * `wal.sync` and at close.
 *
 * @since 0.1.0
 * @category models
 */
export interface None {
  readonly _tag: "None"
}

/**
 * A durability mode.
 *
 * @since 0.1.0
 * @category models
 */
export type Durability = Strict | Grouped | Buffered | None

/**
 * The default mode: nothing acknowledged is ever lost.
 *
 * @since 0.1.0
 * @category constructors
 */
export const strict: Durability = { _tag: "Strict" }

/**
 * No fsync on the append path: fastest, and a power loss loses everything since the last sync.
 *
 * @since 0.1.0
 * @category constructors
 */
export const none: Durability = { _tag: "None" }

/**
 * Group commit with a gathering window. `maxDelay` must be positive (checked when the WAL opens).
 *
 * @since 0.1.0
 * @category constructors
 */
export const grouped = (options: { readonly maxDelay: Duration.DurationInput }): Durability => ({
  _tag: "Grouped",
  maxDelay: Duration.decode(options.maxDelay)
})

/**
 * Acknowledge on write, fsync in the background by time or volume. Both bounds must be positive
 * (checked when the WAL opens).
 *
 * @since 0.1.0
 * @category constructors
 */
export const buffered = (options: { readonly interval: Duration.DurationInput; readonly bytes: number }): Durability => ({
  _tag: "Buffered",
  interval: Duration.decode(options.interval),
  bytes: options.bytes
})

/**
 * Whether an acknowledged append survives power loss in this mode.
 *
 * @since 0.1.0
 * @category predicates
 */
export const survivesPowerLoss = (mode: Durability): boolean => mode._tag === "Strict" || mode._tag === "Grouped"

/**
 * A durability mode read from `Config`: `mode` is `strict` (the default when missing), `grouped`,
 * `buffered` or `none`; `grouped` also reads the duration `maxDelay`, `buffered` the duration
 * `interval` and the integer `bytes`. Nest it under a name with `Config.nested`:
 *
 * ```ts
 * // DURABILITY_MODE=grouped DURABILITY_MAXDELAY="5 millis" with ConfigProvider.constantCase
 * const durability = Durability.config.pipe(Config.nested("durability"))
 * ```
 *
 * The values are checked when the WAL opens, like those of the constructors.
 *
 * @since 0.2.0
 * @category utils
 */
export const config: Config.Config<Durability> = Config.all({
  mode: Config.literal("strict", "grouped", "buffered", "none")("mode").pipe(Config.withDefault("strict" as const)),
  maxDelay: Config.option(Config.duration("maxDelay")),
  interval: Config.option(Config.duration("interval")),
  bytes: Config.option(Config.integer("bytes"))
}).pipe(Config.mapOrFail(({ bytes, interval, maxDelay, mode }): Either.Either<Durability, ConfigError.ConfigError> => {
  const required = <A>(value: Option.Option<A>, key: string): Either.Either<A, ConfigError.ConfigError> =>
    Option.match(value, {
      onNone: () => Either.left(ConfigError.MissingData([key], `Expected ${key}: ${mode} durability needs it`)),
      onSome: Either.right
    })
  switch (mode) {
    case "strict":
      return Either.right(strict)
    case "none":
      return Either.right(none)
    case "grouped":
      return Either.map(required(maxDelay, "maxDelay"), (maxDelay) => grouped({ maxDelay }))
    case "buffered":
      return Either.zipWith(required(interval, "interval"), required(bytes, "bytes"), (interval, bytes) => buffered({ interval, bytes }))
  }
}))
