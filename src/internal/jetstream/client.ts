/**
 * The NATS side of the JetStream WAL: connecting, finding or creating the stream, reading one
 * stored message, publishing with an expected last sequence. Every failure becomes a WAL error.
 */
import {
  type JetStreamManager,
  jetstream,
  JetStreamApiError,
  jetstreamManager,
  type StoredMsg,
  type StreamInfo
} from "@nats-io/jetstream"
import { connect, headers as natsHeaders, type NatsConnection, TimeoutError } from "@nats-io/transport-node"
import { Duration, Effect, Schedule, type Scope } from "effect"
import { WalConfigError, WalCorruptionError, WalIOError } from "../../WalError.js"
import type { Publish } from "./writer.js"

/** The `code` of the `WalIOError` inside the `WalPoisonedError` of a fenced writer. */
export const fencedCode = "FENCED"

const streamNotFound = 10059

const duplicateWindowNanos = 1_000_000_000

/** The header JetStream stores a message's id in. */
export const messageIdHeader = "Nats-Msg-Id"

/** The `code` of a `WalIOError` built from a NATS failure: the JetStream API error code, or `TIMEOUT`. */
export const codeOf = (cause: unknown): string | undefined =>
  cause instanceof JetStreamApiError
    ? String(cause.code)
    : cause instanceof TimeoutError
    ? "TIMEOUT"
    : undefined

/** A NATS failure as a `WalIOError`; `path` names the stream or the servers. */
export const ioError = (operation: string, path: string) => (cause: unknown): WalIOError =>
  new WalIOError({ operation, path, code: codeOf(cause), cause })

/** An open connection with its JetStream handles. */
export interface Client {
  readonly connection: NatsConnection
  readonly manager: JetStreamManager
  readonly stream: string
  readonly subject: string
  /** The largest message body the servers accept. */
  readonly maxPayload: number
  readonly publish: Publish
  /** The stored message at a stream sequence (`undefined` when there is none), retried through a leader change. */
  readonly get: (seq: number) => Effect.Effect<StoredMsg, WalIOError | WalCorruptionError>
  /** The stream's state, retried through a leader change. */
  readonly info: Effect.Effect<StreamInfo, WalIOError>
}

/** Connection settings. */
export interface Settings {
  readonly servers: ReadonlyArray<string>
  readonly stream: string
  readonly subject: string
  readonly replicas: number
  readonly timeout: Duration.Duration
}

/**
 * How long a stream can be without a leader in a healthy cluster: a follower waits 4 to 9 s after
 * the last heartbeat (1 s apart) before it campaigns, then campaigns for up to 0.8 s
 * (nats-server `server/raft.go`), about 11 s in all; 15 s leaves room for a loaded machine.
 */
const electionWindow = Duration.seconds(15)

/**
 * The retry budget of every request, and the writer's budget for making no progress: three
 * timeouts, and never less than the election window, so that a leader election is a pause for any
 * `timeout`, never a failure. It bounds how long a lost quorum takes to fail appends.
 */
export const retryBudget = (timeout: Duration.Duration): Duration.Duration =>
  Duration.max(Duration.times(timeout, 3), electionWindow)

/**
 * Retries a request while a stream leader is elected or a server reconnects, for up to the retry
 * budget; with `answered`, not once a server has answered.
 */
const retrying = (timeout: Duration.Duration, answered: (cause: unknown) => boolean = () => false) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.retry(self, {
    schedule: Schedule.exponential("50 millis").pipe(
      Schedule.union(Schedule.spaced("500 millis")),
      Schedule.upTo(retryBudget(timeout))
    ),
    while: (cause) => !answered(cause)
  })

/**
 * Connects (reconnecting without limit afterwards), then finds the stream or creates it with
 * `replicas` replicas and file storage. A stream that exists must hold the subject and have the
 * replica count asked for. The connection closes with the scope.
 */
export const open = (settings: Settings): Effect.Effect<{ readonly client: Client; readonly created: boolean }, WalIOError | WalConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const timeoutMillis = Duration.toMillis(settings.timeout)
    const where = settings.servers.join(",")
    const connection = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          connect({
            servers: [...settings.servers],
            timeout: timeoutMillis,
            maxReconnectAttempts: -1,
            reconnectTimeWait: 250,
            // The client would build an Error per request (and per timer) to append the caller's
            // stack to its own failures; every failure here becomes a WAL error naming the
            // operation instead. It was 15% of the client's CPU per one-at-a-time append.
            noAsyncTraces: true
          }),
        catch: ioError("connect", where)
      }),
      (connection) => Effect.promise(() => connection.close())
    )
    const manager = yield* Effect.tryPromise({
      try: () => jetstreamManager(connection, { timeout: timeoutMillis }),
      catch: ioError("jetstream", where)
    }).pipe(retrying(settings.timeout))
    const js = jetstream(connection, { timeout: timeoutMillis })
    const info = Effect.tryPromise({
      try: () => manager.streams.info(settings.stream),
      catch: (cause) => cause
    })
    const existing = yield* info.pipe(
      Effect.map((info): StreamInfo | undefined => info),
      Effect.catchIf((cause) => cause instanceof JetStreamApiError && cause.code === streamNotFound, () => Effect.succeed(undefined)),
      Effect.mapError(ioError("stream info", settings.stream)),
      retrying(settings.timeout)
    )
    if (existing !== undefined) {
      if (!existing.config.subjects?.includes(settings.subject)) {
        return yield* new WalConfigError({
          field: "subject",
          detail: `stream "${settings.stream}" does not hold the subject "${settings.subject}"`
        })
      }
      if (existing.config.num_replicas !== settings.replicas) {
        return yield* new WalConfigError({
          field: "replicas",
          detail: `stream "${settings.stream}" has ${existing.config.num_replicas} replicas, not ${settings.replicas}`
        })
      }
    } else {
      // A create that timed out may have been applied: adding the same configuration again is
      // idempotent in JetStream, so an unanswered create is retried through a meta-leader election.
      yield* Effect.tryPromise({
        try: () =>
          manager.streams.add({
            name: settings.stream,
            subjects: [settings.subject],
            num_replicas: settings.replicas,
            // Every message carries an id (writer.ts); a short window keeps the server's table of them small.
            duplicate_window: duplicateWindowNanos
          }),
        catch: (cause) => cause
      }).pipe(retrying(settings.timeout, (cause) => cause instanceof JetStreamApiError), Effect.mapError(ioError("stream create", settings.stream)))
    }
    const client: Client = {
      connection,
      manager,
      stream: settings.stream,
      subject: settings.subject,
      maxPayload: connection.info?.max_payload ?? 1024 * 1024,
      publish: (headers, body, id, expectedLast, expectedLastId) => {
        const h = natsHeaders()
        for (const [name, value] of headers) h.set(name, value)
        return js.publish(settings.subject, body, {
          headers: h,
          msgID: id,
          expect: expectedLastId === undefined ? { lastSequence: expectedLast } : { lastSequence: expectedLast, lastMsgID: expectedLastId }
        })
      },
      get: (seq) =>
        Effect.tryPromise({
          try: () => manager.streams.getMessage(settings.stream, { seq }),
          catch: ioError("get message", settings.stream)
        }).pipe(
          retrying(settings.timeout),
          Effect.flatMap((message) =>
            message === null
              ? Effect.fail(new WalCorruptionError({ file: settings.stream, offset: seq, reason: "no message at this stream sequence" }))
              : Effect.succeed(message)
          )
        ),
      info: Effect.tryPromise({
        try: () => manager.streams.info(settings.stream),
        catch: ioError("stream info", settings.stream)
      }).pipe(retrying(settings.timeout))
    }
    return { client, created: existing === undefined }
  })
