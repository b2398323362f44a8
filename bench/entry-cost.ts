/**
 * What handing out entries costs a reader above raw reading, in plain code with no Effect: the
 * part of W4's gap to raw that no Stream and no WAL code adds. One file of frames (W3a's: 100 B
 * payloads in atomic batches of 1,000) is read with `rawVerify` (`fs.readSync` in the WAL's read
 * size, every frame's CRC-32C verified) five ways, alternating in one process:
 *
 * - raw: reading and verifying only, one buffer reused for every read;
 * - entry objects: an entry per frame (the shape of a WAL entry, the payload's offset in place of
 *   a view) into chunks of 4,096, each chunk read once by its consumer;
 * - entries with views of one reused buffer: the same with a payload view per entry. Not a valid
 *   reader: the next read overwrites the bytes under the views the consumer still holds. It
 *   separates the cost of making views from the cost of the fresh buffers views require;
 * - entries with views of fresh buffers (raw+entries of W4): what a reader handing out views
 *   must do, every read into a new buffer;
 * - the same with `Buffer.allocUnsafeSlow` for the fresh buffers (not zeroed by the allocator).
 *
 * Figures are entries per second, medians of the rounds, and ratios to raw of the same round.
 *
 *   npx tsx bench/entry-cost.ts [--rounds 9] [--count 1000000]
 */
import * as Path from "node:path"
import { DEFAULT_READ_BUFFER } from "../src/internal/read/segmentReader.js"
import { argument, fmt, makeTempDir, median, payloads, RAW_SEED, RawLog, rawVerify, removeDir } from "./lib/harness.js"

const ROUNDS = argument("rounds", 9)
const COUNT = argument("count", 1_000_000)
const BATCH = 1000
const CHUNK = 4096

/** An entry as a reader hands it out: sequence, timestamp in milliseconds, kind, payload. */
class Entry<P> {
  constructor(readonly seq: number, readonly timestamp: number, readonly kind: "data", readonly payload: P) {}
}

/** Chunks of entries, each read once by the consumer (as W4's chunk consumer tallies them). */
class Chunks<P> {
  private chunk = Array.of<Entry<P>>()
  private sequence = 0
  total = 0

  constructor(readonly timestamp: number, readonly sizeOf: (payload: P) => number) {}

  push(payload: P): void {
    this.chunk.push(new Entry(++this.sequence, this.timestamp, "data", payload))
    if (this.chunk.length === CHUNK) this.flush()
  }

  flush(): void {
    for (const entry of this.chunk) this.total += this.sizeOf(entry.payload)
    this.chunk = Array.of()
  }
}

const viewSize = (payload: Uint8Array) => payload.length
const view = (buffer: Uint8Array, start: number, end: number) => new Uint8Array(buffer.buffer, buffer.byteOffset + start, end - start)

type Variant = (path: string) => number

const variants: Record<string, Variant> = {
  "raw": (path) => {
    let bytes = 0
    rawVerify(path, RAW_SEED, 16 << 20, (_, start, end) => {
      bytes += end - start
    }, DEFAULT_READ_BUFFER)
    return bytes
  },
  "entry objects": (path) => {
    const chunks = new Chunks<number>(Date.now(), () => 1)
    rawVerify(path, RAW_SEED, 16 << 20, (_, start) => chunks.push(start), DEFAULT_READ_BUFFER)
    chunks.flush()
    return chunks.total
  },
  "entries with views of one reused buffer (not a valid reader)": (path) => {
    const chunks = new Chunks<Uint8Array>(Date.now(), viewSize)
    rawVerify(path, RAW_SEED, 16 << 20, (buffer, start, end) => chunks.push(view(buffer, start, end)), DEFAULT_READ_BUFFER)
    chunks.flush()
    return chunks.total
  },
  "entries with views of fresh buffers (raw+entries)": (path) => {
    const chunks = new Chunks<Uint8Array>(Date.now(), viewSize)
    rawVerify(path, RAW_SEED, 16 << 20, (buffer, start, end) => chunks.push(view(buffer, start, end)), DEFAULT_READ_BUFFER, "zeroed")
    chunks.flush()
    return chunks.total
  },
  "entries with views of fresh buffers, allocUnsafeSlow": (path) => {
    const chunks = new Chunks<Uint8Array>(Date.now(), viewSize)
    rawVerify(path, RAW_SEED, 16 << 20, (buffer, start, end) => chunks.push(view(buffer, start, end)), DEFAULT_READ_BUFFER, "unzeroed")
    chunks.flush()
    return chunks.total
  }
}

const main = () => {
  const dir = makeTempDir("entry-cost")
  try {
    const path = Path.join(dir, "frames")
    const log = new RawLog(path)
    const data = payloads(100)
    for (let i = 0; i < COUNT; i += BATCH) {
      log.frame(Array.from({ length: Math.min(BATCH, COUNT - i) }, (_, k) => data[(i + k) & 63]!), Date.now())
      log.flush()
    }
    log.close()
    const names = Object.keys(variants)
    const rates: Record<string, Array<number>> = {}
    const ratios: Record<string, Array<number>> = {}
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? names : [...names].reverse()
      const rate: Record<string, number> = {}
      for (const name of order) {
        const started = performance.now()
        const total = variants[name]!(path)
        rate[name] = (COUNT / (performance.now() - started)) * 1000
        if (total === 0) throw new Error(`${name} consumed nothing`)
      }
      for (const name of names) {
        ;(rates[name] ??= []).push(rate[name]!)
        ;(ratios[name] ??= []).push(rate[name]! / rate["raw"]!)
      }
    }
    console.log(`# What handing out entries costs above raw reading (${fmt(COUNT)} frames of 100 B, ${ROUNDS} rounds)\n`)
    console.log("| variant | entries/s, median | ratio to raw, median (min-max) |\n|---|---:|---:|")
    for (const name of names) {
      const r = ratios[name]!
      console.log(`| ${name} | ${fmt(median(rates[name]!))} | ${median(r).toFixed(2)} (${Math.min(...r).toFixed(2)}-${Math.max(...r).toFixed(2)}) |`)
    }
  } finally {
    removeDir(dir)
  }
}

main()
