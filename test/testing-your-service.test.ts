/**
 * "Testing your service" (README): an application service written with `Effect.Service` on top of
 * a WAL, tested with @effect/vitest on `MemoryFileSystem` under `TestClock`, through a process
 * crash and a power loss with `Testing.crashAndReopen`. Run it with
 * `npx vitest run test/testing-your-service.test.ts`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Ref, Schema, Stream } from "effect"
import { Durability, MemoryFileSystem, Testing, Wal } from "../src/index.js" // in an application: from "effect-wal"

const Deposit = Schema.Struct({ account: Schema.String, amount: Schema.Number })

/** Balances by account, rebuilt from the log when the service starts. */
class Ledger extends Effect.Service<Ledger>()("Ledger", {
  scoped: Effect.gen(function*() {
    const wal = yield* Wal.make({ directory: "/ledger", schema: Deposit, durability: Durability.strict })
    const balances = yield* Ref.make(new Map<string, number>())
    const apply = (deposit: typeof Deposit.Type) =>
      Ref.update(balances, (map) => new Map(map).set(deposit.account, (map.get(deposit.account) ?? 0) + deposit.amount))
    // Replay before the service is handed out: nobody reads a half-built projection.
    yield* wal.replay().pipe(Stream.runForEach((entry) => apply(entry.payload)))
    return {
      deposit: (deposit: typeof Deposit.Type) => Effect.zipRight(wal.append(deposit), apply(deposit)),
      balance: (account: string) => Effect.map(Ref.get(balances), (map) => map.get(account) ?? 0)
    }
  })
}) {}

describe("Ledger", () => {
  it.effect("keeps every acknowledged deposit through a process crash", () =>
    Testing.crashAndReopen(Ledger.Default, {
      before: Effect.flatMap(Ledger, (ledger) =>
        Effect.forEach([10, 20, 12], (amount) => ledger.deposit({ account: "alice", amount }), { discard: true })),
      after: () => Effect.flatMap(Ledger, (ledger) => ledger.balance("alice"))
    }).pipe(
      Effect.map((balance) => expect(balance).toBe(42)),
      Effect.provide(MemoryFileSystem.layer)
    ))

  it.effect("keeps every acknowledged deposit through a power loss (strict durability)", () =>
    Effect.forEach([1, 2, 3, 4], (seed) =>
      Testing.crashAndReopen(Ledger.Default, {
        before: Effect.flatMap(Ledger, (ledger) =>
          Effect.forEach([5, 7], (amount) => ledger.deposit({ account: "bob", amount }), { discard: true })),
        after: () => Effect.flatMap(Ledger, (ledger) => ledger.balance("bob")),
        powerLoss: { seed }
      }).pipe(
        Effect.map((balance) => expect(balance).toBe(12)),
        Effect.provide(MemoryFileSystem.layer)
      )))
})
