/**
 * W3a: 1,000,000 appends of 100 B in `appendAll` batches of 1,000 under `Durability.none`, one
 * sync at the end. W3b: 100,000 appends of 4 KiB, same batches. W4: replay and verify the
 * 1,000,000 entries of W3a (raw payloads, `Codec.bytes`). Figures are entries per second.
 *
 * Before the recorded runs, `--warmup` runs of everything (1 by default) are made and dropped: the
 * first million or so entries a process replays through a Stream sink run at a third of the later
 * speed (V8 warm-up, and Effect's `Channel.fromEffect` closure that V8 allocates in the old
 * generation: bench/README.md, "What holds a sink's chunks"), whichever system comes first.
 *
 * After each recorded run's rotation, W3a's raw and WAL writes, and the WAL's replay and the
 * reading floor with each consumer, run `--pairs` times back to back, in alternating order.
 *
 *   npx tsx bench/w3-w4-bulk.ts [--runs 3] [--warmup 1] [--pairs 3] [--small 1000000] [--large 100000] [--batch 1000]
 */
import { type Chunk, Effect, Stream } from "effect"
import * as Path from "node:path"
import * as Durability from "../src/Durability.js"
import { DEFAULT_READ_BUFFER } from "../src/internal/read/segmentReader.js"
import * as Wal from "../src/Wal.js"
import { floorChunks, floorStream, freshFloorStream, readingFloorStream } from "./lib/floor.js"
import { argument, backToBack, makeTempDir, payloads, RAW_SEED, RawLog, rawVerify, removeDir, Report, spread } from "./lib/harness.js"
import { type LevelBatchOp, type LevelConstructor, levelKey, loadLevel, loadSqlite, openSqlite, type SqliteConstructor } from "./lib/peers.js"
import { layers, rotate, runWith, type WalSystem, walSystems } from "./lib/systems.js"

const RUNS = argument("runs", 3)
const WARMUP_RUNS = argument("warmup", 1)
const SMALL = argument("small", 1_000_000)
const LARGE = argument("large", 100_000)
const BATCH = argument("batch", 1000)
const PAIRS = argument("pairs", 3)

const batchesOf = (size: number, count: number): Array<Array<Uint8Array>> => {
  const data = payloads(size)
  const batches: Array<Array<Uint8Array>> = []
  for (let i = 0; i < count; i += BATCH) {
    batches.push(Array.from({ length: Math.min(BATCH, count - i) }, (_, k) => data[(i + k) & 63]!))
  }
  return batches
}

const rawWrite = (path: string, batches: ReadonlyArray<ReadonlyArray<Uint8Array>>): number => {
  const log = new RawLog(path)
  let count = 0
  const started = performance.now()
  for (const batch of batches) {
    log.frame(batch, Date.now())
    log.flush()
    count += batch.length
  }
  log.sync()
  const elapsed = performance.now() - started
  log.close()
  return (count / elapsed) * 1000
}

/**
 * A segment of 1 GiB, which holds all of W3a and W3b at their default sizes: the same WAL with no
 * segment rolled over during the run (a roll fsyncs the sealed segment, then creates and fsyncs the
 * next one and its directory), to show what the rolls of the default 64 MiB segments cost.
 */
const ONE_SEGMENT = 1024 * 1024 * 1024

const walWrite = (system: WalSystem, directory: string, batches: ReadonlyArray<ReadonlyArray<Uint8Array>>, segmentBytes?: number) =>
  runWith(
    layers[system],
    Effect.gen(function*() {
      const log = yield* Wal.make({ directory, durability: Durability.none, ...(segmentBytes === undefined ? {} : { segmentBytes }) })
      let count = 0
      const started = performance.now()
      for (const batch of batches) {
        yield* log.appendAll(batch)
        count += batch.length
      }
      yield* log.sync
      return (count / (performance.now() - started)) * 1000
    })
  )

/** An entry of the raw+entries reader: the shape of a WAL entry. */
class RawEntry {
  constructor(readonly seq: number, readonly timestamp: number, readonly kind: "data", readonly payload: Uint8Array) {}
}

/**
 * What a replay consumer does with the stream: a loop per chunk, the same letting go of the chunk
 * once it has used it (docs/operations.md, "Consuming replays and tails fast"), or an `Effect`
 * per entry.
 */
type Consumer = "chunk" | "releasing" | "per-entry"

/** Runs `consumer` over a stream of entries; returns entries/s, checking the count. */
const consume = <E, R>(
  stream: Stream.Stream<{ readonly payload: Uint8Array }, E, R>,
  consumer: Consumer,
  expected: number
): Effect.Effect<number, E, R> =>
  Effect.suspend(() => {
    let count = 0
    let bytes = 0
    const started = performance.now()
    /** The work of both chunk consumers: the counts of one chunk. */
    const tally = (chunk: Chunk.Chunk<{ readonly payload: Uint8Array }>) => {
      count += chunk.length
      for (const entry of chunk) bytes += entry.payload.length
    }
    const run = consumer === "chunk"
      ? Stream.runForEachChunk(stream, (chunk) => Effect.sync(() => tally(chunk)))
      : consumer === "releasing"
      ? Stream.runForEachChunk(stream, (received) => {
        let chunk: Chunk.Chunk<{ readonly payload: Uint8Array }> | undefined = received
        return Effect.sync(() => {
          tally(chunk!)
          chunk = undefined
        })
      })
      : Stream.runForEach(stream, (entry) =>
        Effect.sync(() => {
          count++
          bytes += entry.payload.length
        }))
    return Effect.map(run, () => {
      if (count !== expected || bytes === 0) throw new Error(`replayed ${count} of ${expected}`)
      return (count / (performance.now() - started)) * 1000
    })
  })

/** The rate of two steps paid one after the other, from the rate of each alone. */
const inSequence = (first: number, second: number): number => 1 / (1 / first + 1 / second)

const walReplay = (system: WalSystem, directory: string, expected: number, consumer: Consumer = "chunk") =>
  runWith(
    layers[system],
    // A read-only view: no recovery at open, so only the replay is timed.
    Effect.flatMap(Wal.reader({ directory }), (reader) => consume(reader.replay(), consumer, expected))
  )

const sqliteWrite = (Sqlite: SqliteConstructor, path: string, batches: ReadonlyArray<ReadonlyArray<Uint8Array>>): number => {
  const { db, insertMany } = openSqlite(Sqlite, path, false)
  let seq = 1
  const started = performance.now()
  for (const batch of batches) {
    insertMany(seq, batch)
    seq += batch.length
  }
  // One sync at the end: the last commit under synchronous=FULL fsyncs the WAL file.
  db.pragma("synchronous = FULL")
  db.prepare("INSERT INTO log (seq, payload) VALUES (?, ?)").run(seq, new Uint8Array(1))
  const rate = ((seq - 1) / (performance.now() - started)) * 1000
  db.close()
  return rate
}

const sqliteRead = (Sqlite: SqliteConstructor, path: string, expected: number): number => {
  const db = new Sqlite(path)
  let count = 0
  let bytes = 0
  const started = performance.now()
  for (const row of db.prepare("SELECT seq, payload FROM log WHERE seq <= ? ORDER BY seq").raw(true).iterate(expected)) {
    count++
    bytes += ((row as Array<unknown>)[1] as Uint8Array).length
  }
  const rate = (count / (performance.now() - started)) * 1000
  db.close()
  if (count !== expected || bytes === 0) throw new Error(`sqlite read ${count} of ${expected}`)
  return rate
}

const levelWrite = async (Level: LevelConstructor, path: string, batches: ReadonlyArray<ReadonlyArray<Uint8Array>>) => {
  const db = new Level(path, { keyEncoding: "view", valueEncoding: "view" })
  await db.open()
  let seq = 1
  const started = performance.now()
  for (const batch of batches) {
    const ops: Array<LevelBatchOp> = batch.map((value, k) => ({ type: "put", key: levelKey(seq + k), value }))
    await db.batch(ops, { sync: false })
    seq += batch.length
  }
  await db.put(levelKey(seq), new Uint8Array(1), { sync: true })
  const rate = ((seq - 1) / (performance.now() - started)) * 1000
  await db.close()
  return rate
}

const levelRead = async (Level: LevelConstructor, path: string, expected: number) => {
  const db = new Level(path, { keyEncoding: "view", valueEncoding: "view" })
  await db.open()
  let count = 0
  const started = performance.now()
  const iterator = db.iterator({ keyEncoding: "view", valueEncoding: "view" })
  for (;;) {
    const entries = await iterator.nextv(1000)
    if (entries.length === 0) break
    count += entries.length
  }
  await iterator.close()
  const rate = (Math.min(count, expected) / (performance.now() - started)) * 1000
  await db.close()
  return rate
}

const main = async () => {
  const Sqlite = await loadSqlite()
  const Level = await loadLevel()
  const n = (x: number) => x.toLocaleString("en-US")
  const w3a = new Report("W3a", `${n(SMALL)} appends of 100 B in appendAll batches of ${n(BATCH)}, none, one sync at the end`, "entries/s", true)
  const w3b = new Report("W3b", `${n(LARGE)} appends of 4 KiB in appendAll batches of ${n(BATCH)}, none, one sync at the end`, "entries/s", true)
  const w4 = new Report("W4", `replay and verify the ${n(SMALL)} entries of W3a (Codec.bytes)`, "entries/s", true, "raw", "per-entry limit")
  const streamChunks = floorChunks(SMALL, new Uint8Array(100))
  const small = batchesOf(100, SMALL)
  const large = batchesOf(4096, LARGE)
  const peers: Array<string> = []
  if (Sqlite) peers.push("better-sqlite3")
  if (Level) peers.push("classic-level")
  const systems = ["raw", ...walSystems, ...peers]
  const writers = [...systems, "wal-fast, one segment"]
  /** Per run: the WAL's replays against the reading floor, and what building the entries keeps of raw. */
  const againstFloor = { holding: [] as Array<number>, releasing: [] as Array<number>, perEntry: [] as Array<number>, entriesOfRaw: [] as Array<number> }
  /** W3a's WAL against raw written right before or after it, per pair. */
  const pairedWrites: Array<number> = []
  /** The WAL's replay against the reading floor run right before or after it, per pair. */
  const paired: Record<"chunk" | "per-entry", Array<number>> = { "chunk": [], "per-entry": [] }
  for (let run = 0; run < WARMUP_RUNS + RUNS; run++) {
    const dir = makeTempDir("w3")
    const a: Record<string, number> = {}
    const b: Record<string, number> = {}
    const r: Record<string, number> = {}
    try {
      for (const system of rotate(writers, run)) {
        const at = (name: string) => Path.join(dir, `${system.replace(/[, ]+/g, "-")}-${name}`)
        switch (system) {
          case "raw":
            a[system] = rawWrite(at("small"), small)
            b[system] = rawWrite(at("large"), large)
            break
          case "wal-fast":
          case "wal-node":
            a[system] = await walWrite(system, at("small"), small)
            b[system] = await walWrite(system, at("large"), large)
            break
          case "wal-fast, one segment":
            a[system] = await walWrite("wal-fast", at("small"), small, ONE_SEGMENT)
            b[system] = await walWrite("wal-fast", at("large"), large, ONE_SEGMENT)
            break
          case "better-sqlite3":
            a[system] = sqliteWrite(Sqlite!, at("small"), small)
            b[system] = sqliteWrite(Sqlite!, at("large"), large)
            break
          case "classic-level":
            a[system] = await levelWrite(Level!, at("small"), small)
            b[system] = await levelWrite(Level!, at("large"), large)
            break
        }
      }
      // This disk's writeback state drifts from minute to minute and moves raw's W3a rate by up to
      // 2x between runs: two writes back to back compare the WAL and raw at one point of that drift.
      for (let pair = 0; run >= WARMUP_RUNS && pair < PAIRS; pair++) {
        const rawPath = Path.join(dir, "pair-raw")
        const walPath = Path.join(dir, "pair-wal")
        pairedWrites.push(await backToBack(pair, () => walWrite("wal-fast", walPath, small), () => rawWrite(rawPath, small)))
        removeDir(rawPath)
        removeDir(walPath)
      }
      for (const system of rotate([...systems, "raw+copy", "raw+entries", "wal-fast releasing", "wal-fast per-entry", "effect-floor", "effect-floor per-entry", "fresh floor", "fresh floor per-entry", "reading floor", "reading floor per-entry"], run)) {
        switch (system) {
          case "raw": {
            let bytes = 0
            const started = performance.now()
            const count = rawVerify(Path.join(dir, "raw-small"), RAW_SEED, 16 << 20, (_, start, end) => {
              bytes += end - start
            }, DEFAULT_READ_BUFFER)
            r[system] = (count / (performance.now() - started)) * 1000
            if (bytes === 0) throw new Error("raw read nothing")
            break
          }
          case "raw+entries": {
            // What any reader handing out entries with payload views must do on top of raw: an
            // entry object and a view per frame, into chunks of 4096, a fresh buffer per read; a
            // timestamp in milliseconds, as WAL entries carry.
            let bytes = 0
            let chunk: Array<RawEntry> = []
            const timestamp = Date.now()
            const started = performance.now()
            const count = rawVerify(Path.join(dir, "raw-small"), RAW_SEED, 16 << 20, (buffer, start, end) => {
              chunk.push(new RawEntry(chunk.length, timestamp, "data", new Uint8Array(buffer.buffer, buffer.byteOffset + start, end - start)))
              if (chunk.length === 4096) {
                for (const entry of chunk) bytes += entry.payload.length
                chunk = []
              }
            }, DEFAULT_READ_BUFFER, "zeroed")
            for (const entry of chunk) bytes += entry.payload.length
            r[system] = (count / (performance.now() - started)) * 1000
            if (bytes === 0) throw new Error("raw read nothing")
            break
          }
          case "raw+copy": {
            let bytes = 0
            const started = performance.now()
            const count = rawVerify(Path.join(dir, "raw-small"), RAW_SEED, 16 << 20, (buffer, start, end) => {
              bytes += buffer.slice(start, end).length
            }, DEFAULT_READ_BUFFER)
            r[system] = (count / (performance.now() - started)) * 1000
            if (bytes === 0) throw new Error("raw read nothing")
            break
          }
          case "wal-fast":
          case "wal-node":
            r[system] = await walReplay(system, Path.join(dir, `${system}-small`), SMALL)
            break
          case "wal-fast releasing":
            r[system] = await walReplay("wal-fast", Path.join(dir, "wal-fast-small"), SMALL, "releasing")
            break
          case "wal-fast per-entry":
            r[system] = await walReplay("wal-fast", Path.join(dir, "wal-fast-small"), SMALL, "per-entry")
            break
          case "effect-floor":
          case "effect-floor per-entry":
            r[system] = await Effect.runPromise(consume(floorStream(streamChunks), system === "effect-floor" ? "chunk" : "per-entry", SMALL))
            break
          case "fresh floor":
          case "fresh floor per-entry":
            r[system] = await Effect.runPromise(consume(freshFloorStream(SMALL, 100), system === "fresh floor" ? "chunk" : "per-entry", SMALL))
            break
          case "reading floor":
          case "reading floor per-entry":
            r[system] = await Effect.runPromise(
              consume(readingFloorStream(Path.join(dir, "raw-small"), RAW_SEED, DEFAULT_READ_BUFFER), system === "reading floor" ? "chunk" : "per-entry", SMALL)
            )
            break
          case "better-sqlite3":
            r[system] = sqliteRead(Sqlite!, Path.join(dir, `${system}-small`), SMALL)
            break
          case "classic-level":
            r[system] = await levelRead(Level!, Path.join(dir, `${system}-small`), SMALL)
            break
        }
      }
      // The heap's state drifts through a process and moves the WAL and the floor alike ("What
      // holds a sink's chunks" in bench/README.md): two replays back to back compare them at one
      // point of that drift, which the rotation, minutes apart, does not.
      for (let pair = 0; run >= WARMUP_RUNS && pair < PAIRS; pair++) {
        for (const consumer of ["chunk", "per-entry"] as const) {
          const wal = () => walReplay("wal-fast", Path.join(dir, "wal-fast-small"), SMALL, consumer)
          const floor = () =>
            Effect.runPromise(consume(readingFloorStream(Path.join(dir, "raw-small"), RAW_SEED, DEFAULT_READ_BUFFER), consumer, SMALL))
          paired[consumer].push(await backToBack(pair, wal, floor))
        }
      }
    } finally {
      removeDir(dir)
    }
    if (run < WARMUP_RUNS) continue
    w3a.run(Object.fromEntries(writers.map((s) => [s, a[s]!])))
    w3b.run(Object.fromEntries(writers.map((s) => [s, b[s]!])))
    // Raw reading and a per-entry Effect consumer paid one after the other: the most a per-entry
    // replay can reach.
    r["per-entry limit"] = inSequence(r["raw"]!, r["effect-floor per-entry"]!)
    // The same with entries built fresh, as a reader of a file must: reading plus the fresh floor.
    r["fresh limit"] = inSequence(r["raw"]!, r["fresh floor"]!)
    r["fresh limit per-entry"] = inSequence(r["raw"]!, r["fresh floor per-entry"]!)
    // Reading that builds the entries the API hands out (raw+entries, no Stream) and the Stream
    // consumer of entries built beforehand, paid one after the other.
    r["entries limit"] = inSequence(r["raw+entries"]!, r["effect-floor"]!)
    r["entries limit per-entry"] = inSequence(r["raw+entries"]!, r["effect-floor per-entry"]!)
    againstFloor.holding.push(r["wal-fast"]! / r["reading floor"]!)
    againstFloor.releasing.push(r["wal-fast releasing"]! / r["reading floor"]!)
    againstFloor.perEntry.push(r["wal-fast per-entry"]! / r["reading floor per-entry"]!)
    againstFloor.entriesOfRaw.push(r["raw+entries"]! / r["raw"]!)
    w4.run(Object.fromEntries(["raw", "raw+copy", "raw+entries", ...systems.slice(1), "wal-fast releasing", "wal-fast per-entry", "effect-floor", "effect-floor per-entry", "fresh floor", "fresh floor per-entry", "reading floor", "reading floor per-entry", "per-entry limit", "fresh limit", "fresh limit per-entry", "entries limit", "entries limit per-entry"].map((s) => [s, r[s]!])))
  }
  w3a.note(`Back to back, ${pairedWrites.length} pairs in alternating order: wal-fast ${spread(pairedWrites)}x of raw.`)
  w3a.note(`wal-fast, one segment: the same WAL with segments of ${ONE_SEGMENT / 1024 / 1024} MiB, so that no segment is rolled over during the run (the default 64 MiB segments roll twice in W3a, six times in W3b); each roll fsyncs the sealed segment before the next one is created, as recovery requires.`)
  w3a.note("raw: the same frames (CRC-32C computed in the timed loop) written with one fs.writeSync per batch and one fdatasync at the end. better-sqlite3: one transaction per batch, synchronous=NORMAL, then one synchronous=FULL commit. classic-level: batch(sync: false) per batch, then one put(sync: true).")
  w4.note(`raw: fs.readSync in ${DEFAULT_READ_BUFFER / 1024} KiB chunks (the WAL's read size), every frame's CRC-32C verified, each payload counted by its offsets (no entry, no view); raw+copy also copies each payload (what Codec.bytes.decode does; a WAL without a schema hands out views instead); raw+entries builds what a reader that hands out entries must (an entry object and a payload view per frame, chunks of 4096, a fresh buffer per read, since views of a buffer forbid reading into it again) and consumes them chunk by chunk. The WAL replays through Wal.reader (no recovery at open) with Stream.runForEachChunk; "wal-fast releasing" the same with a consumer that lets go of each chunk once it has used it; "wal-fast per-entry" with Stream.runForEach and an Effect.sync per entry. effect-floor: a Stream of the same number of entries built in memory beforehand (bench/lib/floor.ts), consumed the same two ways. fresh floor: a Stream that builds the same entries as each chunk is pulled (an object and a view of a fresh 256 KiB buffer per entry, no file, no checksum), consumed the same two ways: building fresh entries and the consumer, without reading. reading floor: a Stream whose chunks raw's reader builds from raw's file as they are pulled (bench/lib/floor.ts, RawEntryReader: the reading of raw+entries, the frame's sequence and timestamp in each entry), consumed the same two ways: the work of a replay with a trivial reader in place of the WAL's. per-entry limit: 1 / (1/raw + 1/effect-floor per-entry), raw reading and the per-entry consumer paid in sequence; the last column is each figure's ratio to it. fresh limit (per-entry): 1 / (1/raw + 1/fresh floor (per-entry)), reading and fresh entries with their consumer paid in sequence. entries limit (per-entry): 1 / (1/raw+entries + 1/effect-floor (per-entry)), reading that builds the entries the API hands out, then the Stream consumer of entries built beforehand. ${WARMUP_RUNS} warm-up run(s) of every system before the recorded ones. Peers read back what they wrote in W3a.`)
  w4.note(`Against the reading floor: in the rotation, run by run, wal-fast holding the chunk ${spread(againstFloor.holding)}x of the reading floor, releasing it ${spread(againstFloor.releasing)}x, an Effect per entry ${spread(againstFloor.perEntry)}x of the reading floor per-entry; back to back, ${paired.chunk.length} pairs in alternating order, holding the chunk ${spread(paired.chunk)}x and an Effect per entry ${spread(paired["per-entry"])}x. raw+entries is ${spread(againstFloor.entriesOfRaw)}x of raw: what building an entry and a payload view per frame leaves of raw's rate in plain code, before any Stream runs (bench/entry-cost.ts splits it up).`)
  w3a.print()
  w3b.print()
  w4.print()
}

await main()
