/**
 * W5: opening (recovery of) a 1 GiB WAL of 64 MiB segments: the default open, which verifies every
 * frame of every segment, against the raw read-and-verify rate of the same bytes; the opt-in fast
 * open (`verify: "tail"`) against the open of a one-segment WAL holding what the big WAL's last
 * segment holds; and the default open of the big WAL with a torn tail (half a frame at the end).
 *
 *   npx tsx bench/w5-open.ts [--runs 3] [--mib 1024] [--entry 1024]
 */
import { Effect } from "effect"
import * as NFS from "node:fs"
import * as Path from "node:path"
import * as Durability from "../src/Durability.js"
import { FRAME_HEADER_SIZE } from "../src/internal/format/constants.js"
import { frameSeed } from "../src/internal/format/frame.js"
import * as Wal from "../src/Wal.js"
import { argument, fmt, freeBytes, makeTempDir, payloads, rawVerify, removeDir, Report } from "./lib/harness.js"
import { layers, rotate, runWith, type WalSystem, walSystems } from "./lib/systems.js"

const RUNS = argument("runs", 3)
let MIB = argument("mib", 1024)
const ENTRY = argument("entry", 1024)
const SEGMENT = 64 * 1024 * 1024
const BATCH = 1000

const segmentFiles = (dir: string) => NFS.readdirSync(dir).filter((n) => n.endsWith(".wal")).sort().map((n) => Path.join(dir, n))

/** Writes `entries` entries of ENTRY bytes through the WAL (fast layer, durability none). */
const build = (directory: string, entries: number) =>
  runWith(
    layers["wal-fast"],
    Effect.gen(function*() {
      const log = yield* Wal.make({ directory, durability: Durability.none, segmentBytes: SEGMENT })
      const data = payloads(ENTRY)
      for (let i = 0; i < entries; i += BATCH) {
        yield* log.appendAll(Array.from({ length: Math.min(BATCH, entries - i) }, (_, k) => data[(i + k) & 63]!))
      }
      yield* log.sync
      return log.recovery.walId
    })
  )

/** Milliseconds of `Wal.make` (the open), and its report. */
const open = (system: WalSystem, directory: string, verify: "full" | "tail") =>
  runWith(
    layers[system],
    Effect.gen(function*() {
      const started = performance.now()
      const log = yield* Wal.make({ directory, durability: Durability.none, segmentBytes: SEGMENT, verify })
      return { ms: performance.now() - started, report: log.recovery }
    })
  )

/** Appends half of a frame to the last segment: a torn tail recovery must cut. */
const tear = (dir: string) => {
  const last = segmentFiles(dir).at(-1)!
  const half = new Uint8Array((FRAME_HEADER_SIZE + ENTRY) >> 1)
  new DataView(half.buffer).setUint32(4, ENTRY, true)
  half[8] = 1
  half.fill(0xab, FRAME_HEADER_SIZE)
  NFS.appendFileSync(last, half)
}

const main = async () => {
  const free = freeBytes()
  const wanted = MIB * 1024 * 1024 * 1.25
  if (free < wanted * 2) {
    const scaled = Math.max(128, Math.floor(free / 2 / 1.25 / 1024 / 1024 / 64) * 64)
    console.error(`  [W5] only ${fmt(free / 2 ** 30)} GiB free: scaling the WAL down from ${MIB} MiB to ${scaled} MiB`)
    MIB = scaled
  }
  // Full segments, then a last segment about half full: the part a fast open still verifies.
  const perSegment = Math.floor((SEGMENT - 128 - 56) / (FRAME_HEADER_SIZE + ENTRY))
  const entries = (Math.max(1, Math.round(MIB / 64)) - 1) * perSegment + (perSegment >> 1)
  const dir = makeTempDir("w5")
  const big = Path.join(dir, "big")
  const small = Path.join(dir, "small")
  const full = new Report("W5-full", `default open (full verification) of a ${MIB} MiB WAL of 64 MiB segments, ${ENTRY} B entries`, "MB/s verified", true)
  const fast = new Report("W5-tail", `fast open (verify: "tail") of the same WAL vs the open of a one-segment WAL holding its last segment`, "ms", false, "one-segment")
  const torn = new Report("W5-torn", `default open of the same WAL with a torn tail (half a frame appended to the last segment)`, "ms", false, "intact")
  try {
    const walId = await build(big, entries)
    const files = segmentFiles(big)
    const bytes = files.reduce((sum, f) => sum + NFS.statSync(f).size, 0)
    const lastFirst = Number(Path.basename(files.at(-1)!).split("-")[1]!.slice(0, 20))
    await build(small, entries - lastFirst + 1)
    const seed = frameSeed(Uint8Array.from(Buffer.from(walId, "hex")))
    full.note(`${files.length} segments, ${fmt(bytes / 2 ** 20)} MiB, ${entries.toLocaleString("en-US")} entries; the files are in the page cache (just written), so this measures verification, not the disk. raw: fs.readSync in 1 MiB chunks and every frame's CRC-32C verified, file by file.`)
    for (let run = 0; run < RUNS; run++) {
      const rates: Record<string, number> = {}
      const times: Record<string, number> = {}
      const tornTimes: Record<string, number> = {}
      for (const system of rotate(["raw", ...walSystems], run)) {
        if (system === "raw") {
          const started = performance.now()
          let frames = 0
          for (const file of files) frames += rawVerify(file, seed, 16 << 20, () => {})
          const ms = performance.now() - started
          if (frames !== entries) throw new Error(`raw verified ${frames} of ${entries}`)
          rates.raw = bytes / 1e6 / (ms / 1000)
          continue
        }
        const s = system as WalSystem
        const opened = await open(s, big, "full")
        if (opened.report.lastSequence !== entries) throw new Error(`opened ${opened.report.lastSequence} of ${entries}`)
        rates[s] = bytes / 1e6 / (opened.ms / 1000)
        times[`${s} tail`] = (await open(s, big, "tail")).ms
        times[`${s} one-segment`] = (await open(s, small, "full")).ms
        tornTimes[`${s} intact`] = (await open(s, big, "full")).ms
        tear(big)
        const reopened = await open(s, big, "full")
        if (reopened.report.tornTail._tag !== "Some") throw new Error("the torn tail was not reported")
        tornTimes[`${s} torn`] = reopened.ms
      }
      full.run({ raw: rates.raw!, ...Object.fromEntries(walSystems.map((s) => [s, rates[s]!])) })
      // Ratios of the fast open are taken against the one-segment open of the same layer.
      fast.run({ "one-segment": times["wal-fast one-segment"]!, "wal-fast tail": times["wal-fast tail"]!, "wal-node one-segment": times["wal-node one-segment"]!, "wal-node tail": times["wal-node tail"]! })
      torn.run({ intact: tornTimes["wal-fast intact"]!, "wal-fast torn": tornTimes["wal-fast torn"]!, "wal-node intact": tornTimes["wal-node intact"]!, "wal-node torn": tornTimes["wal-node torn"]! })
    }
    fast.note("Time ratios against the wal-fast one-segment open (the one-segment WAL holds as many entries as the big WAL's last segment, about half a segment); the goal is at most 2x.")
    torn.note("Time ratios against the wal-fast open of the intact WAL.")
  } finally {
    removeDir(dir)
  }
  full.print()
  fast.print()
  torn.print()
}

await main()
