/**
 * The dedicated worker the browser tests drive (bundled by test/browser/harness.ts): it imports
 * the library only through its browser entry, runs the FileSystem contract cases on OPFS, and
 * opens, appends to and replays WALs on request. Requests arrive as `{ id, request }` messages;
 * each gets one `{ id, result }` or `{ id, error }` reply. Appends also post `{ acked: seq }` as
 * each append is acknowledged, before anything else happens in the worker.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import { Cause, Effect, Exit, Option, Scope, Stream } from "effect"
import { Durability, OpfsFileSystem, Wal } from "../../src/browser.js"
import { contractCases, type Matchers, runCase } from "../fileSystemCases.js"
import { deepEqual, show } from "./equal.js"

/** What the page can ask. */
export type Request =
  | { readonly op: "cases" }
  | { readonly op: "contract"; readonly title: string }
  | { readonly op: "append"; readonly directory: string; readonly count: number; readonly bytes: number; readonly concurrency: number }
  | { readonly op: "replay"; readonly directory: string }
  | { readonly op: "hold"; readonly directory: string }
  | { readonly op: "release" }
  | { readonly op: "fill"; readonly directory: string; readonly bytes: number }
  | { readonly op: "clear" }

const expect = (actual: unknown): Matchers => ({
  toBe: (expected) => {
    if (!Object.is(actual, expected)) throw new Error(`expected ${show(expected)}, got ${show(actual)}`)
  },
  toEqual: (expected) => {
    if (!deepEqual(actual, expected)) throw new Error(`expected ${show(expected)}, got ${show(actual)}`)
  }
})

const post = (message: unknown): void => (globalThis as unknown as { postMessage: (m: unknown) => void }).postMessage(message)

/** A payload of `bytes` bytes whose first 4 bytes name it. */
const payload = (n: number, bytes: number): Uint8Array => {
  const data = new Uint8Array(bytes)
  new DataView(data.buffer).setUint32(0, n)
  return data
}

/** The scope of the WAL a `hold` request keeps open. */
let held: Scope.CloseableScope | undefined

const handle = (request: Request): Effect.Effect<unknown, unknown, FileSystem.FileSystem | Path.Path> => {
  switch (request.op) {
    case "cases":
      return Effect.succeed(contractCases.filter((c) => c.requires === "portable").map((c) => c.title))
    case "contract": {
      const contractCase = contractCases.find((c) => c.title === request.title)
      return contractCase === undefined ? Effect.fail(`no case ${request.title}`) : runCase(contractCase, expect)
    }
    case "append":
      return Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory: request.directory, durability: Durability.strict, segmentBytes: 256 * 1024 })
        let next = 0
        const appender = Effect.gen(function*() {
          while (next < request.count) {
            const seq = yield* wal.append(payload(next++, request.bytes))
            post({ acked: seq })
          }
        })
        yield* Effect.all(Array.from({ length: request.concurrency }, () => appender), { concurrency: "unbounded" })
        return yield* wal.lastSequence
      }))
    case "replay":
      return Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory: request.directory })
        const seqs = yield* wal.replay({ from: 1 }).pipe(Stream.map((entry) => entry.seq), Stream.runCollect)
        const all = [...seqs]
        return {
          count: all.length,
          first: all[0] ?? 0,
          last: all[all.length - 1] ?? 0,
          contiguous: all.every((seq, index) => seq === index + 1),
          tornTail: Option.isSome(wal.recovery.tornTail)
        }
      }))
    case "hold":
      return Effect.gen(function*() {
        const scope = yield* Scope.make()
        const wal = yield* Wal.make({ directory: request.directory }).pipe(
          Scope.extend(scope),
          Effect.onError(() => Scope.close(scope, Exit.void))
        )
        held = scope
        return yield* wal.lastSequence
      })
    case "release":
      return Effect.suspend(() => held === undefined ? Effect.void : Scope.close(held, Exit.void)).pipe(
        Effect.tap(() => {
          held = undefined
        })
      )
    case "fill":
      return Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory: request.directory, segmentBytes: 1024 * 1024 })
        let acknowledged = 0
        const error = yield* Effect.flip(Effect.forever(Effect.tap(wal.append(payload(acknowledged + 1, request.bytes)), (seq) => {
          acknowledged = seq
        })))
        return { acknowledged, error: { tag: error._tag, code: "code" in error ? error.code : undefined, quota: OpfsFileSystem.isQuotaExceeded(error) } }
      }))
    case "clear":
      return Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        for (const name of yield* fs.readDirectory("/")) yield* fs.remove(`/${name}`, { recursive: true })
      })
  }
}

const worker = globalThis as unknown as {
  onmessage: (event: { readonly data: { readonly id: number; readonly request: Request } }) => void
}

worker.onmessage = (event) => {
  const { id, request } = event.data
  void Effect.runPromiseExit(handle(request).pipe(Effect.provide(OpfsFileSystem.layer))).then((exit) => {
    if (Exit.isSuccess(exit)) post({ id, result: exit.value ?? null })
    else post({ id, error: Cause.pretty(exit.cause) })
  })
}
