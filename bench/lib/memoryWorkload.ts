/**
 * The memory workload (see `bench/memory.ts`, which compiles it and runs it with plain `node`):
 * appends 4 KiB entries in `appendAll` batches (strict) while a tail consumer reads 10x slower
 * than the writer (it never gets more than a tenth of the appended entries ahead) and, with
 * `--tails N`, N - 1 more tails consume as fast as they can (they stay in the live window), and reports
 * this process's peak RSS (the kernel's VmHWM: everything resident, not only the V8 heap) with
 * `process.memoryUsage()` at start and at the largest sampled RSS, so the peak can be explained.
 */
import * as NodePath from "@effect/platform-node/NodePath"
import { Effect, Fiber, Stream } from "effect"
import * as Durability from "../../src/Durability.js"
import * as Wal from "../../src/Wal.js"
import { argument, fmt, freeBytes, makeTempDir, payloads, peakRss, removeDir, RESULT_PREFIX } from "./harness.js"
import { layers, type WalSystem } from "./systems.js"

/** What `process.memoryUsage()` says, in MiB. */
export interface MemorySample {
  readonly rss: number
  readonly heapTotal: number
  readonly heapUsed: number
  readonly external: number
  readonly arrayBuffers: number
}

const sampleMemory = (): MemorySample => {
  const m = process.memoryUsage()
  return {
    rss: m.rss / 2 ** 20,
    heapTotal: m.heapTotal / 2 ** 20,
    heapUsed: m.heapUsed / 2 ** 20,
    external: m.external / 2 ** 20,
    arrayBuffers: m.arrayBuffers / 2 ** 20
  }
}

// `external` is V8's count of memory outside its heap, ArrayBuffers included; it is brought down
// only after a GC, so it can exceed what `arrayBuffers` (allocated right now) says.
const describeSample = (s: MemorySample): string =>
  `RSS ${fmt(s.rss)}: V8 heap ${fmt(s.heapTotal)} (used ${fmt(s.heapUsed)}), ArrayBuffers ${fmt(s.arrayBuffers)}, external ${fmt(s.external)}`

const ENTRY = 4096

/** Runs the workload once and prints the result line `run.ts` collects. `runtime` says how this process runs the code. */
export const main = async (runtime: string): Promise<void> => {
  const index = process.argv.indexOf("--layer")
  const system = (index === -1 ? "wal-fast" : process.argv[index + 1]) as WalSystem
  let MIB = argument("mib", 2048)
  // 32 x 4 KiB = 128 KiB per atomic batch (a tail follows batches larger than its read buffer too).
  const BATCH = argument("batch", 32)
  const TAILS = argument("tails", 1)
  const label = TAILS === 1 ? system : `${system}, ${TAILS} tails`
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
  const atStart = sampleMemory()
  let atPeak = atStart
  const sample = () => {
    const s = sampleMemory()
    if (s.rss > atPeak.rss) atPeak = s
  }
  try {
    const result = await Effect.runPromise(
      Effect.gen(function*() {
        const log = yield* Wal.make({ directory: dir, durability: Durability.strict })
        let appended = 0
        let delivered = 0
        const slow = log.tail({ from: 1 }).pipe(
          Stream.runForEachChunk((chunk) =>
            Effect.gen(function*() {
              delivered += chunk.length
              // 10x slower than the writer: never more than a tenth of what was appended.
              while (delivered > appended / 10) yield* Effect.sleep(5)
            })
          )
        )
        const fast = log.tail({ from: 1 }).pipe(Stream.runForEachChunk(() => Effect.void))
        const consumers = yield* Effect.forEach(Array.from({ length: TAILS }, (_, k) => (k === 0 ? slow : fast)), (tail) => Effect.fork(tail))
        const started = performance.now()
        for (let i = 0; i < entries; i += BATCH) {
          yield* log.appendAll(batch)
          appended += BATCH
          if ((i / BATCH) % 16 === 0) sample()
        }
        const seconds = (performance.now() - started) / 1000
        for (const consumer of consumers) {
          const early = yield* Fiber.poll(consumer)
          if (early._tag === "Some") throw new Error(`a tail consumer ended early: ${JSON.stringify(early.value)}`)
        }
        yield* Fiber.interruptAll(consumers)
        return { seconds, delivered }
      }).pipe(Effect.scoped, Effect.provide([layers[system], NodePath.layer]))
    )
    sample()
    const peak = peakRss()
    const line = {
      system: label,
      runtime,
      mib: MIB,
      peakRssMiB: peak / 2 ** 20,
      baselineRssMiB: baseline / 2 ** 20,
      sampledPeakMiB: atPeak.rss,
      atStart,
      atPeak,
      writerMiBs: MIB / result.seconds,
      consumerEntries: result.delivered
    }
    console.error(`  [memory] ${label} (${runtime}): peak RSS ${fmt(line.peakRssMiB)} MiB (at start ${fmt(line.baselineRssMiB)} MiB) appending ${MIB} MiB at ${fmt(line.writerMiBs)} MiB/s; the consumer read ${result.delivered.toLocaleString("en-US")} of ${entries.toLocaleString("en-US")} entries`)
    console.error(`  [memory]   at start: ${describeSample(atStart)}; at the largest sampled RSS: ${describeSample(atPeak)} (MiB)`)
    console.log(RESULT_PREFIX + JSON.stringify(line))
  } finally {
    removeDir(dir)
  }
}
