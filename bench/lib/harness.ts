/**
 * Shared pieces of the benchmark scripts: arguments, statistics, temporary directories, raw
 * framing (the WAL's own frame format and CRC-32C, written with plain `node:fs`), and the report
 * format every workload script prints and `run.ts` collects.
 */
import * as NFS from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { BatchEncoder } from "../../src/internal/format/frame.js"
import { FrameCursor, type StopReason } from "../../src/internal/format/frame.js"
import { HEADER_SIZE, FLAG_CONTINUES, FrameKind } from "../../src/internal/format/constants.js"

/** `--name value` from the command line, or the fallback. */
export const argument = (name: string, fallback: number): number => {
  const index = process.argv.indexOf(`--${name}`)
  return index === -1 ? fallback : Number(process.argv[index + 1])
}

/** Whether `--name` is on the command line. */
export const flag = (name: string): boolean => process.argv.includes(`--${name}`)

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** The `p`-th percentile (0..100) by nearest rank. */
export const percentile = (values: ArrayLike<number>, p: number): number => {
  const sorted = Float64Array.from(values).sort()
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]!
}

/** A number with 3 significant digits and thousands separators. */
export const fmt = (value: number): string => {
  if (!Number.isFinite(value)) return String(value)
  const abs = Math.abs(value)
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3
  const rounded = abs >= 1000 ? Number(value.toPrecision(3)) : value
  return rounded.toLocaleString("en-US", { maximumFractionDigits: digits })
}

/** One measured system of a workload: a figure per run, and its ratio to the raw figure of the same run. */
export interface Series {
  readonly system: string
  readonly values: Array<number>
  readonly ratios: Array<number>
  /** Ratios to the Effect floor of the same run (bench/lib/floor.ts), when the workload measures one. */
  readonly floorRatios: Array<number>
  readonly note?: string
}

/** The result of one workload script, printed as JSON on the last line for `run.ts`. */
export interface WorkloadResult {
  readonly workload: string
  readonly title: string
  /** The unit of the figures, and whether higher is better. */
  readonly unit: string
  readonly higherIsBetter: boolean
  /** The system every ratio is taken against (usually "raw"). */
  readonly baseline: string
  /** The system of the second ratio column: the Effect floor of the same run. */
  readonly floor: string
  readonly series: Array<Series>
  readonly notes: Array<string>
}

export const RESULT_PREFIX = "@@result "

/** Collects per-run figures and prints the table of a workload. */
export class Report {
  readonly series = new Map<string, Series>()
  readonly notes: Array<string> = []

  constructor(
    readonly workload: string,
    readonly title: string,
    readonly unit: string,
    readonly higherIsBetter: boolean,
    readonly baseline = "raw",
    readonly floor = "effect-floor"
  ) {}

  /** Records one run: a figure per system, ratios against the baseline of the same run. */
  run(figures: Record<string, number>): void {
    const base = figures[this.baseline]
    const floor = figures[this.floor]
    for (const [system, value] of Object.entries(figures)) {
      let series = this.series.get(system)
      if (series === undefined) {
        series = { system, values: [], ratios: [], floorRatios: [] }
        this.series.set(system, series)
      }
      series.values.push(value)
      if (base !== undefined) series.ratios.push(value / base)
      if (floor !== undefined) series.floorRatios.push(value / floor)
    }
    const line = Object.entries(figures).map(([s, v]) => `${s} ${fmt(v)}`).join(", ")
    console.error(`  [${this.workload}] run ${this.series.get(Object.keys(figures)[0]!)!.values.length}: ${line}`)
  }

  note(text: string): void {
    this.notes.push(text)
    console.error(`  [${this.workload}] note: ${text}`)
  }

  /** Prints the table and the machine-readable result. */
  print(): WorkloadResult {
    const result: WorkloadResult = {
      workload: this.workload,
      title: this.title,
      unit: this.unit,
      higherIsBetter: this.higherIsBetter,
      baseline: this.baseline,
      floor: this.floor,
      series: [...this.series.values()],
      notes: this.notes
    }
    console.log(renderTable(result))
    console.log(RESULT_PREFIX + JSON.stringify(result))
    return result
  }
}

/**
 * The rate of `measured` over the rate of `reference`, the two run back to back: `measured` first
 * in even pairs, second in odd ones, so that neither always meets the state the other leaves.
 */
export const backToBack = async (
  pair: number,
  measured: () => number | Promise<number>,
  reference: () => number | Promise<number>
): Promise<number> => {
  if (pair % 2 === 0) {
    const rate = await measured()
    return rate / (await reference())
  }
  const referenceRate = await reference()
  return (await measured()) / referenceRate
}

/** `median (min-max)`. */
export const spread = (values: ReadonlyArray<number>): string =>
  values.length === 0 ? "-" : `${fmt(median(values))} (${fmt(Math.min(...values))}-${fmt(Math.max(...values))})`

/** A markdown table of one workload. */
export const renderTable = (result: WorkloadResult): string => {
  const withFloor = result.series.some((series) => series.floorRatios.length > 0)
  const ratioCell = (ratios: ReadonlyArray<number>) => ratios.length ? spread(ratios.map((r) => Math.round(r * 100) / 100)) : "-"
  const time = result.higherIsBetter ? "" : "time "
  const lines = [
    `### ${result.workload}: ${result.title}`,
    "",
    `| system | ${result.unit}, median (min-max) | ${time}ratio to ${result.baseline}, median (min-max) |${withFloor ? ` ${time}ratio to ${result.floor} |` : ""}`,
    `|---|---:|---:|${withFloor ? "---:|" : ""}`
  ]
  for (const series of result.series) {
    lines.push(`| ${series.system} | ${spread(series.values)} | ${ratioCell(series.ratios)} |${withFloor ? ` ${ratioCell(series.floorRatios)} |` : ""}`)
  }
  for (const note of result.notes) lines.push("", `- ${note}`)
  return lines.join("\n") + "\n"
}

/** A fresh directory under the OS temp directory. */
export const makeTempDir = (label: string): string => NFS.mkdtempSync(Path.join(Os.tmpdir(), `effect-wal-bench-${label}-`))

export const removeDir = (dir: string): void => NFS.rmSync(dir, { recursive: true, force: true })

/** Bytes free for an unprivileged user on the filesystem of the OS temp directory. */
export const freeBytes = (): number => {
  const stats = NFS.statfsSync(Os.tmpdir())
  return stats.bavail * stats.bsize
}

/** Deterministic payloads: `count` distinct arrays of `size` bytes (reused round-robin). */
export const payloads = (size: number, count = 64): Array<Uint8Array> =>
  Array.from({ length: count }, (_, k) => {
    const bytes = new Uint8Array(size)
    for (let i = 0; i < size; i++) bytes[i] = (i * 31 + k * 17 + 7) & 0xff
    return bytes
  })

export const seconds = (since: number): number => (performance.now() - since) / 1000

/** Keeps the CPU busy for `micros` µs: the work a simulated producer does between two appends. */
export const spin = (micros: number): void => {
  const until = performance.now() + micros / 1000
  while (performance.now() < until) {
    // busy on purpose
  }
}

/** The seed raw framing uses (any WAL's seed costs the same). */
export const RAW_SEED = 0x1234_5678

/**
 * The raw limit's writer: the WAL's frame format with CRC-32C (the project's `BatchEncoder`, so
 * the same checksum code), written with synchronous `node:fs` calls and `fdatasync`. No queue, no
 * fibers, no Effect: the best a Node process can do for the same bytes.
 */
export class RawLog {
  readonly fd: number
  readonly encoder = new BatchEncoder(RAW_SEED)
  sequence = 1
  written = HEADER_SIZE

  /** The file's size: `written` plus what was allocated ahead. */
  private allocated = HEADER_SIZE

  constructor(
    readonly path: string,
    /** Extend the file by this much (`ftruncate`) when a write would pass its end, as the WAL does; 0: never. */
    readonly allocateAhead = 0
  ) {
    this.fd = NFS.openSync(path, "w+")
    NFS.writeSync(this.fd, new Uint8Array(HEADER_SIZE))
  }

  /** Frames `batch` as one atomic batch into the encoder (no I/O). */
  frame(batch: ReadonlyArray<Uint8Array>, timestamp: number): void {
    const count = batch.length
    for (let i = 0; i < count; i++) {
      this.encoder.frame(FrameKind.data, i < count - 1 ? FLAG_CONTINUES : 0, this.sequence++, timestamp, this.written, batch[i]!)
    }
  }

  /** Writes what is framed, in one write. */
  flush(): void {
    const bytes = this.encoder.bytes()
    if (this.allocateAhead > 0 && this.written + bytes.length > this.allocated) {
      this.allocated = this.written + bytes.length + this.allocateAhead
      NFS.ftruncateSync(this.fd, this.allocated)
    }
    let offset = 0
    while (offset < bytes.length) offset += NFS.writeSync(this.fd, bytes, offset, bytes.length - offset, null)
    this.written += bytes.length
    this.encoder.reset()
  }

  sync(): void {
    NFS.fdatasyncSync(this.fd)
  }

  close(): void {
    NFS.closeSync(this.fd)
  }
}

/**
 * Raw's reader: a file of frames read in large chunks with `fs.readSync` and walked by the
 * project's `FrameCursor`, which verifies every frame's CRC-32C. The caller runs `cursor.next()`
 * until it stops, then `refill` reads on. With `freshBuffers` every read goes into a new buffer
 * instead of reusing one, as a reader that lends views of its buffers must: zeroed as
 * `new Uint8Array` makes it (as the WAL's reader does), or unzeroed from `Buffer.allocUnsafeSlow`.
 */
export class RawFrames {
  readonly cursor: FrameCursor
  private readonly fd: number
  private fileOffset = HEADER_SIZE
  private closed = false

  constructor(
    readonly path: string,
    seed: number,
    maxPayload: number,
    readSize: number,
    readonly freshBuffers: false | "zeroed" | "unzeroed" = false
  ) {
    this.fd = NFS.openSync(path, "r")
    this.cursor = new FrameCursor(seed, maxPayload)
    this.cursor.reset(new Uint8Array(readSize), 0, 0, -1)
  }

  /**
   * Reads on after the cursor stopped with `stop`, keeping the bytes it has not decoded. Returns
   * false at the end of the file, which it then closes; throws on a bad frame, or on an incomplete
   * one at the end.
   */
  refill(stop: StopReason): boolean {
    if (this.closed) return false
    const cursor = this.cursor
    const previous = cursor.buffer
    const kept = cursor.end - cursor.position
    if (stop !== "end" && stop !== "incomplete") throw new Error(`raw frames: ${stop} at ${this.fileOffset - kept} in ${this.path}`)
    let buffer = previous
    if (kept > 0 && cursor.position === 0 && kept === previous.length) {
      buffer = new Uint8Array(previous.length * 2)
      buffer.set(previous)
    } else if (this.freshBuffers !== false) {
      buffer = this.freshBuffers === "zeroed" ? new Uint8Array(previous.length) : Buffer.allocUnsafeSlow(previous.length)
      buffer.set(previous.subarray(cursor.position, cursor.end))
    } else previous.copyWithin(0, cursor.position, cursor.end)
    const n = NFS.readSync(this.fd, buffer, kept, buffer.length - kept, this.fileOffset)
    this.fileOffset += n
    if (n === 0) {
      if (kept !== 0) throw new Error(`raw frames: incomplete frame at ${this.fileOffset - kept} in ${this.path}`)
      this.close()
      return false
    }
    const end = kept + n
    // The first frame's sequence (its low 32 bits) is where the file's sequences start.
    const expected = cursor.expectedSequence < 0 && end >= 32 ? new DataView(buffer.buffer, buffer.byteOffset).getUint32(16, true) : cursor.expectedSequence
    cursor.reset(buffer, 0, end, expected)
    return true
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    NFS.closeSync(this.fd)
  }
}

/**
 * The raw limit's reader: every frame of the file at `path` through `RawFrames`, calling
 * `onFrame(buffer, start, end)` for each payload. Returns the number of data frames.
 */
export const rawVerify = (
  path: string,
  seed: number,
  maxPayload: number,
  onFrame: (buffer: Uint8Array, start: number, end: number) => void,
  chunkBytes = 1024 * 1024,
  freshBuffers: false | "zeroed" | "unzeroed" = false
): number => {
  const frames = new RawFrames(path, seed, maxPayload, chunkBytes, freshBuffers)
  try {
    const cursor = frames.cursor
    let count = 0
    for (;;) {
      let result = cursor.next()
      while (result === "frame") {
        if (cursor.kind !== FrameKind.seal) {
          count++
          onFrame(cursor.buffer, cursor.payloadStart, cursor.payloadEnd)
        }
        result = cursor.next()
      }
      if (!frames.refill(result)) return count
    }
  } finally {
    frames.close()
  }
}

/** Peak resident set size of this process so far, in bytes (VmHWM). */
export const peakRss = (): number => {
  try {
    const status = NFS.readFileSync("/proc/self/status", "utf8")
    const match = /VmHWM:\s+(\d+) kB/.exec(status)
    if (match) return Number(match[1]) * 1024
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024
}

/** Machine, Node and filesystem, for the report header. */
export const environment = (): Record<string, string> => {
  const cpus = Os.cpus()
  let filesystem = "unknown"
  try {
    const mounts = NFS.readFileSync("/proc/mounts", "utf8").split("\n").map((l) => l.split(" "))
    const tmp = NFS.realpathSync(Os.tmpdir())
    let best = ""
    for (const [device, mount, type] of mounts) {
      if (mount !== undefined && tmp.startsWith(mount) && mount.length >= best.length) {
        best = mount
        filesystem = `${type} (${device} on ${mount})`
      }
    }
  } catch {
    // not Linux
  }
  return {
    date: new Date().toISOString().slice(0, 10),
    machine: `${cpus.length} x ${cpus[0]?.model ?? "cpu"}, ${Math.round(Os.totalmem() / 2 ** 30)} GiB RAM`,
    os: `${Os.type()} ${Os.release()}`,
    node: process.version,
    filesystem,
    tmpdir: Os.tmpdir()
  }
}
