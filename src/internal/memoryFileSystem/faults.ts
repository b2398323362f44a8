/** Fault plans: deterministic I/O failures armed through `Control` and consulted by every sync and write. */
import * as Random from "./random.js"

/** Decides whether a fault applies to an absolute path. */
export type PathMatcher = (path: string) => boolean

interface Plan {
  readonly description: string
  triggered: number
}

/** Fails the `nth` matching sync (or every one from the `nth` on) with EIO. */
export interface SyncFailure extends Plan {
  readonly _tag: "SyncFailure"
  readonly nth: number
  readonly persistent: boolean
  readonly matches: PathMatcher
  seen: number
}

/** How many bytes a failing write stores before it fails: a fixed count or one drawn from a seed. */
export type ShortWrite = { readonly bytes: number } | { readonly seed: number }

/** Fails the `nth` matching write with `code`, optionally after a short write. */
export interface WriteFailure extends Plan {
  readonly _tag: "WriteFailure"
  readonly nth: number
  readonly code: "EIO" | "ENOSPC"
  readonly shortWrite: ShortWrite | undefined
  readonly matches: PathMatcher
  seen: number
  /** The descriptor whose next write fails, after a short write. */
  failNextOn: number | undefined
}

/** Sends the `nth` matching write to another offset of the same file, chosen by `seed`. */
export interface MisdirectedWrite extends Plan {
  readonly _tag: "MisdirectedWrite"
  readonly nth: number
  readonly seed: number
  readonly matches: PathMatcher
  seen: number
}

/** Brings the file last removed from `path` back at the next crash. */
export interface Revival extends Plan {
  readonly _tag: "Revival"
  readonly path: string
  spent: boolean
}

/** A bit flipped in durable data; applied when armed, kept for the report. */
export interface BitFlip extends Plan {
  readonly _tag: "BitFlip"
}

/** Every kind of fault plan. */
export type Fault = SyncFailure | WriteFailure | MisdirectedWrite | Revival | BitFlip

/** What a write does under the armed faults. */
export type WriteOutcome =
  | { readonly _tag: "Proceed" }
  | { readonly _tag: "Fail"; readonly code: "EIO" | "ENOSPC" }
  | { readonly _tag: "Short"; readonly length: number }
  | { readonly _tag: "Misdirect"; readonly offset: number }

/** A write about to happen, as the faults see it. */
export interface WriteRequest {
  readonly descriptor: number
  readonly path: string
  readonly offset: number
  readonly length: number
  readonly fileLength: number
}

const proceed: WriteOutcome = { _tag: "Proceed" }

/** Counts a sync against the armed plans; `true` when it must fail with EIO. */
export const onSync = (faults: ReadonlyArray<Fault>, path: string): boolean => {
  let failed = false
  for (const fault of faults) {
    if (fault._tag !== "SyncFailure" || !fault.matches(path)) continue
    fault.seen++
    if (fault.seen === fault.nth || (fault.persistent && fault.seen > fault.nth)) {
      fault.triggered++
      failed = true
    }
  }
  return failed
}

/** Counts a write against the armed plans and decides its outcome; the first plan to fire wins. */
export const onWrite = (faults: ReadonlyArray<Fault>, request: WriteRequest): WriteOutcome => {
  for (const fault of faults) {
    if (fault._tag === "WriteFailure" && fault.failNextOn === request.descriptor) {
      fault.failNextOn = undefined
      return { _tag: "Fail", code: fault.code }
    }
  }
  let outcome: WriteOutcome = proceed
  for (const fault of faults) {
    if ((fault._tag !== "WriteFailure" && fault._tag !== "MisdirectedWrite") || !fault.matches(request.path)) continue
    fault.seen++
    if (fault.seen !== fault.nth || outcome !== proceed) continue
    fault.triggered++
    if (fault._tag === "MisdirectedWrite") {
      outcome = { _tag: "Misdirect", offset: misdirectedOffset(fault.seed, request) }
    } else {
      const length = shortLength(fault.shortWrite, request.length)
      if (length > 0) {
        fault.failNextOn = request.descriptor
        outcome = { _tag: "Short", length }
      } else {
        outcome = { _tag: "Fail", code: fault.code }
      }
    }
  }
  return outcome
}

/** Bytes stored by a short write of `length` bytes: at least 1 and fewer than `length`, or 0 for none. */
const shortLength = (shortWrite: ShortWrite | undefined, length: number): number => {
  if (shortWrite === undefined || length < 2) return 0
  if ("bytes" in shortWrite) return Math.max(0, Math.min(shortWrite.bytes, length - 1))
  return 1 + Random.make(shortWrite.seed).int(length - 1)
}

/** An offset in `[0, max(fileLength, offset, 1)]` other than the intended one, drawn from `seed`. */
const misdirectedOffset = (seed: number, request: WriteRequest): number => {
  const limit = Math.max(request.fileLength, request.offset, 1)
  const drawn = Random.make(seed).int(limit)
  return drawn < request.offset ? drawn : drawn + 1
}

const describeScope = (paths: string | undefined): string => paths === undefined ? "" : ` on ${paths}`

const ordinal = (n: number): string => `#${n}`

/** The description of a sync failure plan. */
export const describeSyncFailure = (nth: number, persistent: boolean, paths: string | undefined): string =>
  `${persistent ? `fail every sync from ${ordinal(nth)} on` : `fail sync ${ordinal(nth)}`} with EIO${describeScope(paths)}`

/** The description of a write failure plan. */
export const describeWriteFailure = (
  nth: number,
  code: "EIO" | "ENOSPC",
  shortWrite: ShortWrite | undefined,
  paths: string | undefined
): string => {
  const short = shortWrite === undefined
    ? ""
    : "bytes" in shortWrite
    ? ` after a short write of ${shortWrite.bytes} bytes`
    : ` after a short write of a length drawn from seed ${shortWrite.seed}`
  return `fail write ${ordinal(nth)} with ${code}${short}${describeScope(paths)}`
}

/** The description of a misdirected write plan. */
export const describeMisdirectedWrite = (nth: number, seed: number, paths: string | undefined): string =>
  `misdirect write ${ordinal(nth)} to another offset of its file drawn from seed ${seed}${describeScope(paths)}`
