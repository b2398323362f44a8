import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { Wal } from "../src/index.js"
import { processCrashRounds as ROUNDS } from "./crash/scale.js"
import { collect, tempDir } from "./helpers.js"
import { compiled, startNode } from "./processes.js"

/** The appender, compiled, run on the build with plain node (see processes.ts). */
const fixture = compiled("test/fixtures/appender.ts")

/** Runs the appender until it has acknowledged `kill` more entries, kills it, and returns the acks seen. */
const runAndKill = (directory: string, generation: number, kill: number) =>
  Effect.async<Map<number, string>, Error>((resume) => {
    const child = startNode(fixture, [directory, String(generation)])
    const acks = new Map<number, string>()
    let buffered = ""
    let stderr = ""
    let killed = false
    child.stdout.on("data", (data: Buffer) => {
      buffered += data.toString("utf8")
      const lines = buffered.split("\n")
      buffered = lines.pop()!
      for (const line of lines) {
        const [tag, seq, payload] = line.split(" ")
        if (tag === "ack") acks.set(Number(seq), payload!)
      }
      if (!killed && acks.size >= kill) {
        killed = true
        child.kill("SIGKILL")
      }
    })
    child.stderr.on("data", (data: Buffer) => {
      stderr += data.toString("utf8")
    })
    child.on("exit", (code, signal) => {
      if (signal === "SIGKILL") resume(Effect.succeed(acks))
      else resume(Effect.fail(new Error(`appender exited with ${code}: ${stderr}`)))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

describe("crash of a real process", () => {
  it.scopedLive(`every acknowledged entry survives SIGKILL, ${ROUNDS} rounds of crash, recover, append`, () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      const acknowledged = new Map<number, string>()
      let takeovers = 0
      for (let round = 0; round < ROUNDS; round++) {
        const acks = yield* runAndKill(directory, round, 20 + ((round * 97) % 400))
        for (const [seq, payload] of acks) acknowledged.set(seq, payload)
        const { entries, recovery } = yield* Effect.scoped(Effect.gen(function*() {
          const wal = yield* Wal.make({ directory })
          return { entries: yield* collect(wal.replay()), recovery: wal.recovery }
        })).pipe(Effect.provide(NodeContext.layer))
        if (Option.isSome(recovery.lockTakenOver)) takeovers++
        // A gap-free prefix from 1.
        expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: entries.length }, (_, i) => i + 1))
        const decoder = new TextDecoder()
        const bySeq = new Map(entries.map((e) => [e.seq, decoder.decode(e.payload)]))
        for (const [seq, payload] of acknowledged) expect(bySeq.get(seq)).toBe(payload)
      }
      // Every round killed a writer holding the lock, so every reopen took a stale lock over.
      expect(takeovers).toBe(ROUNDS)
      console.log(`crash test: ${ROUNDS} SIGKILLs, ${acknowledged.size} acknowledged entries checked`)
    }), 120_000)
})
