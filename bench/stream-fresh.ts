/**
 * What a Stream consumer costs per entry when the entries are built as they are pulled (as any
 * reader of a file builds them) rather than before the clock starts: the fresh-entries floor of W4
 * (bench/lib/floor.ts, no file, no checksum) consumed four ways, with the time the process spent
 * in garbage collection during each run. A consumer that runs an Effect per chunk or per entry
 * through a Stream sink (`runForEachChunk`, `runForEach`) is compared with the same consumer
 * letting go of its chunk once it has used it, with pulling the same chunks with `Stream.toPull`,
 * and with a plain loop building the same entries. Two more plain loops show what makes a sink hold
 * its chunks: each chunk is captured by a closure, made once in an object literal and once
 * assigned to a property, as Effect 3's `Channel.fromEffect` stores its effect
 * (`op.effect = () => effect`). V8 allocates a function literal assigned to a property straight
 * into the old generation (its parser marks it pretenured, expecting a method), so each such
 * closure, dead once its step ran, keeps what it captured alive through young collections until
 * the next full one. Two more sink runs build entries whose payload view is made each time
 * `payload` is read instead of with the entry (docs/design.md, "Payloads are views made once, with
 * the entry"), so that the entries a sink holds on to are about half the bytes; the last
 * process prints the heap bytes per entry of both shapes.
 *
 *   npx tsx bench/stream-fresh.ts [--runs 5] [--count 1000000] [--only <consumer>]
 */
import { Chunk, Effect, Stream } from "effect"
import { spawnSync } from "node:child_process"
import { PerformanceObserver } from "node:perf_hooks"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { type FloorEntry, FreshEntries, freshFloorStream, type PayloadViews } from "./lib/floor.js"
import { argument, median } from "./lib/harness.js"

const RUNS = argument("runs", 5)
const COUNT = argument("count", 1_000_000)

let gcMillis = 0
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMillis += entry.duration
}).observe({ entryTypes: ["gc"] })

/** Lets the observer deliver the GC entries of the run that just ended. */
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 10))

/** Counts entries and payload bytes, as W4's consumers do. */
class Tally {
  count = 0
  bytes = 0
  add(entry: FloorEntry): void {
    this.count++
    this.bytes += entry.payload.length
  }
  addChunk(chunk: Chunk.Chunk<FloorEntry>): void {
    for (const entry of chunk) this.add(entry)
  }
}

/** What holds a closure that captured a chunk, as a channel's `FromEffect` node holds its effect. */
interface ClosureHolder {
  effect?: () => Chunk.Chunk<FloorEntry>
}

/** A closure capturing `chunk`, made in an object literal. */
const capturedInLiteral = (chunk: Chunk.Chunk<FloorEntry>) => ({ effect: () => chunk })

/** A closure capturing `chunk`, assigned to a property, as `Channel.fromEffect` assigns `op.effect`. */
const capturedByAssignment = (chunk: Chunk.Chunk<FloorEntry>) => {
  const node: ClosureHolder = {}
  node.effect = () => chunk
  return node
}

/** The plain loop, each chunk reached through a closure made by `capture` and kept until the next. */
const throughClosures = (capture: (chunk: Chunk.Chunk<FloorEntry>) => ClosureHolder) => async (tally: Tally) => {
  const entries = new FreshEntries(COUNT, 100)
  const current: { node: ClosureHolder | undefined } = { node: undefined }
  for (let chunk = entries.chunk(); Chunk.isNonEmpty(chunk); chunk = entries.chunk()) {
    current.node = capture(chunk)
    tally.addChunk(current.node.effect!())
  }
}

const consumers: Record<string, (tally: Tally) => Promise<void>> = {
  "Stream.runForEachChunk": (tally) =>
    Effect.runPromise(Stream.runForEachChunk(freshFloorStream(COUNT, 100), (chunk) => Effect.sync(() => tally.addChunk(chunk)))),
  "Stream.runForEachChunk, releasing the chunk": (tally) =>
    Effect.runPromise(Stream.runForEachChunk(freshFloorStream(COUNT, 100), (received) => {
      // The Effect holds the chunk through a variable it clears once it has used it.
      let chunk: Chunk.Chunk<FloorEntry> | undefined = received
      return Effect.sync(() => {
        tally.addChunk(chunk!)
        chunk = undefined
      })
    })),
  "Stream.runForEach": (tally) =>
    Effect.runPromise(Stream.runForEach(freshFloorStream(COUNT, 100), (entry) => Effect.sync(() => tally.add(entry)))),
  "Stream.runForEachChunk, payload views made on each read": (tally) =>
    Effect.runPromise(Stream.runForEachChunk(freshFloorStream(COUNT, 100, "on each read"), (chunk) => Effect.sync(() => tally.addChunk(chunk)))),
  "Stream.runForEach, payload views made on each read": (tally) =>
    Effect.runPromise(Stream.runForEach(freshFloorStream(COUNT, 100, "on each read"), (entry) => Effect.sync(() => tally.add(entry)))),
  "Stream.toPull": (tally) =>
    Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const pull = yield* Stream.toPull(freshFloorStream(COUNT, 100))
      for (;;) {
        const next = yield* Effect.option(pull)
        if (next._tag === "None") return
        tally.addChunk(next.value)
      }
    }))),
  "plain loop (no Effect)": async (tally) => {
    const entries = new FreshEntries(COUNT, 100)
    for (let chunk = entries.chunk(); Chunk.isNonEmpty(chunk); chunk = entries.chunk()) tally.addChunk(chunk)
  },
  "plain loop, chunk captured by a closure in an object literal": throughClosures(capturedInLiteral),
  "plain loop, chunk captured by a closure assigned to a property": throughClosures(capturedByAssignment)
}

/** Heap bytes per fresh entry of a shape, its view and its chunk's slot included: 100,000 kept between two full collections. */
const heapBytesPerEntry = (views: PayloadViews): number => {
  setFlagsFromString("--expose-gc")
  const collect = runInNewContext("gc") as () => void
  const count = 100_000
  const entries = new FreshEntries(count, 100, views)
  const kept: Array<Chunk.Chunk<FloorEntry>> = []
  collect()
  const before = process.memoryUsage().heapUsed
  for (let chunk = entries.chunk(); Chunk.isNonEmpty(chunk); chunk = entries.chunk()) kept.push(chunk)
  collect()
  const bytes = (process.memoryUsage().heapUsed - before) / count
  // Read after the collection, so that the chunks are still alive during it.
  if (kept.length === 0) throw new Error("no entries were built")
  return bytes
}

// Each consumer, and the size measurement, runs in a process of its own, so each starts from a
// fresh heap: the heap a Stream sink's run leaves behind slows whatever runs after it in the same
// process.
const HEAP = "heap bytes per entry"
const only = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1] : undefined
if (only === undefined) {
  for (const name of [...Object.keys(consumers), HEAP]) {
    const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1), "--only", name], { stdio: "inherit" })
    if (child.status !== 0) throw new Error(`${name}: the child process exited with ${child.status}`)
  }
} else if (only === HEAP) {
  const withEntry = heapBytesPerEntry("with the entry")
  const onRead = heapBytesPerEntry("on each read")
  console.log(`${HEAP}: ${withEntry.toFixed(0)} with the payload view made with the entry, ${onRead.toFixed(0)} made on each read`)
} else {
  const consume = consumers[only]
  if (consume === undefined) throw new Error(`no consumer named ${only}`)
  const rates: Array<number> = []
  const gc: Array<number> = []
  for (let run = 1; run <= RUNS; run++) {
    await settle()
    const tally = new Tally()
    gcMillis = 0
    const started = performance.now()
    await consume(tally)
    const elapsed = performance.now() - started
    await settle()
    if (tally.count !== COUNT || tally.bytes !== COUNT * 100) throw new Error(`${only}: consumed ${tally.count} of ${COUNT}`)
    rates.push((COUNT / elapsed) * 1000)
    gc.push(gcMillis / elapsed)
  }
  console.log(
    `${only}: ${(median(rates) / 1e6).toFixed(2)}M entries/s, median of ${RUNS} runs (${(Math.min(...rates) / 1e6).toFixed(2)}-${(Math.max(...rates) / 1e6).toFixed(2)}); ` +
      `GC ${(100 * median(gc)).toFixed(0)}% of the run (${(100 * Math.min(...gc)).toFixed(0)}-${(100 * Math.max(...gc)).toFixed(0)}%)`
  )
}
