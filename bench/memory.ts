/**
 * Memory: peak RSS of a process appending 2 GiB (4 KiB entries in `appendAll` batches of 128 KiB,
 * strict) while a tail consumer reads 10x slower than the writer (it never gets more than a tenth
 * of the appended entries ahead). Run once per layer, each in its own process, by `run.ts`.
 *
 *   npx tsx bench/memory.ts [--layer wal-fast|wal-node] [--mib 2048]
 */
import { Effect, Fiber, Stream } from "effect"
import * as Durability from "../src/Durability.js"
import * as Wal from "../src/Wal.js"
import { argument, fmt, freeBytes, makeTempDir, payloads, peakRss, removeDir, RESULT_PREFIX } from "./lib/harness.js"
import { layers, type WalSystem } from "./lib/systems.js"

const index = process.argv.indexOf("--layer")
const system = (index === -1 ? "wal-fast" : process.argv[index + 1]) as WalSystem
let MIB = argument("mib", 2048)
const ENTRY = 4096
// 32 x 4 KiB: a tail cannot yet follow atomic batches larger than its 256 KiB read buffer
// (bench/README.md, "Findings").
const BATCH = argument("batch", 32)

const main = async () => {
  const free = freeBytes()
  if (free < MIB * 1024 * 1024 * 1.5) {
    const scaled = Math.max(256, Math.floor(free / 1.5 / 1024 / 1024 / 256) * 256)
    console.error(`  [memory] only ${fmt(free / 2 ** 30)} GiB free: scaling down from ${MIB} MiB to ${scaled} MiB`)
    MIB = scaled
  }
  const entries = (MIB * 1024 * 1024) / ENTRY
  const dir = makeTempDir("mem")
  const data = payloads(ENTRY)
  const batch = Array.from({ length: BATCH }, (_, k) => data[k & 63]!)
  const baseline = peakRss()
  let sampledPeak = 0
  try {
    const result = await Effect.runPromise(
      Effect.gen(function*() {
        const log = yield* Wal.make({ directory: dir, durability: Durability.strict })
        let appended = 0
        let delivered = 0
        const consumer = yield* log.tail({ from: 1 }).pipe(
          Stream.runForEachChunk((chunk) =>
            Effect.gen(function*() {
              delivered += chunk.length
              // 10x slower than the writer: never more than a tenth of what was appended.
              while (delivered > appended / 10) yield* Effect.sleep(5)
            })
          ),
          Effect.fork
        )
        const started = performance.now()
        for (let i = 0; i < entries; i += BATCH) {
          yield* log.appendAll(batch)
          appended += BATCH
          if ((i / BATCH) % 64 === 0) sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss())
        }
        const seconds = (performance.now() - started) / 1000
        const early = yield* Fiber.poll(consumer)
        if (early._tag === "Some") throw new Error(`the tail consumer ended early: ${JSON.stringify(early.value)}`)
        yield* Fiber.interrupt(consumer)
        return { seconds, delivered }
      }).pipe(Effect.scoped, Effect.provide(layers[system]))
    )
    const peak = peakRss()
    const line = {
      system,
      mib: MIB,
      peakRssMiB: peak / 2 ** 20,
      baselineRssMiB: baseline / 2 ** 20,
      sampledPeakMiB: sampledPeak / 2 ** 20,
      writerMiBs: MIB / result.seconds,
      consumerEntries: result.delivered
    }
    console.error(`  [memory] ${system}: peak RSS ${fmt(line.peakRssMiB)} MiB (at start ${fmt(line.baselineRssMiB)} MiB) appending ${MIB} MiB at ${fmt(line.writerMiBs)} MiB/s; the consumer read ${result.delivered.toLocaleString("en-US")} of ${entries.toLocaleString("en-US")} entries`)
    console.log(RESULT_PREFIX + JSON.stringify(line))
  } finally {
    removeDir(dir)
  }
}

await main()
