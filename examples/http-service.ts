/**
 * An HTTP service on a WAL: `POST /deposits` appends a Schema-typed event, `GET /balances/:account`
 * reads a projection fed by `tail`. The server layer depends on the projection, and the projection
 * layer replays the whole log before it is built, so the server listens only once replay has
 * finished: a request sent during startup is refused by the closed port (and retried by the
 * client) instead of hanging on a half-built projection. WAL errors are `Schema.TaggedError`s, so
 * the endpoint declares them as its errors as they are.
 *
 * The example starts the server on a free port, sends a few requests, prints the answers and stops.
 *
 *   npx tsx examples/http-service.ts [directory]
 */
import { HttpApi, HttpApiBuilder, HttpApiClient, HttpApiEndpoint, HttpApiGroup, HttpServer } from "@effect/platform"
import { NodeContext, NodeHttpClient, NodeHttpServer } from "@effect/platform-node"
import { Context, Effect, Layer, Ref, Schedule, Schema, Stream } from "effect"
import { createServer } from "node:http"
import * as NodeFs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Wal, WalError } from "../src/index.js" // in an application: from "effect-wal"

const Deposit = Schema.Struct({ account: Schema.String, amount: Schema.Number })
type Deposit = typeof Deposit.Type

const Api = HttpApi.make("ledger").add(
  HttpApiGroup.make("ledger")
    .add(
      HttpApiEndpoint.post("deposit", "/deposits").setPayload(Deposit).addSuccess(Schema.Struct({ seq: Schema.Number }))
        .addError(WalError.WalError)
    )
    .add(HttpApiEndpoint.get("balance", "/balances/:account").setPath(Schema.Struct({ account: Schema.String }))
      .addSuccess(Schema.Struct({ account: Schema.String, balance: Schema.Number })))
)

class Deposits extends Context.Tag("Deposits")<Deposits, Wal.Wal<Deposit>>() {}

/** Balances by account, fed by `tail`; built only once the log is replayed up to its end at open. */
class Balances extends Context.Tag("Balances")<Balances, Ref.Ref<ReadonlyMap<string, number>>>() {}

const BalancesLive = Layer.scoped(
  Balances,
  Effect.gen(function*() {
    const wal = yield* Deposits
    const balances = yield* Ref.make<ReadonlyMap<string, number>>(new Map())
    const apply = (deposit: Deposit) =>
      Ref.update(balances, (map) => new Map(map).set(deposit.account, (map.get(deposit.account) ?? 0) + deposit.amount))
    // Replay what is on disk now, then follow new entries in the background from the next one.
    const end = yield* wal.lastSequence
    yield* wal.replay({ to: end }).pipe(Stream.runForEach((entry) => apply(entry.payload)))
    yield* wal.tail({ from: end + 1 }).pipe(Stream.runForEach((entry) => apply(entry.payload)), Effect.forkScoped)
    return balances
  })
)

const LedgerLive = HttpApiBuilder.group(Api, "ledger", (handlers) =>
  Effect.gen(function*() {
    const wal = yield* Deposits
    const balances = yield* Balances
    return handlers
      .handle("deposit", ({ payload }) => Effect.map(wal.append(payload), (seq) => ({ seq })))
      .handle("balance", ({ path }) =>
        Effect.map(Ref.get(balances), (map) => ({ account: path.account, balance: map.get(path.account) ?? 0 })))
  }))

const directory = process.argv[2] ?? NodeFs.mkdtempSync(Path.join(Os.tmpdir(), "effect-wal-http-"))

const ServerLive = HttpApiBuilder.serve().pipe(
  Layer.provide(HttpApiBuilder.api(Api).pipe(Layer.provide(LedgerLive))),
  Layer.provide(BalancesLive),
  Layer.provideMerge(Wal.layer(Deposits, { directory, schema: Deposit })),
  HttpServer.withLogAddress,
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0 })),
  Layer.provide(NodeContext.layer)
)

const program = Effect.gen(function*() {
  const address = yield* HttpServer.addressWith((address) =>
    Effect.succeed(address._tag === "TcpAddress" ? `http://127.0.0.1:${address.port}` : ""))
  const client = yield* HttpApiClient.make(Api, { baseUrl: address })
  for (const amount of [10, 20, 12]) {
    const { seq } = yield* client.ledger.deposit({ payload: { account: "alice", amount } })
    console.log(`deposited ${amount} as seq ${seq}`)
  }
  // The projection follows the log through `tail`, a moment behind the acknowledgements: read
  // the balance until it includes the three deposits.
  const { balance } = yield* client.ledger.balance({ path: { account: "alice" } }).pipe(
    Effect.repeat({ until: ({ balance }) => balance === 42, schedule: Schedule.spaced("10 millis") }),
    Effect.zipRight(client.ledger.balance({ path: { account: "alice" } }))
  )
  console.log(`balance of alice: ${balance}`)
}).pipe(Effect.provide(NodeHttpClient.layerUndici))

await Effect.runPromise(Effect.scoped(Effect.flatMap(Layer.build(ServerLive), (context) => Effect.provide(program, context))))
if (process.argv[2] === undefined) NodeFs.rmSync(directory, { recursive: true, force: true })
