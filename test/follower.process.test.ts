import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { ChildProcess } from "node:child_process"
import * as NodeFs from "node:fs"
import * as Path from "node:path"
import { segmentFiles, tempDir } from "./helpers.js"
import { compiled, startNode } from "./processes.js"

const TOTAL = 500

/** Starts a fixture, compiled, on the build with plain node (see processes.ts). */
const start = (fixture: string, args: ReadonlyArray<string>) =>
  startNode(compiled(`test/fixtures/${fixture}`), args)

const exited = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode })
    else child.once("exit", (code, signal) => resolve({ code, signal }))
  })

interface Round {
  readonly from: number
  readonly chunks: number
  readonly killed: boolean
  readonly done: { lastSequence: number; recovery: { tornTail: string } } | undefined
}

/**
 * One round: a follower process recovers the replica and says where to resume; a leader process,
 * started at the same time, is told that sequence and streams from there into the follower's stdin
 * through a pipe. With `killAt`, both are killed with SIGKILL once the follower has received the
 * chunk holding that sequence (a sequence, not a count of chunks: how many chunks the leader
 * sends depends on how far its appends ran ahead of the stream).
 */
const round = (leaderDir: string, replicaDir: string, killAt: number | undefined) =>
  Effect.promise(async (): Promise<Round> => {
    const follower = start("follower.ts", [replicaDir])
    const leader = start("leader.ts", [leaderDir, String(TOTAL)])
    let from = 0
    let chunks = 0
    let received = 0
    let killed = false
    let done: Round["done"]
    let stderr = ""
    let buffered = ""
    const started = new Promise<void>((resolve) => {
      follower.stdout!.on("data", (data: Buffer) => {
        buffered += data.toString("utf8")
        const lines = buffered.split("\n")
        buffered = lines.pop()!
        for (const line of lines) {
          const [tag, value] = [line.slice(0, line.indexOf(" ")), line.slice(line.indexOf(" ") + 1)]
          if (tag === "from") {
            from = Number(value)
            resolve()
          } else if (tag === "chunk") {
            chunks++
            if (value !== "header") received = Number(value)
          } else if (tag === "done") done = JSON.parse(value)
        }
        if (killAt !== undefined && !killed && received >= killAt) {
          killed = true
          follower.kill("SIGKILL")
          leader.kill("SIGKILL")
        }
      })
    })
    follower.stderr!.on("data", (data: Buffer) => (stderr += data.toString("utf8")))
    await started
    leader.stdin!.write(`${from}\n`)
    leader.stderr!.on("data", (data: Buffer) => (stderr += data.toString("utf8")))
    // The pipe: the leader's stdout feeds the follower's stdin.
    leader.stdout!.pipe(follower.stdin!)
    follower.stdin!.on("error", () => undefined)
    const [followerExit, leaderExit] = await Promise.all([exited(follower), exited(leader)])
    if (killed) {
      expect(followerExit.signal).toBe("SIGKILL")
    } else {
      expect({ followerExit, leaderExit, stderr }).toMatchObject({ followerExit: { code: 0 }, leaderExit: { code: 0 } })
    }
    return { from, chunks, killed, done }
  })

const read = (dir: string, name: string) => NodeFs.readFileSync(Path.join(dir, name))

describe("replication across processes", () => {
  it.scopedLive("a follower process killed with SIGKILL mid-stream resumes, and the replica ends byte-identical", () =>
    Effect.gen(function*() {
      const leaderDir = yield* tempDir
      const replicaDir = yield* tempDir
      const started = Date.now()
      const rounds: Array<Round> = []
      for (const killAt of [150, 350]) {
        const result = yield* round(leaderDir, replicaDir, killAt)
        expect(result.killed).toBe(true)
        rounds.push(result)
        // After every crash the replica is a prefix of the leader's segments.
        const names = segmentFiles(replicaDir)
        expect(segmentFiles(leaderDir).slice(0, names.length)).toEqual(names)
        for (const name of names) {
          const bytes = read(replicaDir, name)
          expect(read(leaderDir, name).subarray(0, bytes.length).equals(bytes), name).toBe(true)
        }
      }
      const last = yield* round(leaderDir, replicaDir, undefined)
      rounds.push(last)
      expect(last.done?.lastSequence).toBeGreaterThanOrEqual(TOTAL)
      // Every round resumed where the previous one left the replica.
      expect(rounds.map((r) => r.from).every((from, i, all) => i === 0 || from >= all[i - 1]!)).toBe(true)
      expect(rounds[0]!.from).toBe(1)
      expect(rounds.at(-1)!.from).toBeGreaterThan(1)
      const names = segmentFiles(leaderDir)
      expect(names.length).toBeGreaterThan(10)
      expect(segmentFiles(replicaDir)).toEqual(names)
      for (const name of names) expect(read(replicaDir, name).equals(read(leaderDir, name)), name).toBe(true)
      console.log(
        `replication process test: ${rounds.length} rounds (resumed from ${rounds.map((r) => r.from).join(", ")}), ` +
          `${names.length} segments identical, ${Date.now() - started} ms`
      )
    }), 60_000)
})
