/**
 * CRC-32C throughput: the JS slicing-by-8 of `src/internal/format/crc32c.ts`, the native
 * `@node-rs/crc32` binding (hardware CRC instructions), a byte-at-a-time table as a floor, and
 * `crc32cUpdate` as shipped (JS below `NATIVE_MIN_BYTES`, native above when the binding loads).
 *
 *   npx tsx bench/checksum.ts [--runs 9] [--mib 32]
 *
 * Every implementation is measured in its own child process, so that each benchmark loop calls a
 * single function (a loop shared by several implementations becomes megamorphic in V8 and hides
 * the difference between them). Prints the median (min-max) MB/s over the runs and the ratio of
 * medians to our JS, the per-frame cost the WAL pays (checksumming 100 B and 256 B frames in place
 * inside a batch buffer, continuing from a seed) and a sweep locating the JS/native crossover.
 * The decision these figures support is recorded in docs/format.md.
 */
import { crc32c as nativeCrc32c } from "@node-rs/crc32"
import { execFileSync } from "node:child_process"
import * as os from "node:os"
import { crc32c, crc32cUpdate, crc32cUpdateJs, implementation, NATIVE_MIN_BYTES } from "../src/internal/format/crc32c.js"

const argument = (name: string, fallback: number): number => {
  const index = process.argv.indexOf(`--${name}`)
  return index === -1 ? fallback : Number(process.argv[index + 1])
}

const RUNS = argument("runs", 9)
/** Bytes checksummed per measurement. */
const BYTES_PER_RUN = argument("mib", 32) * 1024 * 1024
const SIZES = [64, 256, 4 * 1024, 1024 * 1024] as const
const FRAME_SIZES = [100, 256] as const
const SWEEP_SIZES = [32, 64, 96, 128, 160, 192, 224, 256, 320, 384, 512, 1024] as const

// ---------------------------------------------------------------------------------------------
// the floor: one table lookup per byte

const BYTE_TABLE = (() => {
  const table = new Int32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
    table[n] = c
  }
  return table
})()

const byteAtATime = (crc: number, bytes: Uint8Array, start: number, end: number): number => {
  let c = ~crc
  for (let i = start; i < end; i++) c = BYTE_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return ~c >>> 0
}

// ---------------------------------------------------------------------------------------------
// the implementations, each checksumming `bytes[start, end)` continuing from `seed`

type Update = (seed: number, bytes: Uint8Array, start: number, end: number) => number

const implementations = {
  "js slicing-by-8": crc32cUpdateJs,
  "@node-rs/crc32": (seed, bytes, start, end) => nativeCrc32c(bytes.subarray(start, end), seed),
  "js byte-at-a-time": byteAtATime,
  "crc32cUpdate (shipped)": crc32cUpdate
} satisfies Record<string, Update>

type Name = keyof typeof implementations

const names = Object.keys(implementations) as Array<Name>

// ---------------------------------------------------------------------------------------------
// deterministic data

const xorshift = (seed: number) => {
  let state = seed >>> 0 || 1
  return (): number => {
    state ^= state << 13
    state >>>= 0
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    return state
  }
}

const randomBytes = (length: number, seed: number): Uint8Array => {
  const next = xorshift(seed)
  const bytes = new Uint8Array(length)
  for (let i = 0; i < length; i++) bytes[i] = next() & 0xff
  return bytes
}

/** 4 MiB of data, so that small blocks walk through memory instead of hitting one cache line. */
const DATA = randomBytes(4 * 1024 * 1024, 0x5eed)

// ---------------------------------------------------------------------------------------------
// agreement first

const checkAgreement = (): void => {
  const known = new TextEncoder().encode("123456789")
  for (const name of names) {
    const value = implementations[name](0, known, 0, known.length)
    if (value !== 0xe3069283) throw new Error(`${name}: check value ${value.toString(16)} is not e3069283`)
  }
  const next = xorshift(42)
  for (let round = 0; round < 2000; round++) {
    const start = next() % 4096
    const end = start + (next() % 8192)
    const seed = next()
    const expected = byteAtATime(seed, DATA, start, end)
    for (const name of names) {
      const value = implementations[name](seed, DATA, start, end)
      if (value !== expected) throw new Error(`${name} disagrees on [${start}, ${end}) seed ${seed}: ${value} vs ${expected}`)
    }
  }
  for (const size of SIZES) {
    const block = DATA.subarray(0, size)
    if (crc32c(block) !== nativeCrc32c(block)) throw new Error(`crc32c and @node-rs/crc32 disagree at ${size} B`)
  }
}

// ---------------------------------------------------------------------------------------------
// measurement, in a child process running one implementation

let sink = 0

const now = (): number => performance.now()

/** Checksums `BYTES_PER_RUN` bytes in blocks of `size`; returns MB/s (10^6 bytes per second). */
const throughput = (update: Update, size: number): number => {
  const blocks = Math.max(1, Math.floor(BYTES_PER_RUN / size))
  const span = DATA.length - size
  let offset = 0
  let acc = 0
  const started = now()
  for (let i = 0; i < blocks; i++) {
    acc = (acc + update(0, DATA, offset, offset + size)) >>> 0
    offset += size
    if (offset > span) offset = 0
  }
  const elapsed = now() - started
  sink = (sink + acc) >>> 0
  return (blocks * size) / 1e6 / (elapsed / 1e3)
}

/** A 256 KiB batch buffer of back-to-back frames of `frameSize` bytes, as the encoder writes them. */
const frameBatch = (frameSize: number): Uint8Array =>
  randomBytes(Math.floor((256 * 1024) / frameSize) * frameSize, frameSize)

/** Checksums bytes [4, frameSize) of every frame of a batch, as the encoder and cursor do; ns per frame. */
const perFrame = (update: Update, frameSize: number, batch: Uint8Array): number => {
  const seed = 0x1234abcd
  const frames = batch.length / frameSize
  const rounds = Math.max(1, Math.floor(BYTES_PER_RUN / 4 / batch.length))
  let acc = 0
  const started = now()
  for (let round = 0; round < rounds; round++) {
    for (let start = 0; start < batch.length; start += frameSize) {
      acc = (acc + update(seed, batch, start + 4, start + frameSize)) >>> 0
    }
  }
  const elapsed = now() - started
  sink = (sink + acc) >>> 0
  return (elapsed * 1e6) / (rounds * frames)
}

interface Sample {
  readonly throughput: Record<number, number>
  readonly frames: Record<number, number>
  readonly sweep: Record<number, number>
}

/** One run of every measurement for one implementation, after a warm-up of each. */
const worker = (name: Name): Sample => {
  const update: Update = implementations[name]
  const batches = FRAME_SIZES.map(frameBatch)
  const measureAll = (): Sample => ({
    throughput: Object.fromEntries(SIZES.map((size) => [size, throughput(update, size)])),
    frames: Object.fromEntries(FRAME_SIZES.map((size, i) => [size, perFrame(update, size, batches[i]!)])),
    sweep: name === "js byte-at-a-time"
      ? {}
      : Object.fromEntries(SWEEP_SIZES.map((size) => [size, throughput(update, size)]))
  })
  measureAll()
  return measureAll()
}

// ---------------------------------------------------------------------------------------------
// the parent: runs the workers, interleaved, and prints the tables

interface Summary {
  readonly median: number
  readonly min: number
  readonly max: number
}

const summarize = (values: ReadonlyArray<number>): Summary => {
  const sorted = [...values].sort((a, b) => a - b)
  return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted[sorted.length - 1]! }
}

const runWorker = (name: Name): Sample =>
  JSON.parse(
    execFileSync(process.execPath, [
      ...process.execArgv,
      process.argv[1]!,
      "--worker",
      name,
      "--mib",
      String(BYTES_PER_RUN / (1024 * 1024))
    ], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
  )

const label = (size: number): string =>
  size >= 1024 * 1024 ? `${size / (1024 * 1024)} MiB` : size >= 1024 ? `${size / 1024} KiB` : `${size} B`

const WIDTH = 30

const row = (head: string, cells: ReadonlyArray<string>): string =>
  `${head.padEnd(8)}${cells.map((cell) => cell.padStart(WIDTH)).join("")}`

const main = (): void => {
  checkAgreement()
  const cpus = os.cpus()
  console.log(
    `CRC-32C on ${cpus.length} x ${cpus[0]?.model ?? "unknown CPU"}, Node ${process.version}, ${RUNS} runs of ${
      BYTES_PER_RUN / (1024 * 1024)
    } MiB per size, one child process per implementation and run`
  )
  console.log(`shipped crc32cUpdate: ${implementation === "native" ? `JS below ${NATIVE_MIN_BYTES} B, native from there` : "JS only (binding not loaded)"}`)
  console.log("all implementations agree (check value 0xE3069283, 2000 random seeded ranges)\n")

  const samples = new Map<Name, Array<Sample>>(names.map((name) => [name, []]))
  for (let run = 0; run < RUNS; run++) {
    for (const name of names) samples.get(name)!.push(runWorker(name))
  }
  const summary = (name: Name, pick: (sample: Sample) => number | undefined): Summary =>
    summarize(samples.get(name)!.map(pick).filter((value): value is number => value !== undefined))

  console.log("throughput in MB/s: median (min-max) and ratio of medians to js slicing-by-8")
  console.log(row("size", names))
  for (const size of SIZES) {
    const base = summary("js slicing-by-8", (s) => s.throughput[size]).median
    console.log(row(
      label(size),
      names.map((name) => {
        const s = summary(name, (sample) => sample.throughput[size])
        return `${s.median.toFixed(0)} (${s.min.toFixed(0)}-${s.max.toFixed(0)}) x${(s.median / base).toFixed(2)}`
      })
    ))
  }

  console.log("\nper frame, in place (bytes [4, size) of each frame of a 256 KiB batch, seeded): ns/frame median (min-max), speed-up vs js")
  console.log(row("frame", names))
  for (const size of FRAME_SIZES) {
    const base = summary("js slicing-by-8", (s) => s.frames[size]).median
    console.log(row(
      label(size),
      names.map((name) => {
        const s = summary(name, (sample) => sample.frames[size])
        return `${s.median.toFixed(0)} (${s.min.toFixed(0)}-${s.max.toFixed(0)}) x${(base / s.median).toFixed(2)}`
      })
    ))
  }

  console.log("\ncrossover sweep, MB/s medians: js slicing-by-8 vs @node-rs/crc32 (subarray + call)")
  for (const size of SWEEP_SIZES) {
    const js = summary("js slicing-by-8", (s) => s.sweep[size]).median
    const native = summary("@node-rs/crc32", (s) => s.sweep[size]).median
    const shipped = summary("crc32cUpdate (shipped)", (s) => s.sweep[size]).median
    console.log(
      `${label(size).padEnd(8)} js ${js.toFixed(0).padStart(5)}  native ${native.toFixed(0).padStart(5)}  native/js x${
        (native / js).toFixed(2)
      }  shipped ${shipped.toFixed(0).padStart(5)}`
    )
  }
}

const workerIndex = process.argv.indexOf("--worker")
if (workerIndex === -1) {
  main()
} else {
  const name = process.argv[workerIndex + 1] as Name
  if (!(name in implementations)) throw new Error(`unknown implementation ${name}`)
  const sample = worker(name)
  process.stdout.write(JSON.stringify(sample))
  process.stderr.write(sink === 0.5 ? "unreachable\n" : "")
}
