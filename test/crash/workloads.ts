/**
 * The small workloads of the crash exploration: 3 to 8 steps each, over the four durability modes,
 * with segments small enough (1 or 2 KiB) that a few appends rotate.
 */
import { append, appendAll, burst, close, reopen, sync, type Workload } from "./harness.js"

const KiB = 1024

export const workloads: ReadonlyArray<Workload> = [
  // strict: every acknowledged append survives any crash
  { name: "strict-appends", mode: "strict", segmentBytes: KiB, ops: [append(40), append(80), append(120)] },
  { name: "strict-rotate", mode: "strict", segmentBytes: KiB, ops: [append(300), append(300), append(300), append(300)] },
  { name: "strict-batch", mode: "strict", segmentBytes: KiB, ops: [append(50), appendAll(100, 100, 100), append(20)] },
  { name: "strict-batch-rotate", mode: "strict", segmentBytes: KiB, ops: [append(200), append(200), appendAll(200, 200, 100), append(60)] },
  { name: "strict-reopen", mode: "strict", segmentBytes: KiB, ops: [append(60), reopen, append(60), append(60)] },
  { name: "strict-close", mode: "strict", segmentBytes: KiB, ops: [append(100), append(100), close] },
  { name: "strict-sync", mode: "strict", segmentBytes: KiB, ops: [append(70), sync, append(70), sync] },
  { name: "strict-burst", mode: "strict", segmentBytes: KiB, ops: [burst(80, 80, 80, 80), append(40)] },
  { name: "strict-burst-rotate", mode: "strict", segmentBytes: KiB, ops: [burst(150, 150, 150, 150, 150, 150), burst(150, 150, 150)] },
  {
    name: "strict-mixed",
    mode: "strict",
    segmentBytes: KiB,
    ops: [append(60), appendAll(90, 90), burst(70, 70, 70), sync, reopen, append(200), close]
  },
  { name: "strict-2k-batches", mode: "strict", segmentBytes: 2 * KiB, ops: [appendAll(200, 200, 200, 200, 200), appendAll(200, 200, 200, 200, 200), append(300)] },
  { name: "strict-reopen-rotate", mode: "strict", segmentBytes: KiB, ops: [append(400), append(400), reopen, append(400), append(400)] },
  { name: "strict-large-entry", mode: "strict", segmentBytes: KiB, ops: [append(700), append(700), append(10)] },
  { name: "strict-verify-tail", mode: "strict", segmentBytes: KiB, verify: "tail", ops: [append(300), append(300), append(300), reopen, append(300), append(300)] },
  { name: "strict-reopen-empty", mode: "strict", segmentBytes: KiB, ops: [reopen, sync, reopen, append(50)] },
  { name: "strict-rotate-at-seal", mode: "strict", segmentBytes: KiB, ops: [appendAll(380, 380), append(10), reopen, appendAll(380, 380), append(10)] },
  // grouped: as strict, after a gathering window
  { name: "grouped-appends", mode: "grouped", segmentBytes: KiB, ops: [append(50), append(150), append(250)] },
  { name: "grouped-burst", mode: "grouped", segmentBytes: KiB, ops: [burst(60, 60, 60, 60, 60), burst(100, 100, 100), append(30)] },
  { name: "grouped-batch-rotate", mode: "grouped", segmentBytes: KiB, ops: [appendAll(200, 200, 200), appendAll(200, 200, 200), reopen, append(50)] },
  { name: "grouped-reopen-burst", mode: "grouped", segmentBytes: 2 * KiB, ops: [append(100), reopen, burst(300, 300, 300), close] },
  // buffered (fsync every 300 bytes): acknowledged = written to the OS
  { name: "buffered-appends", mode: "buffered", segmentBytes: KiB, ops: [append(100), append(100), append(100), append(100), append(100)] },
  { name: "buffered-sync", mode: "buffered", segmentBytes: KiB, ops: [append(60), append(60), sync, append(60)] },
  { name: "buffered-rotate", mode: "buffered", segmentBytes: KiB, ops: [append(250), append(250), append(250), append(250), append(250)] },
  { name: "buffered-burst-close", mode: "buffered", segmentBytes: KiB, ops: [burst(50, 50, 50, 50), append(40), close] },
  { name: "buffered-reopen", mode: "buffered", segmentBytes: KiB, ops: [append(80), append(80), reopen, append(80), sync] },
  // none: fsync only at seal, sync and close
  { name: "none-appends", mode: "none", segmentBytes: KiB, ops: [append(40), append(40), append(40), append(40)] },
  { name: "none-sync", mode: "none", segmentBytes: KiB, ops: [append(50), sync, append(50), append(50), sync, append(50)] },
  { name: "none-rotate", mode: "none", segmentBytes: KiB, ops: [append(300), append(300), append(300), append(300), append(300), append(300)] },
  { name: "none-batch-close", mode: "none", segmentBytes: KiB, ops: [appendAll(60, 60, 60), append(60), close] },
  { name: "none-reopen-rotate", mode: "none", segmentBytes: KiB, ops: [append(300), append(300), reopen, append(300), append(300), close] },
  { name: "none-burst-sync", mode: "none", segmentBytes: 2 * KiB, ops: [burst(90, 90, 90, 90, 90), sync, appendAll(120, 120), append(40)] },
  { name: "none-large-batch-rotate", mode: "none", segmentBytes: KiB, ops: [appendAll(350, 350), appendAll(350, 350), sync, append(100), reopen, append(100)] }
]
