import type * as PlatformPath from "@effect/platform/Path"
import type * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Option, Stream } from "effect"
import { spawnSync } from "node:child_process"
import * as NodeFs from "node:fs"
import { hostname } from "node:os"
import * as Path from "node:path"
import { Wal } from "../src/index.js"
import { decodeHeader, encodeHeader } from "../src/internal/format/header.js"
import * as Inspect from "../src/Inspect.js"
import * as F from "./fixtures/inspect.js"

const { cleanup, fresh } = F.trackedDirs()
afterAll(cleanup)

const exec = <A, E>(effect: Effect.Effect<A, E, FileSystem.FileSystem | PlatformPath.Path>) =>
  Effect.runPromise(Effect.either(effect).pipe(Effect.provide(NodeContext.layer)))

const ok = async <A, E>(effect: Effect.Effect<A, E, FileSystem.FileSystem | PlatformPath.Path>): Promise<A> =>
  Either.getOrThrowWith(await exec(effect), (e) => new Error(`unexpected failure: ${String(e)}`))

const failure = async <A, E>(effect: Effect.Effect<A, E, FileSystem.FileSystem | PlatformPath.Path>): Promise<E> =>
  Either.match(await exec(effect), {
    onLeft: (e) => e,
    onRight: () => {
      throw new Error("expected a failure")
    }
  })

const collect = (dir: string, options?: Inspect.EntriesOptions) =>
  Effect.map(Stream.runCollect(Inspect.entries(dir, options)), Chunk.toArray)

/** Opens the WAL with `Wal.make` (full verification) and returns what recovery says and the entries. */
const reopen = (dir: string, payloads: "json" | "bytes" = "json") =>
  ok(Effect.scoped(Effect.gen(function*() {
    const wal = payloads === "json" ? yield* Wal.make({ directory: dir, schema: F.Event }) : yield* Wal.make({ directory: dir })
    const seqs = (yield* Stream.runCollect(wal.replay() as Stream.Stream<{ seq: number }, unknown>)).pipe(Chunk.toArray).map((e) => e.seq)
    return { recovery: wal.recovery, seqs }
  })))

/** Snapshot of every file of a directory tree: name -> bytes (hex). */
const snapshot = (dir: string): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const name of NodeFs.readdirSync(dir, { recursive: true }) as Array<string>) {
    const path = Path.join(dir, name)
    if (NodeFs.statSync(path).isFile()) out[name] = NodeFs.readFileSync(path).toString("hex")
  }
  return out
}

/** A WAL in one big segment, one strict append per frame, so later frames prove earlier ones durable. */
const oneSegment = (dir: string, count: number) =>
  ok(Effect.scoped(Effect.gen(function*() {
    const wal = yield* Wal.make({ directory: dir })
    for (let i = 1; i <= count; i++) yield* wal.append(new TextEncoder().encode(`entry ${i}`))
  }))).then(() => dir)

const lockFile = (dir: string, holder: object | string) =>
  NodeFs.writeFileSync(Path.join(dir, "LOCK"), typeof holder === "string" ? holder : JSON.stringify(holder))

describe("Inspect.describe", () => {
  it("describes a healthy log: id, version, codec, segments, last sequence and checkpoint", async () => {
    const dir = await F.healthy(fresh())
    const recovery = (await reopen(dir)).recovery
    const d = await ok(Inspect.describe(dir))
    expect(d).toMatchObject({
      directory: dir,
      walId: recovery.walId,
      version: 1,
      codecId: "json",
      lastSequence: F.HEALTHY_LAST_SEQUENCE,
      lastCheckpoint: F.HEALTHY_CHECKPOINT,
      problems: [],
      ignoredFiles: ["notes.txt"]
    })
    expect(Option.isNone(d.lock)).toBe(true)
    expect(d.segments.length).toBeGreaterThan(2)
    expect(d.segments.slice(0, -1).every((s) => s.state === "sealed" && !s.verified)).toBe(true)
    expect(d.segments.at(-1)).toMatchObject({ state: "active", verified: true, lastSequence: F.HEALTHY_LAST_SEQUENCE })
    for (let i = 1; i < d.segments.length; i++) {
      expect(d.segments[i]!.firstSequence).toBe(d.segments[i - 1]!.lastSequence + 1)
      expect(d.segments[i]!.index).toBe(d.segments[i - 1]!.index + 1)
    }
    expect(d.segments.reduce((n, s) => n + s.entries, 0)).toBe(F.HEALTHY_LAST_SEQUENCE)
    expect(d.segments[0]!.bytes).toBe(NodeFs.statSync(Path.join(dir, d.segments[0]!.name)).size)
  })

  it("reports a torn tail and a corruption in the active segment without failing", async () => {
    const torn = await F.tornTail(fresh())
    expect(Option.getOrThrow((await ok(Inspect.describe(torn))).tornTail).reason).toBe("incomplete frame")

    const dir = await oneSegment(fresh(), 5)
    const [segment] = F.segmentPaths(dir)
    F.flip(segment!, F.secondFrame(segment!) + 33)
    const d = await ok(Inspect.describe(dir))
    expect(d.problems).toHaveLength(1)
    expect(d.problems[0]).toMatchObject({ file: segment, offset: F.secondFrame(segment!), problem: "corruption" })
    // The frames after the damage were found again: four entries are readable, up to the fifth.
    expect(d.segments[0]).toMatchObject({ state: "active", entries: 4, lastSequence: 5 })
  })

  it("reports the lock holder and whether it is live", async () => {
    const dir = await F.healthy(fresh())
    const holder = { pid: process.ppid, hostname: hostname(), token: "t", acquiredAt: 1 }
    lockFile(dir, holder)
    expect(Option.getOrThrow((await ok(Inspect.describe(dir))).lock)).toEqual({
      holder: Option.some({ pid: process.ppid, hostname: hostname(), acquiredAt: 1 }),
      status: "live"
    })
    const gone = spawnSync(process.execPath, ["-e", ""]).pid!
    lockFile(dir, { ...holder, pid: gone })
    expect(Option.getOrThrow((await ok(Inspect.describe(dir))).lock).status).toBe("stale")
    lockFile(dir, { ...holder, hostname: "elsewhere" })
    expect(Option.getOrThrow((await ok(Inspect.describe(dir))).lock).status).toBe("unknown")
    lockFile(dir, "{ torn")
    expect(Option.getOrThrow((await ok(Inspect.describe(dir))).lock)).toEqual({ holder: Option.none(), status: "stale" })
    NodeFs.rmSync(Path.join(dir, "LOCK"))

    const held = await ok(Effect.scoped(Effect.flatMap(Wal.make({ directory: dir, schema: F.Event }), () => Inspect.describe(dir))))
    expect(Option.getOrThrow(held.lock)).toMatchObject({ status: "unknown", holder: Option.some({ pid: process.pid }) })
  })

  it("fails with WalFormatError for a foreign file, a newer version or no segment, WalIOError for no directory", async () => {
    expect(await failure(Inspect.describe(F.foreignFile(fresh())))).toMatchObject({ _tag: "WalFormatError", problem: "foreign-file" })
    expect(await failure(Inspect.describe(await F.newerVersion(fresh())))).toMatchObject({
      _tag: "WalFormatError",
      problem: "unsupported-version"
    })
    expect(await failure(Inspect.describe(fresh()))).toMatchObject({ _tag: "WalFormatError", problem: "foreign-file" })
    expect(await failure(Inspect.describe(Path.join(fresh(), "missing")))).toMatchObject({ _tag: "WalIOError", code: "ENOENT" })
  })

  it("shows segments below the reclaim point as archived", async () => {
    const dir = await F.healthy(fresh())
    const first = F.segmentPaths(dir)[0]!
    const copy = NodeFs.readFileSync(first)
    await ok(Effect.scoped(Effect.flatMap(Wal.make({ directory: dir, schema: F.Event }), (wal) => wal.reclaim(20))))
    expect(NodeFs.existsSync(first)).toBe(false)
    const reclaimed = await ok(Inspect.describe(dir))
    expect(reclaimed.problems).toEqual([])
    expect(reclaimed.segments[0]!.index).toBeGreaterThan(1)
    // A crash between the reclaim point and the removal leaves the segment behind.
    NodeFs.writeFileSync(first, copy)
    const d = await ok(Inspect.describe(dir))
    expect(d.segments[0]).toMatchObject({ index: 1, state: "archived", verified: false })
    expect(d.problems).toEqual([])
    const v = await ok(Inspect.verify(dir))
    expect(v.problems).toEqual([])
    expect((await ok(collect(dir)))[0]!.seq).toBe(d.segments[1]!.firstSequence)
  })
})

describe("Inspect.verify", () => {
  it("checks the head of the log against the reclaim point", async () => {
    const dir = await F.healthy(fresh())
    const segments = F.segmentPaths(dir)
    NodeFs.rmSync(segments[0]!)
    expect((await ok(Inspect.verify(dir))).problems[0]).toMatchObject({
      file: segments[1],
      reason: "the log starts at segment 2: segments from 1 are missing and were never reclaimed"
    })
    NodeFs.writeFileSync(Path.join(dir, "RECLAIMED"), "garbage")
    expect((await ok(Inspect.verify(dir, { all: true }))).problems[0]).toMatchObject({
      file: Path.join(dir, "RECLAIMED"),
      reason: "the reclaim point is unreadable"
    })
    const reclaimed = await F.healthy(fresh())
    await ok(Effect.scoped(Effect.flatMap(Wal.make({ directory: reclaimed, schema: F.Event }), (wal) => wal.reclaim(30))))
    const kept = F.segmentPaths(reclaimed)
    NodeFs.rmSync(kept[0]!)
    expect((await ok(Inspect.verify(reclaimed))).problems[0]!.reason).toMatch(/^the log should start at segment \d+ \(sequence \d+\), the reclaim point$/)
    kept.forEach((p) => NodeFs.rmSync(p, { force: true }))
    expect((await ok(Inspect.verify(reclaimed))).problems[0]).toMatchObject({
      file: Path.join(reclaimed, "RECLAIMED"),
      reason: "every segment from the reclaim point on is missing"
    })
  })

  it("verifies every frame of a healthy log and reports progress up to the total", async () => {
    const dir = await F.healthy(fresh())
    const progress: Array<Inspect.Progress> = []
    const report = await ok(Inspect.verify(dir, { onProgress: (p) => Effect.sync(() => progress.push(p)) }))
    expect(report).toMatchObject({ problems: [], entries: F.HEALTHY_LAST_SEQUENCE, lastSequence: F.HEALTHY_LAST_SEQUENCE })
    expect(report.frames).toBe(F.HEALTHY_LAST_SEQUENCE + report.segments - 1)
    expect(Option.getOrThrow(report.codecId)).toBe("json")
    const total = F.segmentPaths(dir).reduce((n, p) => n + NodeFs.statSync(p).size, 0)
    expect(report.bytes).toBe(total)
    expect(progress.at(-1)).toEqual({ bytesDone: total, bytesTotal: total })
  })

  it("reports a torn tail as no problem, as recovery cuts it", async () => {
    const dir = await F.tornTail(fresh())
    const report = await ok(Inspect.verify(dir))
    expect(report.problems).toEqual([])
    const torn = Option.getOrThrow(report.tornTail)
    expect(torn).toMatchObject({ file: F.segmentPaths(dir).at(-1), entries: 2, reason: "incomplete frame" })
    expect(torn).toEqual(Option.getOrThrow((await reopen(dir)).recovery.tornTail))
  })

  it("names the cause recovery names for a frame whose length points past the end of the file", async () => {
    const dir = await oneSegment(fresh(), 6)
    const [segment] = F.segmentPaths(dir)
    const bytes = NodeFs.readFileSync(segment!)
    let last = 128
    while (last + 32 + bytes.readUInt32LE(last + 4) < bytes.length) last += 32 + bytes.readUInt32LE(last + 4)
    // Within the format's limit, but far past the end of this small file.
    bytes.writeUInt32LE(bytes.length * 4, last + 4)
    NodeFs.writeFileSync(segment!, bytes)
    const report = await ok(Inspect.verify(dir))
    expect(report.problems).toEqual([])
    const torn = Option.getOrThrow(report.tornTail)
    expect(torn).toMatchObject({ file: segment, offset: last, reason: "incomplete frame" })
    expect(torn).toEqual(Option.getOrThrow((await reopen(dir, "bytes")).recovery.tornTail))
  })

  it("reads zeros after the last frame as free space, as recovery does", async () => {
    const dir = await F.healthy(fresh())
    const last = F.segmentPaths(dir).at(-1)!
    NodeFs.appendFileSync(last, new Uint8Array(2000))
    const free = await ok(Inspect.verify(dir))
    expect(free.problems).toEqual([])
    expect(Option.isNone(free.tornTail)).toBe(true)
    expect(free.lastSequence).toBe(F.HEALTHY_LAST_SEQUENCE)
    const torn = await F.tornTail(fresh())
    const tornLast = F.segmentPaths(torn).at(-1)!
    NodeFs.appendFileSync(tornLast, new Uint8Array(2000))
    const report = await ok(Inspect.verify(torn))
    expect(report.problems).toEqual([])
    expect(Option.getOrThrow(report.tornTail)).toMatchObject({ file: tornLast, entries: 2, reason: "checksum mismatch" })
    expect(Option.getOrThrow(report.tornTail)).toEqual(Option.getOrThrow((await reopen(torn)).recovery.tornTail))
  })

  it("names the file and offset of the first corruption, or of every one with all", async () => {
    const dir = await F.corruptMiddle(fresh())
    const [first, second] = F.segmentPaths(dir)
    const one = await ok(Inspect.verify(dir))
    expect(one.problems).toEqual([{
      file: first,
      offset: F.secondFrame(first!),
      problem: "corruption",
      reason: "checksum mismatch in a segment that is not the last"
    }])
    F.flip(second!, F.secondFrame(second!) + 40)
    const all = await ok(Inspect.verify(dir, { all: true }))
    expect(all.problems.map((p) => [p.file, p.offset])).toEqual([[first, F.secondFrame(first!)], [second, F.secondFrame(second!)]])
    // Frames after each damage were found again and verified.
    expect(all.entries).toBeGreaterThan(one.entries)
    expect(all.lastSequence).toBe(F.HEALTHY_LAST_SEQUENCE)
    expect(Inspect.problemError(one.problems[0]!)).toMatchObject({ _tag: "WalCorruptionError", file: first, offset: F.secondFrame(first!) })
  })

  it("tells corruption in the active segment from a torn tail by a later durable frame", async () => {
    const dir = await oneSegment(fresh(), 6)
    const [segment] = F.segmentPaths(dir)
    const size = NodeFs.statSync(segment!).size
    F.flip(segment!, F.secondFrame(segment!) + 33)
    NodeFs.truncateSync(segment!, size - 3)
    const report = await ok(Inspect.verify(dir, { all: true }))
    expect(report.problems).toHaveLength(1)
    expect(report.problems[0]!.reason).toMatch(/^checksum mismatch, followed by a valid frame at offset \d+/)
    expect(Option.getOrThrow(report.tornTail).reason).toBe("incomplete frame")
  })

  it("reports header problems: foreign file, newer version, another WAL, another codec, a missing segment", async () => {
    expect((await ok(Inspect.verify(F.foreignFile(fresh())))).problems[0]).toMatchObject({ problem: "foreign-file", offset: 0 })
    expect((await ok(Inspect.verify(await F.newerVersion(fresh())))).problems[0]).toMatchObject({ problem: "unsupported-version" })

    const dir = await F.healthy(fresh())
    const other = await F.healthy(fresh())
    const segments = F.segmentPaths(dir)
    NodeFs.copyFileSync(F.segmentPaths(other)[1]!, segments[1]!)
    const third = NodeFs.readFileSync(segments[2]!)
    const header = Either.getOrThrow(decodeHeader(third))
    third.set(encodeHeader({ ...header, codecId: "msgpack" }), 0)
    NodeFs.writeFileSync(segments[2]!, third)
    NodeFs.rmSync(segments[3]!)
    NodeFs.copyFileSync(F.segmentPaths(dir)[0]!, Path.join(dir, "00000000000000000009-00000000000000000100.wal"))
    const report = await ok(Inspect.verify(dir, { all: true }))
    expect(report.problems.map((p) => p.problem)).toEqual(["wal-id-mismatch", "codec-mismatch", "corruption", "corruption"])
    expect(report.problems[2]!.reason).toBe("segment 9 follows segment 3: a segment is missing")
    expect(report.problems[3]!.reason).toMatch(/^header says segment 1 from sequence 1/)
  })

  it("reports a sealed segment that does not end with its seal, and a sequence gap between segments", async () => {
    const dir = await F.healthy(fresh())
    const segments = F.segmentPaths(dir)
    NodeFs.truncateSync(segments[1]!, NodeFs.statSync(segments[1]!).size - 56)
    const report = await ok(Inspect.verify(dir, { all: true }))
    expect(report.problems[0]).toMatchObject({ file: segments[1], reason: "segment is not sealed but a later segment exists" })
    const renamed = segments[2]!.replace(/-\d{20}\.wal$/, "-00000000000000000099.wal")
    NodeFs.renameSync(segments[2]!, renamed)
    expect((await ok(Inspect.verify(dir, { all: true }))).problems.map((p) => p.reason)).toContainEqual(
      expect.stringMatching(/^header says segment 3 from sequence \d+, the file name says segment 3 from sequence 99/)
    )
  })

  it("reports a frame after the seal frame, and a first segment whose creation was torn", async () => {
    const dir = await F.healthy(fresh())
    const [first, second] = F.segmentPaths(dir)
    // The next segment's first frame carries the right sequence and checksum, but follows the seal.
    const next = NodeFs.readFileSync(second!).subarray(128, F.secondFrame(second!))
    const sealed = NodeFs.statSync(first!).size
    NodeFs.appendFileSync(first!, next)
    expect((await ok(Inspect.verify(dir))).problems[0]).toMatchObject({
      file: first,
      offset: sealed,
      reason: "frame after the seal frame in a segment that is not the last"
    })

    const torn = fresh()
    NodeFs.writeFileSync(Path.join(torn, "00000000000000000001-00000000000000000001.wal"), new Uint8Array(60))
    const report = await ok(Inspect.verify(torn))
    expect(report.problems).toEqual([])
    expect(Option.getOrThrow(report.tornTail).reason).toBe("segment creation torn by a crash")
  })

  it("fails with WalIOError on a missing directory and WalFormatError on a directory without segments", async () => {
    expect(await failure(Inspect.verify(Path.join(fresh(), "missing")))).toMatchObject({ _tag: "WalIOError" })
    expect(await failure(Inspect.verify(fresh()))).toMatchObject({ _tag: "WalFormatError" })
  })
})

describe("Inspect.entries", () => {
  it("streams raw payloads in a range with the header's codec id", async () => {
    const dir = await F.healthy(fresh())
    const entries = await ok(collect(dir, { from: 19, to: 22 }))
    expect(entries.map((e) => [e.seq, e.kind, e.codecId])).toEqual([
      [19, "data", "json"],
      [20, "checkpoint", "json"],
      [21, "data", "json"],
      [22, "data", "json"]
    ])
    expect(JSON.parse(new TextDecoder().decode(entries[1]!.payload))).toEqual({ n: 20, text: "checkpoint" })
    expect((await ok(collect(dir))).map((e) => e.seq)).toEqual(Array.from({ length: F.HEALTHY_LAST_SEQUENCE }, (_, i) => i + 1))
    expect(await ok(collect(dir, { from: 100 }))).toEqual([])
  })

  it("ends at a torn tail, fails at corruption, refuses bad bounds and foreign files", async () => {
    expect((await ok(collect(await F.tornTail(fresh())))).at(-1)!.seq).toBe(41)
    expect(await failure(collect(await F.corruptMiddle(fresh())))).toMatchObject({ _tag: "WalCorruptionError" })
    expect(await failure(collect(fresh(), { from: 1.5 }))).toMatchObject({ _tag: "WalConfigError", field: "from" })
    expect(await failure(collect(fresh(), { to: Number.NaN }))).toMatchObject({ _tag: "WalConfigError", field: "to" })
    expect(await failure(collect(F.foreignFile(fresh())))).toMatchObject({ _tag: "WalFormatError", problem: "foreign-file" })
    expect(await failure(collect(fresh()))).toMatchObject({ _tag: "WalFormatError" })
  })

  it("skips a last segment whose creation was torn", async () => {
    const dir = await F.healthy(fresh())
    // Drop the active segment: the sealed one before it ends the log, and a crash tore the next one's creation.
    const active = F.segmentPaths(dir).at(-1)!
    NodeFs.writeFileSync(active, Buffer.from("EFWAL"))
    const sealedEntries = F.HEALTHY_LAST_SEQUENCE - 3
    expect((await ok(collect(dir))).length).toBe(sealedEntries)
    expect((await ok(Inspect.verify(dir))).tornTail).toEqual(Option.some({
      file: active,
      offset: 0,
      bytes: 5,
      entries: 0,
      reason: "segment creation torn by a crash"
    }))
  })
})

describe("Inspect.stats", () => {
  it("counts entries and bytes, builds the size histogram and the time span", async () => {
    const dir = await F.healthy(fresh())
    const s = await ok(Inspect.stats(dir))
    const payloads = (await ok(collect(dir))).map((e) => e.payload.length)
    expect(s).toMatchObject({
      entries: F.HEALTHY_LAST_SEQUENCE,
      dataEntries: F.HEALTHY_LAST_SEQUENCE - 1,
      checkpointEntries: 1,
      firstSequence: 1,
      lastSequence: F.HEALTHY_LAST_SEQUENCE,
      payloadBytes: payloads.reduce((a, b) => a + b, 0),
      smallestPayload: Math.min(...payloads),
      largestPayload: Math.max(...payloads)
    })
    expect(s.histogram.reduce((n, b) => n + b.count, 0)).toBe(F.HEALTHY_LAST_SEQUENCE)
    for (const bucket of s.histogram) {
      expect(bucket.count).toBe(payloads.filter((p) => p <= bucket.upTo && (bucket.upTo === 16 || p > bucket.upTo / 2)).length)
    }
    expect(s.spanMillis).toBe(Option.getOrThrow(s.lastTimestamp) - Option.getOrThrow(s.firstTimestamp))
  })

  it("reports an empty log, and fails at corruption", async () => {
    const empty = fresh()
    await ok(Effect.scoped(Wal.make({ directory: empty })))
    expect(await ok(Inspect.stats(empty))).toMatchObject({ entries: 0, histogram: [], firstTimestamp: Option.none(), spanMillis: 0 })
    expect(await failure(Inspect.stats(await F.corruptMiddle(fresh())))).toMatchObject({ _tag: "WalCorruptionError" })
    expect(await failure(Inspect.stats(F.foreignFile(fresh())))).toMatchObject({ _tag: "WalFormatError" })
  })
})

describe("Inspect.repair", () => {
  it("leaves a healthy or torn log unchanged and says so", async () => {
    for (const dir of [await F.healthy(fresh()), await F.tornTail(fresh())]) {
      const before = snapshot(dir)
      const report = await ok(Inspect.repair(dir))
      expect(report).toMatchObject({ repaired: false, problem: Option.none(), removedSegments: [], savedBytes: 0 })
      expect(snapshot(dir)).toEqual(before)
    }
  })

  it("cuts at the first corruption, keeps every cut byte, and leaves a log that opens cleanly; idempotent", async () => {
    const dir = await F.corruptMiddle(fresh())
    const segments = F.segmentPaths(dir)
    const originals = segments.map((p) => NodeFs.readFileSync(p))
    const cut = F.secondFrame(segments[0]!)
    const report = await ok(Inspect.repair(dir))
    expect(report).toMatchObject({
      repaired: true,
      problem: Option.some({ file: segments[0], offset: cut, problem: "corruption" }),
      truncated: Option.some({ file: segments[0], offset: cut, bytes: originals[0]!.length - cut }),
      removedSegments: segments.slice(1).map((p) => Path.basename(p)),
      lastSequence: 1
    })
    const backup = Option.getOrThrow(report.backupDirectory)
    expect(Path.dirname(backup)).toBe(dir)
    expect(NodeFs.readFileSync(Path.join(backup, Path.basename(segments[0]!)))).toEqual(originals[0]!.subarray(cut))
    for (let i = 1; i < segments.length; i++) {
      expect(NodeFs.readFileSync(Path.join(backup, Path.basename(segments[i]!)))).toEqual(originals[i])
    }
    expect(report.savedBytes).toBe(originals.reduce((n, b) => n + b.length, 0) - cut)
    expect(JSON.parse(NodeFs.readFileSync(Path.join(backup, "repair.json"), "utf8"))).toMatchObject({ cut: { offset: cut } })
    expect(F.segmentPaths(dir)).toEqual([segments[0]])

    const after = snapshot(dir)
    expect(await ok(Inspect.repair(dir))).toMatchObject({ repaired: false, lastSequence: 1 })
    expect(snapshot(dir)).toEqual(after)

    const reopened = await reopen(dir)
    expect(reopened.seqs).toEqual([1])
    expect(Option.isNone(reopened.recovery.tornTail)).toBe(true)
  })

  it("truncates the active segment at corruption and keeps the complete batches before it", async () => {
    const dir = await oneSegment(fresh(), 6)
    const [segment] = F.segmentPaths(dir)
    F.flip(segment!, F.secondFrame(segment!) + 33)
    expect(await failure(Effect.scoped(Wal.make({ directory: dir })))).toMatchObject({ _tag: "WalCorruptionError" })
    const report = await ok(Inspect.repair(dir))
    expect(Option.getOrThrow(report.truncated).offset).toBe(F.secondFrame(segment!))
    expect((await reopen(dir, "bytes")).seqs).toEqual([1])
  })

  it("removes a segment whose header is damaged with every later one, but never the first segment", async () => {
    const dir = await F.healthy(fresh())
    const segments = F.segmentPaths(dir)
    F.flip(segments[2]!, 20)
    const report = await ok(Inspect.repair(dir))
    expect(report).toMatchObject({ truncated: Option.none(), removedSegments: segments.slice(2).map((p) => Path.basename(p)) })
    expect(report.problem).toEqual(Option.some(expect.objectContaining({ problem: "bad-header", offset: 0 })))
    expect((await reopen(dir)).seqs.at(-1)).toBe(report.lastSequence)

    const first = await F.healthy(fresh())
    F.flip(F.segmentPaths(first)[0]!, 20)
    const before = snapshot(first)
    expect(await failure(Inspect.repair(first))).toMatchObject({ _tag: "WalCorruptionError", offset: 0 })
    expect(snapshot(first)).toEqual(before)
  })

  it("refuses while a writer holds the lock, and for foreign files and newer versions", async () => {
    const dir = await F.corruptMiddle(fresh())
    const locked = await F.healthy(fresh())
    const error = await failure(Effect.scoped(Effect.flatMap(Wal.make({ directory: locked, schema: F.Event }), () => Inspect.repair(locked))))
    expect(error).toMatchObject({ _tag: "WalLockedError", directory: locked })
    expect(await failure(Inspect.repair(F.foreignFile(fresh())))).toMatchObject({ _tag: "WalFormatError", problem: "foreign-file" })
    expect(await failure(Inspect.repair(await F.newerVersion(fresh())))).toMatchObject({ _tag: "WalFormatError" })
    // A stale lock is taken over and reported.
    const gone = spawnSync(process.execPath, ["-e", ""]).pid!
    lockFile(dir, { pid: gone, hostname: hostname(), token: "t", acquiredAt: 1 })
    const report = await ok(Inspect.repair(dir))
    expect(report.lockTakenOver).toEqual(Option.some(`pid ${gone} on ${hostname()}`))
    expect(NodeFs.existsSync(Path.join(dir, "LOCK"))).toBe(false)
  })
})
