/**
 * The `Wal<A>` contract as one suite, run against every backend: the file WAL (walContract.test.ts)
 * and the JetStream WAL (jetstream/JetStreamWal.test.ts). Each test opens fresh logs by name.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Schema, type Scope, Stream } from "effect"
import type { OpenError, Wal } from "../src/Wal.js"
import { collect } from "./helpers.js"

/** The payload of the contract's logs. */
export const Event = Schema.Struct({ n: Schema.Number, text: Schema.String })

/** A payload of `Event`. */
export type Event = typeof Event.Type

const event = (n: number): Event => ({ n, text: `event ${n}` })

/** What a backend gives the suite. */
export interface Backend {
  /** Opens (or reopens) the log named `name` for writing, with the `Event` schema. */
  readonly open: (name: string) => Effect.Effect<Wal<Event>, OpenError, any>
  /** Runs a test's effect with what the backend needs. */
  readonly run: <A, E>(effect: Effect.Effect<A, E, any>) => Effect.Effect<A, E, Scope.Scope>
  /** A payload size the backend refuses (`WalEntryTooLargeError`). */
  readonly tooLarge: number
}

let counter = 0
const fresh = (label: string): string => `contract${++counter}${label}${Date.now().toString(36)}`

const seqs = (entries: ReadonlyArray<{ readonly seq: number }>) => entries.map((entry) => entry.seq)

const range = (from: number, to: number): Array<number> => Array.from({ length: to - from + 1 }, (_, i) => from + i)

/** Defines the suite for one backend. */
export const walContract = (name: string, backend: Backend, timeout = 30_000) =>
  describe(`Wal contract: ${name}`, () => {
    const test = (title: string, body: (log: string) => Effect.Effect<void, unknown, Scope.Scope>) =>
      it.live(title, () => Effect.scoped(backend.run(body(fresh("x")))), timeout)

    test("append and appendAll number entries contiguously from 1; replay returns them with their payloads", (log) =>
      Effect.gen(function*() {
        const wal = yield* backend.open(log)
        expect(yield* wal.lastSequence).toBe(0)
        expect(yield* wal.append(event(1))).toBe(1)
        expect(yield* wal.appendAll([event(2), event(3), event(4)])).toEqual([2, 3, 4])
        expect(yield* wal.appendAll([])).toEqual([])
        expect(yield* wal.append(event(5))).toBe(5)
        expect(yield* wal.lastSequence).toBe(5)
        const entries = yield* collect(wal.replay())
        expect(seqs(entries)).toEqual([1, 2, 3, 4, 5])
        expect(entries.map((entry) => entry.payload)).toEqual(range(1, 5).map(event))
        expect(entries.every((entry) => entry.kind === "data")).toBe(true)
        for (let i = 1; i < entries.length; i++) expect(entries[i]!.timestamp).toBeGreaterThanOrEqual(entries[i - 1]!.timestamp)
      }))

    test("concurrent appends get distinct contiguous sequences, acknowledged in order, and all replay", (log) =>
      Effect.gen(function*() {
        const wal = yield* backend.open(log)
        const acknowledged: Array<number> = []
        const got = yield* Effect.forEach(
          range(1, 200),
          (n) => Effect.tap(wal.append(event(n)), (seq) => Effect.sync(() => void acknowledged.push(seq))),
          { concurrency: 64 }
        )
        expect([...got].sort((a, b) => a - b)).toEqual(range(1, 200))
        // The appending fibers resume in sequence order.
        expect(acknowledged).toEqual(range(1, 200))
        const entries = yield* collect(wal.replay())
        expect(seqs(entries)).toEqual(range(1, 200))
        for (const entry of entries) expect(got[entry.payload.n - 1]).toBe(entry.seq)
      }))

    test("replay({ from, to }) starts and stops inside batches, and is bounded by the last entry", (log) =>
      Effect.gen(function*() {
        const wal = yield* backend.open(log)
        for (let i = 0; i < 10; i++) yield* wal.appendAll(range(i * 5 + 1, i * 5 + 5).map(event))
        expect(seqs(yield* collect(wal.replay({ from: 23, to: 31 })))).toEqual(range(23, 31))
        expect(seqs(yield* collect(wal.replay({ from: 48 })))).toEqual([48, 49, 50])
        expect(seqs(yield* collect(wal.replay({ from: 51 })))).toEqual([])
        expect(seqs(yield* collect(wal.replay({ to: 2 })))).toEqual([1, 2])
        expect((yield* collect(wal.replay({ from: 37, to: 37 })))[0]!.payload).toEqual(event(37))
        const exit = yield* Effect.exit(collect(wal.replay({ from: 1.5 })))
        expect(Exit.isFailure(exit) && !Exit.isInterrupted(exit)).toBe(true)
      }))

    test("a reopened log keeps every entry and continues the sequence", (log) =>
      Effect.gen(function*() {
        yield* Effect.scoped(Effect.gen(function*() {
          const wal = yield* backend.open(log)
          yield* wal.appendAll(range(1, 3).map(event))
          yield* wal.checkpoint(event(4))
        }))
        const wal = yield* backend.open(log)
        expect(wal.recovery.lastSequence).toBe(4)
        expect(wal.recovery.lastCheckpoint).toBe(4)
        expect(yield* wal.append(event(5))).toBe(5)
        expect(seqs(yield* collect(wal.replay()))).toEqual(range(1, 5))
      }))

    test("checkpoints: kind, lastCheckpoint and replayFromCheckpoint", (log) =>
      Effect.gen(function*() {
        const wal = yield* backend.open(log)
        expect(yield* wal.lastCheckpoint).toBe(0)
        yield* wal.appendAll(range(1, 3).map(event))
        expect(yield* wal.checkpoint(event(4))).toBe(4)
        yield* wal.append(event(5))
        expect(yield* wal.lastCheckpoint).toBe(4)
        const entries = yield* collect(wal.replayFromCheckpoint)
        expect(entries.map((entry) => [entry.seq, entry.kind])).toEqual([[4, "checkpoint"], [5, "data"]])
        yield* wal.sync
      }))

    test("tail replays from `from`, then follows new appends with no gap and no duplicate", (log) =>
      Effect.gen(function*() {
        const wal = yield* backend.open(log)
        yield* wal.appendAll(range(1, 10).map(event))
        const fiber = yield* wal.tail({ from: 4 }).pipe(Stream.take(57), Stream.runCollect, Effect.fork)
        yield* Effect.forEach(range(11, 40), (n) => wal.append(event(n)), { concurrency: 8 })
        for (let i = 41; i <= 60; i += 5) yield* wal.appendAll(range(i, i + 4).map(event))
        const tailed = [...(yield* Fiber.join(fiber))]
        expect(seqs(tailed)).toEqual(range(4, 60))
      }))

    test("typed errors: a payload the schema refuses, a payload too large, an append after close", (log) =>
      Effect.gen(function*() {
        const wal = yield* Effect.scoped(Effect.gen(function*() {
          const wal = yield* backend.open(log)
          const bad = yield* Effect.flip(wal.append({ n: "x" } as unknown as Event))
          expect(bad._tag).toBe("WalCodecError")
          const large = yield* Effect.flip(wal.append({ n: 0, text: "x".repeat(backend.tooLarge) }))
          expect(large._tag).toBe("WalEntryTooLargeError")
          expect(yield* wal.append(event(1))).toBe(1)
          return wal
        }))
        expect((yield* Effect.flip(wal.append(event(2))))._tag).toBe("WalClosedError")
      }))

    test("fencing: two writers on one log never both keep acknowledging; the log stays contiguous", (log) =>
      Effect.gen(function*() {
        const first = yield* backend.open(log)
        yield* first.append(event(1))
        const second = yield* Effect.either(backend.open(log))
        if (second._tag === "Left") {
          // The file WAL keeps the second writer out at open.
          expect(second.left._tag).toBe("WalLockedError")
          expect(yield* first.append(event(2))).toBe(2)
          return
        }
        // The JetStream WAL lets it open; the first to publish wins, the other is fenced for good.
        expect(yield* second.right.append(event(2))).toBe(2)
        const stale = yield* Effect.flip(first.append(event(3)))
        expect(stale._tag).toBe("WalPoisonedError")
        expect((yield* Effect.flip(first.append(event(3))))._tag).toBe("WalPoisonedError")
        expect(yield* second.right.append(event(3))).toBe(3)
        expect(seqs(yield* collect(second.right.replay()))).toEqual([1, 2, 3])
      }))
  })
