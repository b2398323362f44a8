/**
 * W1: 2,000 appends of 256 B, one at a time, each durable (strict: written and fsynced) before the
 * next. Figures are appends per second. Run it with `TMPDIR=/dev/shm` to measure on tmpfs, where
 * the fsync costs nothing and CPU is what counts.
 *
 * `--warmup` runs (1 by default) of every system are made and dropped before the recorded ones: in
 * a fresh process the first thousands of appends of a system run its code before the JIT has
 * compiled it, which costs the WAL (the most JavaScript per append) far more than raw `fs` calls
 * or better-sqlite3's native code. In a full run without it (ext4, 2026-12-06) the WAL's first run
 * was 0.81x of raw and its later ones 0.98-1.13x, while better-sqlite3 stayed at 0.88-1.04x.
 *
 *   npx tsx bench/w1-durable-one-at-a-time.ts [--runs 5] [--warmup 1] [--count 2000]
 */
import { Effect } from "effect"
import * as NFS from "node:fs"
import * as Path from "node:path"
import * as Durability from "../src/Durability.js"
import * as Wal from "../src/Wal.js"
import { FloorWriter } from "./lib/floor.js"
import { argument, makeTempDir, payloads, RawLog, removeDir, Report } from "./lib/harness.js"
import { levelKey, loadLevel, loadSqlite, openSqlite } from "./lib/peers.js"
import { layers, rotate, runWith, type WalSystem } from "./lib/systems.js"

const RUNS = argument("runs", 5)
const WARMUP_RUNS = argument("warmup", 1)
const COUNT = argument("count", 2000)
const data = payloads(256)

/** Space allocated ahead by `raw-allocated`: the WAL's own step. */
const ALLOCATE_AHEAD = 1024 * 1024

const raw = (dir: string, allocateAhead = 0): number => {
  const log = new RawLog(Path.join(dir, allocateAhead > 0 ? "raw-allocated.log" : "raw.log"), allocateAhead)
  const started = performance.now()
  for (let i = 0; i < COUNT; i++) {
    log.frame([data[i & 63]!], Date.now())
    log.flush()
    log.sync()
  }
  const elapsed = performance.now() - started
  log.close()
  return (COUNT / elapsed) * 1000
}

/** The same writes through the callback API (one threadpool round trip per write and per fdatasync). */
const rawCallback = async (dir: string): Promise<number> => {
  const log = new RawLog(Path.join(dir, "raw-cb.log"))
  const started = performance.now()
  for (let i = 0; i < COUNT; i++) {
    log.frame([data[i & 63]!], Date.now())
    const bytes = log.encoder.bytes()
    await new Promise<void>((resolve, reject) => NFS.write(log.fd, bytes, 0, bytes.length, null, (e) => (e ? reject(e) : resolve())))
    log.encoder.reset()
    await new Promise<void>((resolve, reject) => NFS.fdatasync(log.fd, (e) => (e ? reject(e) : resolve())))
  }
  const elapsed = performance.now() - started
  log.close()
  return (COUNT / elapsed) * 1000
}

/** The same writes through `fs.promises` FileHandle. */
const rawPromises = async (dir: string): Promise<number> => {
  const log = new RawLog(Path.join(dir, "raw-p.log"))
  log.close()
  const handle = await NFS.promises.open(log.path, "r+")
  let position = log.written
  const started = performance.now()
  for (let i = 0; i < COUNT; i++) {
    log.frame([data[i & 63]!], Date.now())
    const bytes = log.encoder.bytes()
    await handle.write(bytes, 0, bytes.length, position)
    position += bytes.length
    log.encoder.reset()
    await handle.datasync()
  }
  const elapsed = performance.now() - started
  await handle.close()
  return (COUNT / elapsed) * 1000
}

const wal = (system: WalSystem, dir: string): Promise<number> =>
  runWith(
    layers[system],
    Effect.gen(function*() {
      const log = yield* Wal.make({ directory: Path.join(dir, system), durability: Durability.strict })
      const started = performance.now()
      for (let i = 0; i < COUNT; i++) yield* log.append(data[i & 63]!)
      return (COUNT / (performance.now() - started)) * 1000
    })
  )

/** The Effect floor (lib/floor.ts): the WAL's loop of awaited appends against a trivial writer. */
const floor = (dir: string): Promise<number> => {
  const writer = new FloorWriter(Path.join(dir, "floor.log"))
  return Effect.runPromise(Effect.gen(function*() {
    const started = performance.now()
    for (let i = 0; i < COUNT; i++) yield* writer.append(data[i & 63]!)
    return (COUNT / (performance.now() - started)) * 1000
  })).finally(() => writer.close())
}

const main = async () => {
  const Sqlite = await loadSqlite()
  const Level = await loadLevel()
  const report = new Report("W1", `${COUNT.toLocaleString("en-US")} appends of 256 B, one at a time, each durable before the next`, "appends/s", true)
  type System = "raw" | "raw-allocated" | "raw-callback" | "raw-promises" | "effect-floor" | WalSystem | "better-sqlite3" | "classic-level"
  const systems: Array<System> = ["raw", "wal-fast", "wal-node", "effect-floor", "raw-allocated", "raw-callback", "raw-promises"]
  if (Sqlite) systems.push("better-sqlite3")
  if (Level) systems.push("classic-level")
  for (let run = 0; run < WARMUP_RUNS + RUNS; run++) {
    const dir = makeTempDir("w1")
    const figures: Record<string, number> = {}
    try {
      for (const system of rotate(systems, run)) {
        switch (system) {
          case "raw":
            figures[system] = raw(dir)
            break
          case "raw-allocated":
            figures[system] = raw(dir, ALLOCATE_AHEAD)
            break
          case "effect-floor":
            figures[system] = await floor(dir)
            break
          case "raw-callback":
            figures[system] = await rawCallback(dir)
            break
          case "raw-promises":
            figures[system] = await rawPromises(dir)
            break
          case "wal-fast":
          case "wal-node":
            figures[system] = await wal(system, dir)
            break
          case "better-sqlite3": {
            const { db, insert } = openSqlite(Sqlite!, Path.join(dir, "sqlite.db"), true)
            const started = performance.now()
            for (let i = 0; i < COUNT; i++) insert.run(i + 1, data[i & 63])
            figures[system] = (COUNT / (performance.now() - started)) * 1000
            db.close()
            break
          }
          case "classic-level": {
            const db = new Level!(Path.join(dir, "level"), { keyEncoding: "view", valueEncoding: "view" })
            await db.open()
            const started = performance.now()
            for (let i = 0; i < COUNT; i++) await db.put(levelKey(i + 1), data[i & 63]!, { sync: true })
            figures[system] = (COUNT / (performance.now() - started)) * 1000
            await db.close()
            break
          }
        }
      }
    } finally {
      removeDir(dir)
    }
    if (run < WARMUP_RUNS) continue
    report.run(Object.fromEntries(systems.map((s) => [s, figures[s]!])))
  }
  report.note(`${WARMUP_RUNS} warm-up run(s) of every system before the recorded ones.`)
  report.note("raw: the WAL's frames (CRC-32C) written with fs.writeSync + fs.fdatasyncSync per append, the file growing with each write (the issue's limit). raw-allocated: the same in a file extended 1 MiB ahead (ftruncate), as the WAL does: the limit of the WAL's own design. raw-callback / raw-promises: the same through fs.write + fs.fdatasync callbacks / a FileHandle (threadpool round trips).")
  report.note("effect-floor: the same loop of awaited appends in Effect against a trivial writer (bench/lib/floor.ts: one Buffer copy, writeSync + fdatasyncSync per batch, no checksum): the least an Effect WAL of this design costs.")
  report.note("wal-fast: Wal.make under NodeFastFileSystem.layer (sync calls on open files); wal-node: under NodeContext.layer. better-sqlite3: WAL journal, synchronous=FULL, one INSERT (one transaction) per append. classic-level: put with sync: true.")
  report.print()
}

await main()
