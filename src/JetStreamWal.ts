/**
 * The `Wal<A>` contract on a NATS JetStream stream, replicated by Raft across servers, for a log
 * that must survive the loss of a machine. At `effect-wal/jetstream`; it needs the optional peer
 * dependencies `@nats-io/jetstream` and `@nats-io/transport-node`.
 *
 * ```ts
 * const wal = yield* JetStreamWal.make({ servers: ["nats://a:4222", "nats://b:4222"], stream: "EVENTS", schema: Event })
 * const seq = yield* wal.append(event) // stored on a quorum of the stream's replicas
 * ```
 *
 * Guarantees (docs/jetstream.md): entry sequences are contiguous from 1; an `appendAll` batch is
 * one message, so it is stored whole or not at all; the WAL is the stream's single writer, fenced
 * by the expected last stream sequence on every publish; concurrent appends are packed into
 * messages while earlier ones are in flight (group commit by pipelining) and acknowledged in
 * sequence order; `replay` finds its start without reading the stream from the beginning; `tail`
 * has no gap and no duplicate across a reconnect or a leader change.
 *
 * @since 0.3.0
 */
import type { Context, Duration, Schema, Scope } from "effect"
import { Config, ConfigError, Effect, Layer, Predicate } from "effect"
import * as internal from "./internal/jetstream/wal.js"
import { fencedCode } from "./internal/jetstream/client.js"
import type { OpenError, Wal } from "./Wal.js"
import { WalConfigError, type WalPoisonedError } from "./WalError.js"

/**
 * Options of a JetStream WAL.
 *
 * @since 0.3.0
 * @category options
 */
export interface Options<A = Uint8Array, I = unknown> {
  /** NATS server URLs (`"nats://127.0.0.1:4222"`); the client reconnects to any of them, without limit. */
  readonly servers: string | ReadonlyArray<string>
  /** The stream name; the stream is created with file storage when missing. */
  readonly stream: string
  /** The literal subject the WAL publishes on (default: the stream name). The stream must hold it. */
  readonly subject?: string
  /** Replicas of a stream the WAL creates, 1 to 5 (default 3); an existing stream must have this many. */
  readonly replicas?: number
  /**
   * The payload schema; payloads are encoded with it, then turned into bytes by the `Codec`
   * service (JSON by default), as in the file WAL. Without a schema payloads are `Uint8Array`s.
   */
  readonly schema?: Schema.Schema<A, I, never>
  /**
   * How long a publish waits for its acknowledgement before the WAL poisons itself, and the
   * timeout of each read and management request (default 5 seconds). Requests, and a writer
   * making no progress, are retried through a leader election or a reconnect for up to three
   * times this, and never less than 15 seconds (a stream leader election in nats-server takes up
   * to about 11 s), so an election is a pause for any timeout.
   */
  readonly timeout?: Duration.DurationInput
}

/**
 * Opens the WAL on `options.stream` for the life of the scope: connects, creates the stream when
 * missing, reads its last message (the last entry sequence and checkpoint are in its headers, so
 * nothing is scanned) and starts the writer. Closing the scope stops intake, waits for every
 * queued and in-flight publish to be acknowledged or to fail, and closes the connection.
 *
 * The WAL is the stream's only writer: a second writer, or a stale one, is refused by the server
 * on its next publish and poisons itself (`isFenced`). `streamBytes` fails with a `WalIOError`
 * (code `ENOTSUP`): a JetStream WAL has no segment files to ship. `reclaim(sequence)` purges the
 * messages whose entries are all below `sequence` and returns no file names. `sync` waits for
 * every append made so far to be acknowledged (stored on a quorum).
 *
 * @since 0.3.0
 * @category constructors
 */
export const make: {
  <A, I>(
    options: Options<A, I> & { readonly schema: Schema.Schema<A, I, never> }
  ): Effect.Effect<Wal<A>, OpenError, Scope.Scope>
  (options: Options): Effect.Effect<Wal<Uint8Array>, OpenError, Scope.Scope>
} = internal.make as any

/**
 * A Layer that provides a JetStream WAL under the user's own tag.
 *
 * ```ts
 * class Events extends Context.Tag("Events")<Events, Wal.Wal<Event>>() {}
 * const EventsLive = JetStreamWal.layer(Events, { servers: "nats://127.0.0.1:4222", stream: "EVENTS", schema: Event })
 * ```
 *
 * @since 0.3.0
 * @category layers
 */
export const layer = <Id, A, I>(
  tag: Context.Tag<Id, Wal<A>>,
  options: Options<A, I> & { readonly schema: Schema.Schema<A, I, never> }
): Layer.Layer<Id, OpenError> => Layer.scoped(tag, make(options))

/**
 * The options as `Config`s, the payload `schema` apart (code, not configuration): `servers` and
 * `stream` are required, the others keep their defaults when left out.
 *
 * @since 0.3.0
 * @category options
 */
export interface ConfigOptions {
  readonly servers: Config.Config<string | ReadonlyArray<string>>
  readonly stream: Config.Config<string>
  readonly subject?: Config.Config<string>
  readonly replicas?: Config.Config<number>
  readonly timeout?: Config.Config<Duration.Duration>
}

/**
 * Errors of opening from `Config`: every configuration problem (a missing or malformed value, or
 * one the WAL refuses, as `ConfigError.InvalidData` at the option's path), then the errors of opening.
 *
 * @since 0.3.0
 * @category errors
 */
export type OpenConfigError = ConfigError.ConfigError | Exclude<OpenError, WalConfigError>

/**
 * Like `make`, with the options read from `Config` when the WAL opens, such as
 * `Config.array(Config.string(), "NATS_SERVERS")` for the servers.
 *
 * @since 0.3.0
 * @category constructors
 */
export const makeConfig: {
  <A, I>(
    options: ConfigOptions & { readonly schema: Schema.Schema<A, I, never> }
  ): Effect.Effect<Wal<A>, OpenConfigError, Scope.Scope>
  (options: ConfigOptions): Effect.Effect<Wal<Uint8Array>, OpenConfigError, Scope.Scope>
} = (options: ConfigOptions & { readonly schema?: Schema.Schema<any, any, never> }): Effect.Effect<
  Wal<any>,
  OpenConfigError,
  Scope.Scope
> => {
  const { schema, ...configs } = options
  return Effect.flatMap(Config.all(configs), (values) =>
    internal.make({ ...values, ...(schema === undefined ? {} : { schema }) }).pipe(
      Effect.catchIf(
        (error): error is WalConfigError => error instanceof WalConfigError,
        (error) => Effect.fail(ConfigError.InvalidData([error.field], error.detail))
      )
    ))
}

/**
 * A Layer that provides a JetStream WAL under the user's own tag, its options read from `Config`.
 *
 * ```ts
 * const EventsLive = JetStreamWal.layerConfig(Events, {
 *   schema: Event,
 *   servers: Config.array(Config.string(), "NATS_SERVERS"),
 *   stream: Config.string("WAL_STREAM")
 * })
 * ```
 *
 * @since 0.3.0
 * @category layers
 */
export const layerConfig = <Id, A, I>(
  tag: Context.Tag<Id, Wal<A>>,
  options: ConfigOptions & { readonly schema: Schema.Schema<A, I, never> }
): Layer.Layer<Id, OpenConfigError> => Layer.scoped(tag, makeConfig(options))

/**
 * Whether an append failed because the WAL was fenced: the stream's last sequence was not the
 * one this writer expected, so another writer published to the stream (or this one lost its
 * place). The WAL is poisoned; open a new one to read the stream's new state and go on.
 *
 * @since 0.3.0
 * @category errors
 */
export const isFenced = (error: unknown): error is WalPoisonedError =>
  Predicate.isTagged(error, "WalPoisonedError") &&
  (error as WalPoisonedError).cause.code === fencedCode
