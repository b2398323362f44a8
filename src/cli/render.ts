/**
 * Text and JSON rendering for the `effect-wal` CLI: reports as aligned text, values as JSON, payloads
 * decoded by the codec named in the segment header, and the progress line of `verify`.
 */
import { Option, Predicate } from "effect"
import * as Codec from "../Codec.js"
import type { Description, Problem, RepairReport, Stats, VerifyReport } from "../Inspect.js"
import type { TornTail } from "../Wal.js"

const baseCodecs: Record<string, Codec.Service> = { json: Codec.json, msgpack: Codec.msgpack, bytes: Codec.bytes }
const transforms: Record<string, Codec.Transform> = { gzip: Codec.gzip }

/** The codec a segment header names (`json`, `msgpack`, `bytes`, each with `+gzip` transforms); `None` when unknown. */
export const codecFor = (id: string): Option.Option<Codec.Service> => {
  const [base, ...rest] = id.split("+")
  if (!Object.hasOwn(baseCodecs, base!)) return Option.none()
  let codec = baseCodecs[base!]!
  for (const name of rest) {
    if (!Object.hasOwn(transforms, name)) return Option.none()
    codec = Codec.withTransform(codec, transforms[name]!)
  }
  return Option.some(codec)
}

/** Base64 of bytes. */
export const base64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")

/**
 * A decoded value as JSON can hold it: byte arrays as base64, bigints and non-finite numbers as
 * strings, dates as ISO strings, maps as `[key, value]` pairs, sets as arrays, `undefined` as null.
 * Options become their value or null.
 */
export const toJsonValue = (value: unknown): unknown => {
  if (value === undefined) return null
  if (typeof value === "bigint") return value.toString()
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value)
  if (value instanceof Uint8Array) return base64(value)
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? String(value) : value.toISOString()
  if (Array.isArray(value)) return value.map(toJsonValue)
  if (value instanceof Map) return Array.from(value, ([k, v]) => [toJsonValue(k), toJsonValue(v)])
  if (value instanceof Set) return Array.from(value, toJsonValue)
  if (Option.isOption(value)) return Option.match(value, { onNone: () => null, onSome: toJsonValue })
  if (Predicate.isObject(value) && typeof value !== "function") {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = toJsonValue(v)
    return out
  }
  return value
}

/** Pretty JSON of a report. */
export const json = (value: unknown): string => JSON.stringify(toJsonValue(value), null, 2)

/** A byte count for people: `980 B`, `3.1 KiB`, `12.0 MiB`. */
export const formatBytes = (bytes: number): string => {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"]
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`
}

const table = (rows: ReadonlyArray<ReadonlyArray<string>>, indent = ""): Array<string> => {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  return rows.map((row) => indent + row.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd())
}

const range = (first: number, last: number) => last < first ? "none" : first === last ? `${first}` : `${first}-${last}`

/** One line per problem: `corruption: FILE at offset N: reason`. */
export const problemLine = (problem: Problem): string => `${problem.problem}: ${problem.file} at offset ${problem.offset}: ${problem.reason}`

/** The line that reports a torn tail. */
export const tornTailLine = (torn: TornTail): string =>
  `torn tail: ${torn.file} at offset ${torn.offset}: ${torn.reason} (${torn.bytes} bytes` +
  `${torn.entries > 0 ? `, ${torn.entries} entries of an unfinished batch` : ""}); the next writer's recovery cuts it`

/** `inspect` as text. */
export const describeText = (d: Description): string => {
  const lock = Option.match(d.lock, {
    onNone: () => "none",
    onSome: (info) =>
      Option.match(info.holder, {
        onNone: () => `unreadable lock file (${info.status})`,
        onSome: (h) => `pid ${h.pid} on ${h.hostname} since ${new Date(h.acquiredAt).toISOString()} (${info.status})`
      })
  })
  const lines = table([
    ["directory", d.directory],
    ["WAL id", d.walId],
    ["format version", String(d.version)],
    ["codec", d.codecId],
    ["segments", String(d.segments.length)]
  ])
  lines.push(...table([
    ["index", "name", "state", "sequences", "entries", "bytes"],
    ...d.segments.map((s) => [String(s.index), s.name, s.state, range(s.firstSequence, s.lastSequence), String(s.entries), String(s.bytes)])
  ], "  "))
  lines.push(...table([
    ["last sequence", String(d.lastSequence)],
    ["last checkpoint", d.lastCheckpoint === 0 ? "none" : String(d.lastCheckpoint)],
    ["lock", lock]
  ]))
  if (d.ignoredFiles.length > 0) lines.push(`other files: ${d.ignoredFiles.join(", ")}`)
  if (Option.isSome(d.tornTail)) lines.push(tornTailLine(d.tornTail.value))
  for (const problem of d.problems) lines.push(problemLine(problem))
  return lines.join("\n")
}

/** `verify` as text. */
export const verifyText = (report: VerifyReport, all: boolean): string => {
  const lines = report.problems.map(problemLine)
  if (Option.isSome(report.tornTail)) lines.push(tornTailLine(report.tornTail.value))
  const counts = `${report.segments} segments, ${report.frames} frames, ${report.entries} entries, ` +
    `${formatBytes(report.bytes)} in ${report.elapsedMillis} ms; last sequence ${report.lastSequence}`
  if (report.problems.length === 0) lines.push(`ok: ${counts}`)
  else {
    const found = `${report.problems.length} problem${report.problems.length === 1 ? "" : "s"}`
    lines.push(`FAILED: ${found} (${counts})${all ? "" : "; stopped at the first, --all lists every one"}`)
  }
  return lines.join("\n")
}

/** `stats` as text. */
export const statsText = (s: Stats): string => {
  const mean = s.entries === 0 ? 0 : s.payloadBytes / s.entries
  const time = (t: Option.Option<number>) => Option.match(t, { onNone: () => "-", onSome: (ms) => new Date(ms).toISOString() })
  const lines = table([
    ["directory", s.directory],
    ["segments", `${s.segments} (${formatBytes(s.bytes)}, ${s.bytes} bytes)`],
    ["entries", `${s.entries} (${s.dataEntries} data, ${s.checkpointEntries} checkpoint)`],
    ["sequences", s.entries === 0 ? "none" : range(s.firstSequence, s.lastSequence)],
    ["payload bytes", `${s.payloadBytes} (smallest ${s.smallestPayload}, largest ${s.largestPayload}, mean ${mean.toFixed(1)})`],
    ["first timestamp", time(s.firstTimestamp)],
    ["last timestamp", time(s.lastTimestamp)],
    ["time span", `${(s.spanMillis / 1000).toFixed(3)} s`]
  ])
  if (s.histogram.length > 0) {
    lines.push("payload sizes")
    const most = Math.max(...s.histogram.map((b) => b.count))
    lines.push(...table(s.histogram.map((b) => [
      `<= ${formatBytes(b.upTo)}`,
      String(b.count),
      "#".repeat(Math.ceil((b.count / most) * 40))
    ]), "  "))
  }
  if (Option.isSome(s.tornTail)) lines.push(tornTailLine(s.tornTail.value))
  return lines.join("\n")
}

/** `repair` as text. */
export const repairText = (r: RepairReport): string => {
  const lines: Array<string> = []
  Option.map(r.lockTakenOver, (holder) => lines.push(`took over a stale lock held by ${holder}`))
  if (!r.repaired) lines.push(`nothing to repair: ${r.directory} has no corruption (last sequence ${r.lastSequence}); nothing was changed`)
  Option.map(r.problem, (problem) => lines.push(problemLine(problem)))
  Option.map(r.backupDirectory, (dir) => lines.push(`saved ${r.savedBytes} bytes that are cut to ${dir}`))
  Option.map(r.truncated, (t) => lines.push(`truncated ${t.file} at offset ${t.offset} (${t.bytes} bytes cut)`))
  for (const name of r.removedSegments) lines.push(`removed ${name}`)
  if (r.repaired) lines.push(`the log now ends at sequence ${r.lastSequence} and opens cleanly`)
  Option.map(r.tornTail, (torn) => lines.push(tornTailLine(torn)))
  return lines.join("\n")
}

/** The progress line of `verify`: a bar, bytes done of total, and the rate. */
export const progressLine = (done: number, total: number, elapsedMillis: number): string => {
  const fraction = total === 0 ? 1 : Math.min(done / total, 1)
  const filled = Math.round(fraction * 30)
  const rate = elapsedMillis > 0 ? (done / elapsedMillis) * 1000 : 0
  return `verifying [${"#".repeat(filled)}${"-".repeat(30 - filled)}] ${(fraction * 100).toFixed(1).padStart(5)}% ` +
    `${formatBytes(done)} / ${formatBytes(total)}  ${formatBytes(rate)}/s`
}
