/**
 * W2: 20,000 appends of 256 B from 64 concurrent fibers, strict: concurrent appends share one
 * write and one fsync (group commit). Figures are appends per second.
 *
 * The raw limit replays the batch sizes the WAL formed in the same run (one write + fdatasync per
 * batch); better-sqlite3 commits the same batches as transactions (synchronous=FULL); classic-level
 * gets 64 concurrent `put(..., { sync: true })` loops, where LevelDB forms its own group commits.
 * `wal-fast, 8 tails` runs the same appends with 8 `tail` consumers following the log (goal: at
 * least 0.9x of the WAL alone). `effect-floor` is the same producer shape against the trivial writer of lib/floor.ts;
 * `effect-floor, 8 tails` adds 8 followers that get each batch's entries, holding the producers'
 * own payloads, and `..., written bytes` the same with payloads that are views of the bytes the
 * floor wrote (lib/floor.ts `FollowerPayloads`). The WAL with 8 tails and that last floor run back
 * to back in every run, in alternating order, so that the ratio between them is taken between
 * neighbours rather than across the rotation of the other systems. After each recorded run the
 * WAL without tails and the floor without followers run `--pairs` times back to back, in
 * alternating order, for the same reason.
 *
 * `--shape per-append` replaces the 64 long-lived fibers by a fiber per append, as the request
 * fibers of a server: rounds of 64 appends forked together (`Effect.forEach`, unbounded), each round
 * awaited before the next. Run it with `TMPDIR=/dev/shm` to measure on tmpfs.
 *
 * With tails or followers, a run ends once every one of them has received every entry. The WAL runs
 * first in every run (the raw limit and better-sqlite3 replay its batch sizes), so in a fresh
 * process it alone would pay the warm-up: `--warmup` runs (1 by default) are made and dropped.
 *
 *   npx tsx bench/w2-group-commit.ts [--runs 5] [--warmup 1] [--pairs 3] [--count 20000] [--fibers 64] [--shape long-lived|per-append]
 */
import { Effect, Fiber, Stream } from "effect"
import * as NFS from "node:fs"
import * as Path from "node:path"
import * as Durability from "../src/Durability.js"
import { FRAME_HEADER_SIZE } from "../src/internal/format/constants.js"
import * as Wal from "../src/Wal.js"
import { FloorWriter, type FollowerPayloads } from "./lib/floor.js"
import { argument, backToBack, fmt, makeTempDir, median, payloads, RawLog, removeDir, Report, spread } from "./lib/harness.js"
import { levelKey, loadLevel, loadSqlite, openSqlite } from "./lib/peers.js"
import { layers, recordingBatches, rotate, runWith, type WalSystem } from "./lib/systems.js"

const RUNS = argument("runs", 5)
const WARMUP_RUNS = argument("warmup", 1)
const PAIRS = argument("pairs", 3)
const COUNT = argument("count", 20_000)
const FIBERS = argument("fibers", 64)
const SIZE = 256
const data = payloads(SIZE)
const FRAME = FRAME_HEADER_SIZE + SIZE
const PER_APPEND = process.argv.includes("per-append")
/** One step of a run: the WAL with 8 tails and the floor with 8 followers of the written bytes, back to back. */
const TAILS_PAIR = "wal-fast, 8 tails, then the floor (or the reverse)"

/** The producers of one run: 64 long-lived fibers, or rounds of a fiber per append. */
const produce = <E>(append: (payload: Uint8Array) => Effect.Effect<unknown, E>): Effect.Effect<void, E> => {
  if (PER_APPEND) {
    return Effect.gen(function*() {
      for (let first = 0; first < COUNT; first += FIBERS) {
        yield* Effect.forEach(
          Array.from({ length: Math.min(FIBERS, COUNT - first) }, (_, k) => first + k),
          (i) => append(data[i & 63]!),
          { concurrency: "unbounded", discard: true }
        )
      }
    })
  }
  const perFiber = Math.ceil(COUNT / FIBERS)
  return Effect.forEach(
    Array.from({ length: FIBERS }, (_, f) => f),
    (f) =>
      Effect.gen(function*() {
        for (let i = f * perFiber; i < Math.min(COUNT, (f + 1) * perFiber); i++) yield* append(data[i & 63]!)
      }),
    { concurrency: "unbounded", discard: true }
  )
}

/**
 * Resolves `all` once `tails` consumers have received every entry of a run between them (at once
 * without consumers). Rejects when they received more, or not all within a minute (a consumer
 * that died or fell behind for good).
 */
const everyEntry = (tails: number) => {
  let resolve!: () => void
  let reject!: (error: Error) => void
  const all = new Promise<void>((done, fail) => {
    resolve = done
    reject = fail
  })
  const expected = COUNT * tails
  const timer = setTimeout(() => reject(new Error(`the consumers did not receive all ${expected} entries within a minute`)), 60_000)
  timer.unref()
  const settle = () => {
    clearTimeout(timer)
    resolve()
  }
  if (tails === 0) settle()
  return {
    all,
    received: (count: number) => {
      if (count > expected) reject(new Error(`the consumers received ${count} entries of ${expected}`))
      else if (count === expected) settle()
    }
  }
}

/** The Effect floor (lib/floor.ts) under the same producers, with `tails` followers counting entries. */
const floor = async (dir: string, tails = 0, followerPayloads: FollowerPayloads = "caller"): Promise<number> => {
  const writer = new FloorWriter(Path.join(dir, "floor.log"), followerPayloads)
  let followed = 0
  const delivered = everyEntry(tails)
  const followers = Array.from({ length: tails }, () =>
    Effect.runFork(writer.follow().pipe(Stream.runForEachChunk((chunk) =>
      Effect.sync(() => {
        followed += chunk.length
        delivered.received(followed)
      })
    ))))
  const started = performance.now()
  try {
    await Effect.runPromise(produce(writer.append))
    await delivered.all
    return (COUNT / (performance.now() - started)) * 1000
  } finally {
    await Effect.runPromise(Effect.forEach(followers, Fiber.interrupt, { discard: true }))
    writer.close()
  }
}

/** Runs the WAL; returns appends/s and the batch sizes (entries per fsync) it formed. */
const wal = async (system: WalSystem, dir: string, tails = 0): Promise<{ rate: number; batches: Array<number> }> => {
  const bytes: Array<number> = []
  const rate = await runWith(
    recordingBatches(layers[system], bytes),
    Effect.gen(function*() {
      const log = yield* Wal.make({ directory: Path.join(dir, `${system}-${tails}`), durability: Durability.strict })
      // Tails that consume every entry while the producers append (a counter per chunk).
      let tailed = 0
      const delivered = everyEntry(tails)
      yield* Effect.forEach(Array.from({ length: tails }), () =>
        log.tail().pipe(
          Stream.runForEachChunk((chunk) =>
            Effect.sync(() => {
              tailed += chunk.length
              delivered.received(tailed)
            })
          ),
          Effect.forkScoped
        ))
      bytes.length = 0
      const started = performance.now()
      yield* produce(log.append)
      yield* Effect.promise(() => delivered.all)
      return (COUNT / (performance.now() - started)) * 1000
    })
  )
  return { rate, batches: bytes.map((b) => Math.round(b / FRAME)).filter((n) => n > 0) }
}

/** Space allocated ahead by `raw-allocated`: the WAL's own step. */
const ALLOCATE_AHEAD = 1024 * 1024

const raw = (dir: string, batches: ReadonlyArray<number>, allocateAhead = 0): number => {
  const log = new RawLog(Path.join(dir, allocateAhead > 0 ? "raw-allocated.log" : "raw.log"), allocateAhead)
  let i = 0
  const started = performance.now()
  for (const size of batches) {
    const batch: Array<Uint8Array> = []
    for (let k = 0; k < size; k++) batch.push(data[i++ & 63]!)
    log.frame(batch, Date.now())
    log.flush()
    log.sync()
  }
  const elapsed = performance.now() - started
  log.close()
  return (i / elapsed) * 1000
}

const main = async () => {
  const Sqlite = await loadSqlite()
  const Level = await loadLevel()
  const report = new Report(
    PER_APPEND ? "W2-per-append" : "W2",
    PER_APPEND
      ? `${COUNT.toLocaleString("en-US")} appends of 256 B, a fiber per append in rounds of ${FIBERS}, strict (group commit)`
      : `${COUNT.toLocaleString("en-US")} appends of 256 B from ${FIBERS} concurrent fibers, strict (group commit)`,
    "appends/s",
    true
  )
  const mainSystem: WalSystem = "wal-fast"
  const peers: Array<string> = []
  if (Sqlite) peers.push("better-sqlite3")
  if (Level) peers.push("classic-level")
  const others = ["wal-fast, 8 tails", "wal-node", "effect-floor", "effect-floor, 8 tails", "effect-floor, 8 tails, written bytes", "raw-allocated", ...peers]
  // The WAL with 8 tails and the floor whose followers get the written bytes are one step of the
  // rotation, run back to back in alternating order: their ratio is taken between neighbours.
  const steps = ["raw", TAILS_PAIR, "wal-node", "effect-floor", "effect-floor, 8 tails", "raw-allocated", ...peers]
  const batchMedians: Array<number> = []
  const tailRatios: Array<number> = []
  const tailFloorRatios: Array<number> = []
  const tailWrittenRatios: Array<number> = []
  const floorTailRatios: Array<number> = []
  /** The WAL against the floor run right before or after it, per pair. */
  const pairedFloor: Array<number> = []
  for (let run = 0; run < WARMUP_RUNS + RUNS; run++) {
    const dir = makeTempDir("w2")
    const figures: Record<string, number> = {}
    try {
      // The WAL first: the raw limit and the SQLite peer replay the batch sizes it formed.
      const measured = await wal(mainSystem, dir)
      figures[mainSystem] = measured.rate
      const batches = measured.batches
      for (const system of rotate(steps, run)) {
        switch (system) {
          case "raw":
            figures[system] = raw(dir, batches)
            break
          case "raw-allocated":
            figures[system] = raw(dir, batches, ALLOCATE_AHEAD)
            break
          case "wal-node":
            figures[system] = (await wal(system, dir)).rate
            break
          case TAILS_PAIR: {
            const walTails = async () => {
              figures["wal-fast, 8 tails"] = (await wal("wal-fast", dir, 8)).rate
            }
            const floorTails = async () => {
              figures["effect-floor, 8 tails, written bytes"] = await floor(dir, 8, "written")
            }
            for (const step of run % 2 === 0 ? [walTails, floorTails] : [floorTails, walTails]) await step()
            break
          }
          case "effect-floor":
            figures[system] = await floor(dir)
            break
          case "effect-floor, 8 tails":
            figures[system] = await floor(dir, 8)
            break
          case "better-sqlite3": {
            const { db, insertMany } = openSqlite(Sqlite!, Path.join(dir, "sqlite.db"), true)
            let seq = 1
            const started = performance.now()
            for (const size of batches) {
              const batch: Array<Uint8Array> = []
              for (let k = 0; k < size; k++) batch.push(data[(seq + k) & 63]!)
              insertMany(seq, batch)
              seq += size
            }
            figures[system] = ((seq - 1) / (performance.now() - started)) * 1000
            db.close()
            break
          }
          case "classic-level": {
            const db = new Level!(Path.join(dir, "level"), { keyEncoding: "view", valueEncoding: "view" })
            await db.open()
            const perFiber = Math.ceil(COUNT / FIBERS)
            const started = performance.now()
            // LevelDB forms its own group commits from concurrent callers, whatever the fibers' shape.
            await Promise.all(Array.from({ length: FIBERS }, async (_, f) => {
              for (let i = f * perFiber; i < Math.min(COUNT, (f + 1) * perFiber); i++) {
                await db.put(levelKey(i + 1), data[i & 63]!, { sync: true })
              }
            }))
            figures[system] = (COUNT / (performance.now() - started)) * 1000
            await db.close()
            break
          }
        }
      }
      for (let pair = 0; run >= WARMUP_RUNS && pair < PAIRS; pair++) {
        const pairDir = Path.join(dir, `pair-${pair}`)
        NFS.mkdirSync(pairDir)
        pairedFloor.push(await backToBack(pair, async () => (await wal(mainSystem, pairDir)).rate, () => floor(pairDir)))
      }
      if (run >= WARMUP_RUNS) batchMedians.push(median(batches))
    } finally {
      removeDir(dir)
    }
    if (run < WARMUP_RUNS) continue
    report.run(Object.fromEntries(["raw", mainSystem, ...others].map((s) => [s, figures[s]!])))
    tailRatios.push(figures["wal-fast, 8 tails"]! / figures[mainSystem]!)
    tailFloorRatios.push(figures["wal-fast, 8 tails"]! / figures["effect-floor, 8 tails"]!)
    tailWrittenRatios.push(figures["wal-fast, 8 tails"]! / figures["effect-floor, 8 tails, written bytes"]!)
    floorTailRatios.push(figures["effect-floor, 8 tails, written bytes"]! / figures["effect-floor"]!)
  }
  report.note(`Back to back, ${pairedFloor.length} pairs in alternating order: wal-fast ${spread(pairedFloor)}x of the Effect floor.`)
  report.note(`With 8 tails: wal-fast ${spread(tailRatios)}x of wal-fast without tails (goal >= 0.9x), ${spread(tailFloorRatios)}x of the Effect floor with 8 followers (each gets every batch as one chunk, entries holding the producers' own payloads), ${spread(tailWrittenRatios)}x of the floor whose followers get views of the bytes it wrote ("written bytes": what a tail fed from memory must deliver). That floor itself keeps ${spread(floorTailRatios)}x of its rate without followers.`)
  report.note(`The WAL (wal-fast) formed batches of median ${batchMedians.map(fmt).join(", ")} entries per fsync (per run); raw and better-sqlite3 replay exactly the batch sizes of the same run, so raw is one write + fdatasync per batch of those sizes; raw-allocated the same in a file extended 1 MiB ahead (ftruncate), as the WAL does.`)
  report.note("better-sqlite3: WAL journal, synchronous=FULL, one transaction per batch (a synchronous API has no concurrent callers to group). classic-level: 64 concurrent put(sync: true) loops.")
  report.note(`With tails or followers a run ends once each has received every entry. ${WARMUP_RUNS} warm-up run(s) of every system before the recorded ones (the WAL runs first in each run).`)
  report.print()
}

await main()
