/**
 * Crash recovery: kill a writer with SIGKILL and check that every acknowledged entry survived.
 *
 * Shows: the parent spawns this same file as a child process, with the parent's node flags (under
 * tsx: `process.execPath --import tsx examples/crash-recovery.ts child <directory>`). The child appends from eight fibers and prints
 * `ack <seq> <payload>` only after `append` / `appendAll` returned, i.e. after the entry was
 * fsynced (`Durability.strict`, the default). After 200 acknowledgements the parent kills it with
 * SIGKILL, at whatever point it happens to be: inside a write, between a write and its fsync, or
 * with appends waiting in the queue. The parent then reopens the log and prints what recovery did
 * (the dead child's lock taken over, any torn tail cut) and checks that every acknowledged entry is
 * there with the payload that was acknowledged. Entries the child wrote but had not acknowledged
 * yet may or may not be there: their appends never returned, so nobody was promised anything.
 * Finally it simulates what a power cut can leave at the end of the file (part of an unsynced
 * write: bytes that do not form a valid frame) and shows recovery cutting that torn tail.
 *
 * Directory: a fresh temporary directory, removed at the end.
 *
 *   npx tsx examples/crash-recovery.ts
 */
import { NodeContext } from "@effect/platform-node"
import { Effect, Option, Schema, Stream } from "effect"
import { spawn } from "node:child_process"
import * as NodeFs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { Wal } from "../src/index.js" // in an application: from "effect-wal"

const KILL_AFTER = 200
const self = fileURLToPath(import.meta.url)
const root = Path.resolve(Path.dirname(self), "..")

// ---- The child: appends forever and prints every acknowledgement ----------------------------

const child = (directory: string) =>
  Effect.gen(function*() {
    const wal = yield* Wal.make({ directory, schema: Schema.String, segmentBytes: 16 * 1024 })
    const ack = (seq: number, payload: string) => process.stdout.write(`ack ${seq} ${payload}\n`)
    yield* Effect.forEach(
      [0, 1, 2, 3, 4, 5, 6, 7],
      (worker) =>
        Effect.iterate(0, {
          while: () => true,
          body: (n) => {
            const text = `worker${worker}-n${n}`
            return n % 4 === 0
              ? Effect.map(wal.appendAll([`${text}-a`, `${text}-b`]), ([a, b]) => {
                ack(a!, `${text}-a`)
                ack(b!, `${text}-b`)
                return n + 1
              })
              : Effect.map(wal.append(text), (seq) => {
                ack(seq, text)
                return n + 1
              })
          }
        }),
      { concurrency: "unbounded", discard: true }
    )
  }).pipe(Effect.scoped)

// ---- The parent: runs the child, kills it, recovers ------------------------------------------

/** Runs the child until it has acknowledged `KILL_AFTER` entries, then SIGKILLs it. */
const runAndKill = (directory: string) =>
  Effect.async<{ acks: Map<number, string>; pid: number }, Error>((resume) => {
    const proc = spawn(process.execPath, [...process.execArgv, self, "child", directory], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"]
    })
    const acks = new Map<number, string>()
    let pending = ""
    let stderr = ""
    let killed = false
    const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000)
    proc.stdout.on("data", (data: Buffer) => {
      pending += data.toString("utf8")
      const lines = pending.split("\n")
      pending = lines.pop()!
      for (const line of lines) {
        const [tag, seq, payload] = line.split(" ")
        if (tag === "ack") acks.set(Number(seq), payload!)
      }
      if (!killed && acks.size >= KILL_AFTER) {
        killed = true
        proc.kill("SIGKILL")
      }
    })
    proc.stderr.on("data", (data: Buffer) => {
      stderr += data.toString("utf8")
    })
    proc.on("exit", (code, signal) => {
      clearTimeout(timer)
      if (killed && signal === "SIGKILL") resume(Effect.succeed({ acks, pid: proc.pid! }))
      else resume(Effect.fail(new Error(`the child exited with ${code ?? signal} before it was killed: ${stderr}`)))
    })
    return Effect.sync(() => proc.kill("SIGKILL"))
  })

const describeTorn = (report: Wal.RecoveryReport) =>
  Option.match(report.tornTail, {
    onNone: () => "none",
    onSome: (torn) =>
      `cut ${torn.bytes} bytes (${torn.entries} entries of an unfinished batch) at offset ${torn.offset} ` +
      `of ${Path.basename(torn.file)}: ${torn.reason}`
  })

const parent = Effect.gen(function*() {
  const directory = yield* Effect.acquireRelease(
    Effect.sync(() => NodeFs.mkdtempSync(Path.join(Os.tmpdir(), "effect-wal-crash-"))),
    (directory) => Effect.sync(() => NodeFs.rmSync(directory, { recursive: true, force: true }))
  )

  const { acks, pid } = yield* runAndKill(directory)
  console.log(`child (pid ${pid}) acknowledged ${acks.size} entries, then was killed with SIGKILL`)

  const { entries, report } = yield* Effect.scoped(Effect.gen(function*() {
    const wal = yield* Wal.make({ directory, schema: Schema.String })
    const entries = yield* Stream.runCollect(wal.replay())
    return { entries: [...entries], report: wal.recovery }
  }))
  console.log(`recovery: lockTakenOver=${Option.getOrElse(report.lockTakenOver, () => "no")}`)
  console.log(`recovery: tornTail=${describeTorn(report)}`)
  console.log(`recovery: segments=${report.segments} lastSequence=${report.lastSequence} elapsed=${report.elapsedMillis} ms`)

  const bySeq = new Map(entries.map((entry) => [entry.seq, entry.payload]))
  const missing = [...acks].filter(([seq, payload]) => bySeq.get(seq) !== payload)
  const gapFree = entries.every((entry, i) => entry.seq === i + 1)
  console.log(
    `log holds ${entries.length} entries (gap-free from 1: ${gapFree}); ` +
      `${entries.length - acks.size} of them were written but not yet acknowledged when the child died`
  )
  console.log(`every acknowledged entry recovered: ${missing.length === 0 && gapFree}`)
  if (missing.length > 0 || !gapFree) return yield* Effect.fail(new Error(`lost acknowledged entries: ${JSON.stringify(missing)}`))

  // What a power cut can leave behind: part of an unsynced write, which is no valid frame.
  const active = Path.join(directory, NodeFs.readdirSync(directory).filter((name) => name.endsWith(".wal")).sort().at(-1)!)
  NodeFs.appendFileSync(active, new Uint8Array(100).fill(0xa5))
  const afterPowerCut = yield* Effect.scoped(Effect.map(Wal.make({ directory, schema: Schema.String }), (wal) => wal.recovery))
  console.log(`after 100 bytes of a torn write at the end of the active segment: tornTail=${describeTorn(afterPowerCut)}`)
  console.log(`entries after the cut: ${afterPowerCut.lastSequence} (nothing acknowledged was lost)`)
})

const program = process.argv[2] === "child" ? child(process.argv[3]!) : Effect.scoped(parent)

program.pipe(Effect.provide(NodeContext.layer), Effect.runPromise).catch((error) => {
  console.error(error)
  process.exit(1)
})
