/**
 * W6: tail latency. Appends of 256 B under strict durability at about 1,000 appends/s, one at a
 * time, with 0, 1 or 8 tailing Streams consuming them. For each append: the acknowledgement
 * latency (call to `append` resolving) and the delivery latency (call to a tail consumer receiving
 * the entry; with 8 tails, the last of them). Figures are p50 and p99 in microseconds. Goals: ack
 * p99 with 1 tail at most 1.15x, with 8 tails at most 1.3x the ack p99 without a tail; delivery
 * p99 at most 1.1x the ack p99 of the same run. The Effect floor runs beside the WAL with 0, 1 and
 * 8 followers: the same ratios for the least a Stream-based tail fed from memory costs.
 *
 *   npx tsx bench/w6-tail-latency.ts [--runs 5] [--count 3000] [--rate 1000]
 */
import { Effect, Fiber, Stream } from "effect"
import * as Path from "node:path"
import * as Durability from "../src/Durability.js"
import * as Wal from "../src/Wal.js"
import { argument, makeTempDir, payloads, percentile, RawLog, removeDir, Report, spread } from "./lib/harness.js"
import { FloorWriter } from "./lib/floor.js"
import { layers, runWith, type WalSystem, walSystems } from "./lib/systems.js"

const RUNS = argument("runs", 5)
const COUNT = argument("count", 3000)
const RATE = argument("rate", 1000)
const WARMUP = argument("warmup", 200)
const data = payloads(256)

const sleepUntil = (at: number) => Effect.suspend(() => {
  const wait = at - performance.now()
  return wait > 0 ? Effect.sleep(wait) : Effect.void
})

/** What W6 appends to and follows: an open WAL, or the Effect floor's writer. */
interface Followed {
  /** Appends one entry durably; its sequence number. */
  readonly append: (payload: Uint8Array) => Effect.Effect<number, unknown>
  /** A stream of every entry from the first on. */
  readonly follow: () => Stream.Stream<{ readonly seq: number }, unknown>
}

/** Appends at `RATE` with `tails` consumers running; the ack and delivery latency of each append, in µs. */
const latencies = (log: Followed, tails: number) =>
  Effect.gen(function*() {
    const sent = new Float64Array(COUNT + 1)
    const acked = new Float64Array(COUNT + 1)
    /** When the last of the tails received each entry. */
    const delivered = new Float64Array(COUNT + 1)
    let received = 0
    const consumers = yield* Effect.forEach(Array.from({ length: tails }), () =>
      log.follow().pipe(
        Stream.runForEachChunk((chunk) =>
          Effect.sync(() => {
            const now = performance.now()
            for (const entry of chunk) {
              if (entry.seq > WARMUP) delivered[entry.seq - WARMUP] = now
            }
            received += chunk.length
          })
        ),
        Effect.fork
      ))
    // Warm-up (JIT, first segment writes), not measured.
    let first = 0
    for (let i = 0; i < WARMUP; i++) first = yield* log.append(data[i & 63]!)
    const started = performance.now()
    for (let i = 1; i <= COUNT; i++) {
      yield* sleepUntil(started + (i * 1000) / RATE)
      sent[i] = performance.now()
      const seq = yield* log.append(data[i & 63]!)
      acked[seq - first] = performance.now()
    }
    const elapsed = performance.now() - started
    while (received < (COUNT + WARMUP) * tails) yield* Effect.sleep(1)
    yield* Fiber.interruptAll(consumers)
    const ack = Array.from({ length: COUNT }, (_, k) => (acked[k + 1]! - sent[k + 1]!) * 1000)
    const delivery = Array.from({ length: COUNT }, (_, k) => (delivered[k + 1]! - sent[k + 1]!) * 1000)
    return { ack, delivery, rate: (COUNT / elapsed) * 1000 }
  })

const measure = (system: WalSystem, directory: string, tails: number) =>
  runWith(
    layers[system],
    Effect.flatMap(
      Wal.make({ directory, durability: Durability.strict }),
      (log) => latencies({ append: log.append, follow: () => log.tail({ from: 1 }) }, tails)
    )
  )

/**
 * The Effect floor (lib/floor.ts) at the same pace: its followers get each batch's entries from
 * memory (views of the bytes it wrote), woken after the batch's appends are acknowledged, as the
 * WAL's tails are. The least a Stream-based tail fed from memory can add to an acknowledgement.
 */
const measureFloor = (path: string, tails: number) =>
  Effect.runPromise(
    Effect.acquireUseRelease(
      Effect.sync(() => new FloorWriter(path, "written")),
      (writer) => latencies({ append: writer.append, follow: () => writer.follow() }, tails),
      (writer) => Effect.sync(() => writer.close())
    )
  )

/** The raw limit's latency: one write + fdatasync per append at the same pace. */
const raw = async (dir: string) => {
  const log = new RawLog(Path.join(dir, "raw.log"))
  const latencies: Array<number> = []
  const started = performance.now()
  for (let i = 0; i < WARMUP; i++) {
    log.frame([data[i & 63]!], Date.now())
    log.flush()
    log.sync()
  }
  for (let i = 1; i <= COUNT; i++) {
    const wait = started + (i * 1000) / RATE - performance.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    const sent = performance.now()
    log.frame([data[i & 63]!], Date.now())
    log.flush()
    log.sync()
    latencies.push((performance.now() - sent) * 1000)
  }
  log.close()
  return latencies
}

const main = async () => {
  const p50 = new Report("W6-p50", `tail latency at about ${RATE} strict appends/s, p50`, "µs", false, "wal-fast ack, 0 tails")
  const p99 = new Report("W6-p99", `tail latency at about ${RATE} strict appends/s, p99`, "µs", false, "wal-fast ack, 0 tails")
  const rates: Array<number> = []
  /** Per-run ratios of each system to itself: delivery p99 / ack p99, and ack p99 with tails / without. */
  const ratios: Record<string, Array<number>> = {}
  const ratio = (name: string, value: number) => (ratios[name] ??= []).push(value)
  for (let run = 0; run < RUNS; run++) {
    const dir = makeTempDir("w6")
    const f50: Record<string, number> = {}
    const f99: Record<string, number> = {}
    try {
      for (const system of [...walSystems, "effect-floor"] as const) {
        for (const tails of system === "wal-node" ? [0, 1] : [0, 1, 8]) {
          const measured = system === "effect-floor"
            ? await measureFloor(Path.join(dir, `floor-${tails}.log`), tails)
            : await measure(system, Path.join(dir, `${system}-${tails}`), tails)
          const label = `${tails} ${tails === 1 ? "tail" : "tails"}`
          rates.push(measured.rate)
          const ack99 = percentile(measured.ack, 99)
          f50[`${system} ack, ${label}`] = percentile(measured.ack, 50)
          f99[`${system} ack, ${label}`] = ack99
          if (tails === 0) continue
          f50[`${system} delivery, ${label}`] = percentile(measured.delivery, 50)
          f99[`${system} delivery, ${label}`] = percentile(measured.delivery, 99)
          ratio(`${system} delivery / ack, ${label}`, percentile(measured.delivery, 99) / ack99)
          ratio(`${system} ack / ack without tails, ${label}`, ack99 / f99[`${system} ack, 0 tails`]!)
        }
      }
      const r = await raw(dir)
      f50["raw write+fdatasync"] = percentile(r, 50)
      f99["raw write+fdatasync"] = percentile(r, 99)
    } finally {
      removeDir(dir)
    }
    p50.run(f50)
    p99.run(f99)
  }
  p99.note(`Achieved rates: ${rates.map((r) => Math.round(r)).join(", ")} appends/s. "ack": append call to its result; "delivery": append call to the tail consumer (Stream.runForEachChunk on wal.tail) receiving the entry, in the same run (with 8 tails, the last of the 8). Time ratios against the wal-fast ack without a tail in the same run: the goals are ack p99 <= 1.15x with 1 tail and <= 1.3x with 8 tails.`)
  p99.note(`p99 ratios of each system to itself in the same run, median (min-max) over runs. Delivery / ack (goal <= 1.1): ${named(ratios, "delivery / ack")}. Ack with tails / ack without (goals <= 1.15 with 1 tail, <= 1.3 with 8): ${named(ratios, "ack / ack without tails")}.`)
  p99.note(`effect-floor: the Effect floor's writer (bench/lib/floor.ts) at the same pace, each batch written and fdatasynced, its followers Streams that get each batch's entries from memory (views of the bytes it wrote), woken after the batch's appends are acknowledged, as the WAL wakes its tails: what any Stream-based tail fed from memory adds to the runtime's own acknowledgement.`)
  p50.print()
  p99.print()
}

/** The ratios whose name contains `kind`, each as `system, tails: median (min-max)`. */
const named = (ratios: Record<string, Array<number>>, kind: string): string =>
  Object.entries(ratios)
    .filter(([name]) => name.includes(kind))
    .map(([name, values]) => `${name.replace(` ${kind},`, ",")} ${spread(values)}`)
    .join("; ")

await main()
