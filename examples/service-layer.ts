/**
 * Service layer: the WAL as the application's own service, and typed recovery errors.
 *
 * Shows: a `Context.Tag` of the application's (`AuditLog`) provided by `Wal.layer`; business code
 * that depends only on that tag (no file system, no directory, no codec in sight); and
 * `Effect.catchTags` on the errors opening a log can fail with (`WalLockedError`,
 * `WalFormatError`, `WalCorruptionError`), each turned into a message an operator can act on.
 * To show every handler at work, the example provokes each error on purpose: a second writer on
 * the same directory, a restart with another codec, and a byte flipped in a sealed segment.
 *
 * Directory: a fresh temporary directory, removed at the end.
 *
 *   npx tsx examples/service-layer.ts
 */
import { NodeContext } from "@effect/platform-node"
import { Context, Effect, Layer, Schema, Stream } from "effect"
import * as NodeFs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Codec, Wal } from "../src/index.js" // in an application: from "effect-wal"

// ---- The application's own service ----------------------------------------------------------

const AuditEvent = Schema.Struct({
  user: Schema.String,
  action: Schema.Literal("login", "logout", "grant")
})
type AuditEvent = typeof AuditEvent.Type

/** The application's tag: business code asks for `AuditLog`, never for a file or a directory. */
class AuditLog extends Context.Tag("app/AuditLog")<AuditLog, Wal.Wal<AuditEvent>>() {}

// ---- Business code: depends on AuditLog only -------------------------------------------------

const record = (event: AuditEvent) => Effect.flatMap(AuditLog, (log) => log.append(event))

const loginsOf = (user: string) =>
  Effect.flatMap(AuditLog, (log) =>
    log.replay().pipe(
      Stream.filter((entry) => entry.payload.user === user && entry.payload.action === "login"),
      Stream.runCount
    ))

const app = Effect.gen(function*() {
  for (let i = 0; i < 60; i++) yield* record({ user: `user-${i % 3}`, action: i % 4 === 3 ? "logout" : "login" })
  const last = yield* record({ user: "admin", action: "grant" })
  return `app: recorded up to seq ${last}; user-0 logged in ${yield* loginsOf("user-0")} times`
})

// ---- Composition root: directory, codec and file system are chosen here ----------------------

const AuditLogLive = (directory: string) =>
  // Small segments so that this short demo has sealed segments to damage later on.
  Wal.layer(AuditLog, { directory, schema: AuditEvent, segmentBytes: 2048 })

/** Runs the app on the log in `directory`; the errors of opening it become operator messages. */
const run = (directory: string, codec: Layer.Layer<Codec.Codec> = Codec.layerJson) =>
  app.pipe(
    Effect.provide(AuditLogLive(directory).pipe(Layer.provide(Layer.merge(NodeContext.layer, codec)))),
    Effect.catchTags({
      WalLockedError: (e) =>
        Effect.succeed(
          `LOCKED: ${e.directory} is open for writing by ${e.holder}. Only one writer may use a WAL: ` +
            `stop that instance first. (A lock left by a process that has died is taken over automatically.)`
        ),
      WalFormatError: (e) =>
        Effect.succeed(
          `FORMAT (${e.problem}): ${e.file} cannot be opened: ${e.detail}. ` +
            (e.problem === "codec-mismatch"
              ? "Start the service with the codec the log was written with."
              : e.problem === "unsupported-version"
              ? "It was written by a newer effect-wal: upgrade this service."
              : e.problem === "wal-id-mismatch"
              ? "A segment of another WAL was copied into this directory: remove it."
              : "The file is not a healthy segment of this WAL: restore it from a backup or replica.")
        ),
      WalCorruptionError: (e) =>
        Effect.succeed(
          `CORRUPTION: ${e.file} at offset ${e.offset}: ${e.reason}. Nothing was repaired or removed. ` +
            `Keep a copy of the directory, then restore from a backup or replica (see docs/recovery.md).`
        )
    })
  )

const program = Effect.gen(function*() {
  const directory = yield* Effect.acquireRelease(
    Effect.sync(() => NodeFs.mkdtempSync(Path.join(Os.tmpdir(), "effect-wal-service-layer-"))),
    (directory) => Effect.sync(() => NodeFs.rmSync(directory, { recursive: true, force: true }))
  )

  // 1. A normal start.
  console.log(yield* run(directory))

  // 2. A second instance starts while the first still holds the log.
  const second = yield* Effect.scoped(Effect.gen(function*() {
    yield* Layer.build(AuditLogLive(directory).pipe(Layer.provide(NodeContext.layer)))
    return yield* run(directory)
  }))
  console.log(second)

  // 3. A deployment that changed the codec (MessagePack instead of the JSON the log was written with).
  console.log(yield* run(directory, Codec.layerMsgPack))

  // 4. A byte flipped inside a sealed segment (bit rot, a bad copy, an overwritten file).
  const sealed = Path.join(directory, NodeFs.readdirSync(directory).filter((name) => name.endsWith(".wal")).sort()[0]!)
  const bytes = NodeFs.readFileSync(sealed)
  bytes[128 + 40]! ^= 0x01
  NodeFs.writeFileSync(sealed, bytes)
  console.log(yield* run(directory))
})

Effect.runPromise(Effect.scoped(program)).catch((error) => {
  console.error(error)
  process.exit(1)
})
