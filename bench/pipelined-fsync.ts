/**
 * Would a pipelined group commit beat W2's? Raw `node:fs`, no WAL: producers that each spend
 * `--cpu` µs of CPU per append (spinning) feed one log file allocated ahead, as the WAL's writer
 * does.
 *
 * - sync-N: the shape of the WAL's group commit with `NodeFastFileSystem`: N producers' appends,
 *   one `writeSync`, one blocking `fdatasyncSync`, and only then do the producers run again.
 * - pipelined: two cohorts of N/2 producers; one cohort's batch is synced with the threadpool's
 *   `fs.fdatasync` while the other cohort's producers run, so their CPU overlaps the fsync.
 *
 * The default `--cpu 4` is about a WAL producer's cost per append in W2 on ext4 (the WAL's batch
 * of 64 takes about 250 µs more than raw's). Figures are appends per second, median (min-max).
 *
 *   npx tsx bench/pipelined-fsync.ts [--runs 5] [--count 20000] [--producers 64] [--cpu 4]
 */
import * as NFS from "node:fs"
import * as Path from "node:path"
import { FRAME_HEADER_SIZE } from "../src/internal/format/constants.js"
import { argument, fmt, makeTempDir, median, removeDir, spin } from "./lib/harness.js"

const RUNS = argument("runs", 5)
const COUNT = argument("count", 20_000)
const PRODUCERS = argument("producers", 64)
const CPU_MICROS = argument("cpu", 4)
/** A W2 frame: 256 B of payload and the frame header. */
const FRAME = new Uint8Array(FRAME_HEADER_SIZE + 256).fill(7)
const ALLOCATED = 64 * 1024 * 1024

const openLog = (path: string): number => {
  const fd = NFS.openSync(path, "w+")
  NFS.ftruncateSync(fd, ALLOCATED)
  return fd
}

/** Batches of `batch` appends, each written and synced before the producers run again. */
const syncGroupCommit = (path: string, batch: number): number => {
  const fd = openLog(path)
  const buffer = new Uint8Array(FRAME.length * batch)
  let position = 0
  const started = performance.now()
  for (let done = 0; done < COUNT; done += batch) {
    const count = Math.min(batch, COUNT - done)
    for (let i = 0; i < count; i++) {
      spin(CPU_MICROS)
      buffer.set(FRAME, i * FRAME.length)
    }
    NFS.writeSync(fd, buffer, 0, count * FRAME.length, position)
    position += count * FRAME.length
    NFS.fdatasyncSync(fd)
  }
  NFS.closeSync(fd)
  return COUNT / ((performance.now() - started) / 1000)
}

/** Two cohorts: one cohort's batch is synced on the threadpool while the other's producers run. */
const pipelined = (path: string): Promise<{ rate: number; meanBatch: number }> =>
  new Promise((resolve) => {
    const fd = openLog(path)
    let queued = 0
    let inFlight = false
    let position = 0
    let done = 0
    let batches = 0
    const started = performance.now()
    const produce = () => {
      spin(CPU_MICROS)
      queued++
      if (!inFlight) flush()
    }
    const flush = () => {
      const count = queued
      if (count === 0) return
      queued = 0
      const buffer = new Uint8Array(FRAME.length * count)
      for (let i = 0; i < count; i++) buffer.set(FRAME, i * FRAME.length)
      NFS.writeSync(fd, buffer, 0, buffer.length, position)
      position += buffer.length
      inFlight = true
      batches++
      NFS.fdatasync(fd, () => {
        inFlight = false
        done += count
        if (done >= COUNT) {
          NFS.closeSync(fd)
          resolve({ rate: done / ((performance.now() - started) / 1000), meanBatch: done / batches })
          return
        }
        // The synced cohort's producers run while the batch written just below is synced.
        for (let i = 0; i < count; i++) queueMicrotask(produce)
        flush()
      })
    }
    queued = PRODUCERS / 2
    flush()
    for (let i = 0; i < PRODUCERS / 2; i++) queueMicrotask(produce)
  })

const dir = makeTempDir("pipelined")
try {
  const rows: Record<string, Array<number>> = { [`sync-${PRODUCERS}`]: [], [`sync-${PRODUCERS / 2}`]: [], pipelined: [] }
  const ratios: Array<number> = []
  for (let run = 1; run <= RUNS; run++) {
    const whole = syncGroupCommit(Path.join(dir, "whole"), PRODUCERS)
    const half = syncGroupCommit(Path.join(dir, "half"), PRODUCERS / 2)
    const { meanBatch, rate } = await pipelined(Path.join(dir, "pipelined"))
    rows[`sync-${PRODUCERS}`]!.push(whole)
    rows[`sync-${PRODUCERS / 2}`]!.push(half)
    rows.pipelined!.push(rate)
    ratios.push(rate / whole)
    console.log(
      `run ${run}: sync-${PRODUCERS} ${fmt(whole)}, sync-${PRODUCERS / 2} ${fmt(half)}, pipelined ${fmt(rate)} (batches of ${meanBatch.toFixed(1)})`
    )
  }
  console.log(`\n${COUNT} appends, ${PRODUCERS} producers, ${CPU_MICROS} µs of CPU per append; appends/s, median (min-max):`)
  for (const [name, values] of Object.entries(rows)) {
    console.log(`  ${name.padEnd(10)} ${fmt(median(values))} (${fmt(Math.min(...values))}-${fmt(Math.max(...values))})`)
  }
  console.log(`  pipelined / sync-${PRODUCERS}: ${median(ratios).toFixed(2)}x (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`)
} finally {
  removeDir(dir)
}
