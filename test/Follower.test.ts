import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Exit, Fiber, Option, Stream } from "effect"
import * as NodeFs from "node:fs"
import * as Path from "node:path"
import { Durability, Wal } from "../src/index.js"
import * as Follower from "../src/Follower.js"
import type { ReplicationChunk } from "../src/Wal.js"
import { collect, type FaultSwitch, faultyLayer, segmentFiles, tempDir } from "./helpers.js"

type Leader = Wal.Wal<Uint8Array>

const payload = (n: number, part = 0): Uint8Array => {
  const bytes = new Uint8Array(8 + ((n * 37 + part * 11) % 90))
  for (let i = 0; i < bytes.length; i++) bytes[i] = (n * 31 + part + i) & 0xff
  return bytes
}

/** Operation `n`: a single append, an atomic batch of three, or a checkpoint. */
const operation = (wal: Leader, n: number): Effect.Effect<unknown, Wal.AppendError> =>
  n % 7 === 3
    ? wal.appendAll([payload(n, 0), payload(n, 1), payload(n, 2)])
    : n % 13 === 5
    ? wal.checkpoint(payload(n))
    : wal.append(payload(n))

/** Appends operations `start` to `start + count - 1`. */
const fill = (wal: Leader, count: number, start = 0) =>
  Effect.forEach(Array.from({ length: count }, (_, i) => start + i), (n) => operation(wal, n), { discard: true })

const openLeader = (directory: string) => Wal.make({ directory, segmentBytes: 1024 })

/** The leader's stream from `from` until it has delivered sequence `upTo`. */
const upTo = (leader: Leader, target: number) => (from: number) =>
  leader.streamBytes({ from }).pipe(Stream.takeUntil((c) => c._tag === "Frames" && c.lastSequence >= target))

const read = (dir: string, name: string) => NodeFs.readFileSync(Path.join(dir, name))

/**
 * Whether a replica's segment holds exactly what the leader's holds: the same bytes, except that
 * the leader's active (last) segment may go on with zeros its writer allocated ahead.
 */
const sameSegment = (leaderBytes: Buffer, replicaBytes: Buffer, isLast: boolean) =>
  leaderBytes.equals(replicaBytes) ||
  (isLast && leaderBytes.subarray(0, replicaBytes.length).equals(replicaBytes) &&
    leaderBytes.subarray(replicaBytes.length).every((b) => b === 0))

/** Whether the replica has the leader's segments, each holding what the leader's holds. */
const identical = (leader: string, replica: string) => {
  const names = segmentFiles(leader)
  return segmentFiles(replica).join() === names.join() &&
    names.every((name, i) => sameSegment(read(leader, name), read(replica, name), i === names.length - 1))
}

/** Every segment file of the replica holds what the leader's holds, and there are as many. */
const expectIdentical = (leader: string, replica: string) => {
  const names = segmentFiles(leader)
  expect(segmentFiles(replica)).toEqual(names)
  names.forEach((name, i) => expect(sameSegment(read(leader, name), read(replica, name), i === names.length - 1), name).toBe(true))
}

/** The replica's segment files are a prefix of the leader's: the same first files, each a prefix. */
const expectPrefix = (leader: string, replica: string) => {
  const names = segmentFiles(replica)
  expect(segmentFiles(leader).slice(0, names.length)).toEqual(names)
  for (const name of names) {
    const bytes = read(replica, name)
    expect(read(leader, name).subarray(0, bytes.length).equals(bytes), name).toBe(true)
  }
}


const snapshot = (dir: string) => segmentFiles(dir).map((name) => `${name}:${read(dir, name).toString("hex")}`)

/** Splits a Frames chunk into one chunk per frame, as a slow leader would send them. */
const perFrame = (chunk: ReplicationChunk): Array<ReplicationChunk> => {
  if (chunk._tag === "Header") return [chunk]
  const view = new DataView(chunk.bytes.buffer, chunk.bytes.byteOffset, chunk.bytes.byteLength)
  const pieces: Array<ReplicationChunk> = []
  for (let at = 0; at < chunk.bytes.length;) {
    const size = 32 + view.getUint32(at + 4, true)
    pieces.push({
      _tag: "Frames",
      segmentIndex: chunk.segmentIndex,
      offset: chunk.offset + at,
      bytes: chunk.bytes.slice(at, at + size),
      lastSequence: view.getUint32(at + 16, true),
      sealed: chunk.bytes[at + 8] === 3
    })
    at += size
  }
  return pieces
}

/** A seeded pseudo-random sequence, so failures reproduce. */
const random = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed / 0x80000000
}

const follow = <E>(directory: string, source: (from: number) => Stream.Stream<ReplicationChunk, E>, durability?: Durability.Durability) =>
  Follower.follow(durability === undefined ? { directory, source } : { directory, source, durability })

describe("Follower", () => {
  it.scopedLive("copies a multi-segment log byte for byte, and the replica opens as the same WAL", () =>
    Effect.gen(function*() {
      const leaderDir = yield* tempDir
      const replicaDir = yield* tempDir
      const entries = yield* Effect.scoped(Effect.gen(function*() {
        const leader = yield* openLeader(leaderDir)
        yield* fill(leader, 120)
        const last = yield* leader.lastSequence
        const result = yield* follow(replicaDir, upTo(leader, last))
        expect(result.from).toBe(1)
        expect(result.lastSequence).toBe(last)
        expect(result.segmentsCreated).toBe(segmentFiles(leaderDir).length)
        expect(result.segmentsCreated).toBeGreaterThan(5)
        expect(result.bytesWritten).toBe(segmentFiles(replicaDir).reduce((n, name) => n + read(replicaDir, name).length, 0))
        expect(result.recovery).toMatchObject({ segments: 0, lastSequence: 0, removedSegments: [] })
        return yield* collect(leader.replay())
      }))
      expectIdentical(leaderDir, replicaDir)
      const reader = yield* Wal.reader({ directory: replicaDir })
      expect(yield* collect(reader.replay())).toEqual(entries)
      // Following again with nothing new changes nothing.
      const again = yield* follow(replicaDir, () => Stream.empty)
      expect(again.from).toBe(entries.length)
      expect(again.framesWritten).toBe(0)
      expectIdentical(leaderDir, replicaDir)
      yield* Effect.scoped(Effect.gen(function*() {
        const replica = yield* Wal.make({ directory: replicaDir, segmentBytes: 1024 })
        expect(replica.recovery.lastSequence).toBe(entries.length)
        expect(Option.isNone(replica.recovery.tornTail)).toBe(true)
        expect(yield* collect(replica.replay())).toEqual(entries)
        expect(yield* replica.lastCheckpoint).toBe(entries.filter((e) => e.kind === "checkpoint").at(-1)!.seq)
      }))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("follows live appends, across rotations, until the source ends", () =>
    Effect.gen(function*() {
      const leaderDir = yield* tempDir
      const replicaDir = yield* tempDir
      yield* Effect.scoped(Effect.gen(function*() {
        const leader = yield* openLeader(leaderDir)
        yield* fill(leader, 10)
        const fiber = yield* Effect.fork(follow(replicaDir, (from) => leader.streamBytes({ from }).pipe(Stream.takeUntil((c) => c._tag === "Frames" && c.lastSequence >= 150))))
        for (let round = 0; round < 20; round++) {
          yield* fill(leader, 6, 10 + round * 6)
          yield* Effect.sleep("2 millis")
        }
        const result = yield* Fiber.join(fiber)
        expect(result.lastSequence).toBeGreaterThanOrEqual(150)
        // The leader went on appending after the follower stopped: a second follow catches up.
        yield* follow(replicaDir, upTo(leader, yield* leader.lastSequence))
      }))
      expectIdentical(leaderDir, replicaDir)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a follower stopped at any chunk leaves a prefix, and resuming completes it byte for byte", () =>
    Effect.gen(function*() {
      const leaderDir = yield* tempDir
      const replicaDir = yield* tempDir
      const next = random(7)
      yield* Effect.scoped(Effect.gen(function*() {
        const leader = yield* openLeader(leaderDir)
        yield* fill(leader, 90)
        const last = yield* leader.lastSequence
        let rounds = 0
        let tornTails = 0
        for (;;) {
          const take = 1 + Math.floor(next() * 12)
          const result = yield* follow(replicaDir, (from) => upTo(leader, last)(from).pipe(Stream.mapConcat(perFrame), Stream.take(take)))
          if (Option.isSome(result.recovery.tornTail)) tornTails++
          rounds++
          expectPrefix(leaderDir, replicaDir)
          if (result.lastSequence === last && identical(leaderDir, replicaDir)) break
          expect(rounds).toBeLessThan(500)
        }
        expect(rounds).toBeGreaterThan(20)
        // Some rounds stopped inside an atomic batch: recovery cut the unfinished batch.
        expect(tornTails).toBeGreaterThan(0)
      }))
      expectIdentical(leaderDir, replicaDir)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a follower that stopped before a seal resumes and gets it; an interrupted follower resumes", () =>
    Effect.gen(function*() {
      const leaderDir = yield* tempDir
      const replicaDir = yield* tempDir
      yield* Effect.scoped(Effect.gen(function*() {
        const leader = yield* openLeader(leaderDir)
        yield* fill(leader, 12)
        const first = (yield* leader.segments)[0]!.lastSequence
        // Stop right after the last entry of the first segment, before its seal frame.
        const stopped = yield* follow(replicaDir, (from) => upTo(leader, first)(from).pipe(Stream.mapConcat(perFrame), Stream.takeUntil((c) => c._tag === "Frames" && c.lastSequence >= first)))
        expect(stopped.lastSequence).toBe(first)
        yield* fill(leader, 32, 12)
        // Asking for the next sequence would skip the seal: the next segment's header is refused.
        const skipped = yield* Effect.flip(follow(replicaDir, (from) => leader.streamBytes({ from: from + 1 }).pipe(Stream.take(1))))
        expect(skipped).toMatchObject({ reason: expect.stringContaining("is not sealed") })
        const resumed = yield* follow(replicaDir, upTo(leader, yield* leader.lastSequence))
        // The replica asked again for its last entry so that the seal could not be skipped.
        expect(resumed.from).toBe(first)
        expectIdentical(leaderDir, replicaDir)

        // Interrupt a live follower in the middle of the stream.
        const fiber = yield* Effect.fork(follow(replicaDir, (from) => leader.streamBytes({ from })))
        yield* fill(leader, 30, 44)
        yield* Effect.sleep("20 millis")
        yield* Fiber.interrupt(fiber)
        expectPrefix(leaderDir, replicaDir)
        yield* fill(leader, 10, 74)
        yield* follow(replicaDir, upTo(leader, yield* leader.lastSequence))
      }))
      expectIdentical(leaderDir, replicaDir)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a replica whose tail was torn by a crash is cut, reported, and completed", () =>
    Effect.gen(function*() {
      const leaderDir = yield* tempDir
      const replicaDir = yield* tempDir
      yield* Effect.scoped(Effect.gen(function*() {
        const leader = yield* openLeader(leaderDir)
        yield* fill(leader, 60)
        const last = yield* leader.lastSequence
        yield* follow(replicaDir, upTo(leader, last))
        const files = segmentFiles(replicaDir)
        const lastFile = Path.join(replicaDir, files.at(-1)!)
        // A write torn in the middle of a frame, then zeros where a lost page was.
        NodeFs.truncateSync(lastFile, NodeFs.statSync(lastFile).size - 10)
        NodeFs.appendFileSync(lastFile, new Uint8Array(300))
        const result = yield* follow(replicaDir, upTo(leader, last))
        expect(Option.getOrThrow(result.recovery.tornTail).file).toBe(lastFile)
        expect(result.recovery.lastSequence).toBeLessThan(last)
        expectIdentical(leaderDir, replicaDir)

        // A crash while creating a segment: the new file holds part of its header.
        const torn = files.at(-1)!
        NodeFs.writeFileSync(Path.join(replicaDir, torn), read(leaderDir, torn).subarray(0, 20))
        const recreated = yield* follow(replicaDir, upTo(leader, last))
        expect(recreated.recovery.removedSegments).toEqual([torn])
        expect(recreated.segmentsCreated).toBe(1)
        expectIdentical(leaderDir, replicaDir)

        // The same for the only segment of a replica: zeros, as a lost page leaves them.
        const onlyDir = yield* tempDir
        NodeFs.writeFileSync(Path.join(onlyDir, files[0]!), new Uint8Array(HEADER_SIZE))
        const fresh = yield* follow(onlyDir, upTo(leader, last))
        expect(fresh.recovery.removedSegments).toEqual([files[0]])
        expectIdentical(leaderDir, onlyDir)

        // Free space after the last frame, as a WAL opened on the replica and killed leaves it:
        // cut without a torn tail, and the segments sealed after it end with their seal.
        NodeFs.appendFileSync(Path.join(replicaDir, segmentFiles(replicaDir).at(-1)!), new Uint8Array(700))
        yield* fill(leader, 20, 60)
        const grown = yield* leader.lastSequence
        const free = yield* follow(replicaDir, upTo(leader, grown))
        expect(Option.isNone(free.recovery.tornTail)).toBe(true)
        expect(free.lastSequence).toBe(grown)
        expect(free.segmentsCreated).toBeGreaterThan(0)
        expectIdentical(leaderDir, replicaDir)
      }))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("invalid chunks are refused with typed errors and nothing is written", () =>
    Effect.gen(function*() {
      const leaderDir = yield* tempDir
      const otherDir = yield* tempDir
      const replicaDir = yield* tempDir
      yield* Effect.scoped(Effect.gen(function*() {
        const leader = yield* openLeader(leaderDir)
        yield* fill(leader, 40)
        const last = yield* leader.lastSequence
        const chunks = yield* collect(upTo(leader, last)(1).pipe(Stream.mapConcat(perFrame)))
        const other = yield* openLeader(otherDir)
        yield* fill(other, 3)
        const foreignHeader = (yield* collect(upTo(other, 1)(1)))[0]!
        // Replicate everything but the last few frames, stopping between two frames of a segment.
        let keep = chunks.length - 5
        const isData = (c: ReplicationChunk | undefined) => c?._tag === "Frames" && !c.sealed
        while (!isData(chunks[keep - 1]) || !isData(chunks[keep]) || !isData(chunks[keep + 1])) keep--
        yield* follow(replicaDir, () => Stream.fromIterable(chunks.slice(0, keep)))
        const before = snapshot(replicaDir)
        const refuse = (bad: ReadonlyArray<ReplicationChunk>) =>
          Effect.gen(function*() {
            const error = yield* Effect.flip(follow(replicaDir, () => Stream.fromIterable(bad)))
            expect(snapshot(replicaDir)).toEqual(before)
            return error
          })
        const nextChunk = chunks[keep]!
        if (nextChunk._tag !== "Frames") throw new Error("expected frames")
        const flipped = nextChunk.bytes.slice()
        flipped[flipped.length - 1]! ^= 0x01
        expect(yield* refuse([{ ...nextChunk, bytes: flipped }])).toMatchObject({ _tag: "WalCorruptionError", reason: expect.stringContaining("checksum mismatch") })
        expect(yield* refuse([{ ...nextChunk, offset: nextChunk.offset + 1 }])).toMatchObject({ _tag: "WalCorruptionError", reason: expect.stringContaining("does not continue") })
        expect(yield* refuse([{ ...nextChunk, segmentIndex: nextChunk.segmentIndex + 1 }])).toMatchObject({ _tag: "WalCorruptionError" })
        expect(yield* refuse([{ ...nextChunk, lastSequence: nextChunk.lastSequence + 1 }])).toMatchObject({ reason: expect.stringContaining("its frames say") })
        expect(yield* refuse([{ ...nextChunk, bytes: nextChunk.bytes.subarray(0, 40) }])).toMatchObject({ reason: expect.stringContaining("incomplete frame") })
        // A frame from further on: its sequence does not continue the replica.
        const later = chunks[keep + 1]!
        if (later._tag !== "Frames") throw new Error("expected frames")
        expect(yield* refuse([{ ...later, segmentIndex: nextChunk.segmentIndex, offset: nextChunk.offset }])).toMatchObject({ reason: expect.stringContaining("sequence out of order") })
        // The repeated bytes on resume must be the replica's own.
        const held = chunks[keep - 1]!
        if (held._tag !== "Frames") throw new Error("expected frames")
        const diverged = held.bytes.slice()
        diverged[40]! ^= 0xff
        expect(yield* refuse([{ ...held, bytes: diverged }])).toMatchObject({ reason: expect.stringContaining("differs from the bytes the replica holds") })
        expect(yield* refuse([foreignHeader])).toMatchObject({ _tag: "WalFormatError", problem: "wal-id-mismatch" })
        const header = chunks.slice(0, keep).filter((c) => c._tag === "Header").at(-1)!
        const nextIndex = { ...header, segmentIndex: header.segmentIndex + 1 }
        expect(yield* refuse([nextIndex as ReplicationChunk])).toMatchObject({ _tag: "WalCorruptionError" })
        const damaged = header.bytes.slice()
        damaged[60]! ^= 0x01
        expect(yield* refuse([{ ...header, bytes: damaged }])).toMatchObject({ _tag: "WalFormatError", problem: "bad-header" })
        expect(yield* refuse([{ ...header, bytes: header.bytes.subarray(0, 100) }])).toMatchObject({ _tag: "WalFormatError", problem: "bad-header" })
        // A header that repeats the current segment must be the same bytes (here a reserved byte differs).
        const altered = header.bytes.slice()
        altered[120] = 1
        new DataView(altered.buffer).setUint32(124, crc(altered, 0, 124), true)
        expect(yield* refuse([{ ...header, bytes: altered }])).toMatchObject({ reason: expect.stringContaining("header differs") })
        // A segment cannot begin while the previous one is not sealed.
        const following = chunks.slice(keep).find((c) => c._tag === "Header")
        if (following !== undefined) expect(yield* refuse([following])).toMatchObject({ _tag: "WalCorruptionError" })
        // Frames before any header: an empty replica needs a segment header first.
        const emptyDir = yield* tempDir
        const exit = yield* Effect.exit(follow(emptyDir, () => Stream.fromIterable([nextChunk])))
        expect(Exit.isFailure(exit)).toBe(true)
        expect(segmentFiles(emptyDir)).toEqual([])
        // The complete remainder is still accepted.
        yield* follow(replicaDir, () => Stream.fromIterable(chunks.slice(keep)))
      }))
      expectIdentical(leaderDir, replicaDir)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a followed replica is locked against writers, and a locked directory cannot be followed", () =>
    Effect.gen(function*() {
      const leaderDir = yield* tempDir
      const replicaDir = yield* tempDir
      yield* Effect.scoped(Effect.gen(function*() {
        const leader = yield* openLeader(leaderDir)
        yield* fill(leader, 5)
        const fiber = yield* Effect.fork(follow(replicaDir, (from) => leader.streamBytes({ from })))
        yield* Effect.sleep("50 millis")
        const writer = yield* Effect.either(Effect.scoped(Wal.make({ directory: replicaDir })))
        expect(Either.isLeft(writer) && writer.left._tag).toBe("WalLockedError")
        yield* Fiber.interrupt(fiber)
        yield* Effect.scoped(Effect.gen(function*() {
          yield* Wal.make({ directory: replicaDir, segmentBytes: 1024 })
          const followed = yield* Effect.either(follow(replicaDir, () => Stream.empty))
          expect(Either.isLeft(followed) && followed.left._tag).toBe("WalLockedError")
        }))
      }))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a leader that reclaimed its first segments is replicated with a reclaim point", () =>
    Effect.gen(function*() {
      const leaderDir = yield* tempDir
      const replicaDir = yield* tempDir
      yield* Effect.scoped(Effect.gen(function*() {
        const leader = yield* openLeader(leaderDir)
        yield* Effect.forEach(Array.from({ length: 60 }, (_, n) => n), (n) => leader.append(payload(n)), { discard: true })
        expect((yield* leader.reclaim(30)).length).toBeGreaterThan(0)
        const last = yield* leader.lastSequence
        yield* follow(replicaDir, upTo(leader, last))
        // A crash between writing the reclaim point and creating the first segment: following resumes.
        const pointOnly = yield* tempDir
        NodeFs.copyFileSync(Path.join(replicaDir, "RECLAIMED"), Path.join(pointOnly, "RECLAIMED"))
        const resumed = yield* follow(pointOnly, upTo(leader, last))
        expect(resumed.from).toBe(Number(segmentFiles(leaderDir)[0]!.slice(21, 41)))
        expectIdentical(leaderDir, pointOnly)
      }))
      expectIdentical(leaderDir, replicaDir)
      expect(NodeFs.existsSync(Path.join(replicaDir, "RECLAIMED"))).toBe(true)
      const first = yield* Effect.scoped(Effect.gen(function*() {
        const replica = yield* Wal.make({ directory: replicaDir, segmentBytes: 1024 })
        return (yield* collect(replica.replay()))[0]!.seq
      }))
      expect(first).toBeGreaterThan(1)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("every durability mode produces the same replica; none fsyncs less than strict", () =>
    Effect.gen(function*() {
      const leaderDir = yield* tempDir
      const modes = [Durability.strict, Durability.none, Durability.grouped({ maxDelay: "2 millis" }), Durability.buffered({ interval: "2 millis", bytes: 512 })]
      const syncs: Array<number> = []
      yield* Effect.scoped(Effect.gen(function*() {
        const leader = yield* openLeader(leaderDir)
        yield* fill(leader, 40)
        const last = yield* leader.lastSequence
        for (const mode of modes) {
          const replicaDir = yield* tempDir
          const faults: FaultSwitch = { failSync: false, failWrite: undefined, syncs: 0 }
          // Slow chunks so that the interval timers fire between them.
          const source = (from: number) => upTo(leader, last)(from).pipe(Stream.mapConcat(perFrame), Stream.tap(() => Effect.sleep("1 millis")))
          yield* follow(replicaDir, source, mode).pipe(Effect.provide(faultyLayer(faults)))
          syncs.push(faults.syncs)
          expectIdentical(leaderDir, replicaDir)
        }
      }))
      expect(syncs[1]).toBeLessThan(syncs[0]!)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a failed fsync or write fails the follow; the replica stays a valid prefix", () =>
    Effect.gen(function*() {
      const leaderDir = yield* tempDir
      const replicaDir = yield* tempDir
      yield* Effect.scoped(Effect.gen(function*() {
        const leader = yield* openLeader(leaderDir)
        yield* fill(leader, 40)
        const last = yield* leader.lastSequence
        const faults: FaultSwitch = { failSync: false, failWrite: undefined, syncs: 0 }
        const failing = (from: number) =>
          upTo(leader, last)(from).pipe(Stream.mapConcat(perFrame), Stream.zipWithIndex, Stream.map(([chunk, i]) => {
            if (i === 25) faults.failSync = true
            return chunk
          }))
        const exit = yield* Effect.exit(follow(replicaDir, failing).pipe(Effect.provide(faultyLayer(faults))))
        expect(Exit.isFailure(exit) && String(Exit.causeOption(exit).pipe(Option.getOrThrow))).toContain("WalIOError")
        faults.failSync = false
        faults.failWrite = "ENOSPC"
        const noSpace = yield* Effect.either(follow(replicaDir, upTo(leader, last)).pipe(Effect.provide(faultyLayer(faults))))
        expect(Either.isLeft(noSpace) && noSpace.left._tag).toBe("WalIOError")
        expectPrefix(leaderDir, replicaDir)
        yield* follow(replicaDir, upTo(leader, last))
      }))
      expectIdentical(leaderDir, replicaDir)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a damaged replica is refused at open", () =>
    Effect.gen(function*() {
      const leaderDir = yield* tempDir
      yield* Effect.scoped(Effect.gen(function*() {
        const leader = yield* openLeader(leaderDir)
        yield* fill(leader, 30)
      }))
      const names = segmentFiles(leaderDir)
      const last = names.at(-1)!
      const refusedWith = (setUp: (dir: string) => void, options?: { maxEntryBytes: number }) =>
        Effect.gen(function*() {
          const dir = yield* tempDir
          setUp(dir)
          return yield* Effect.flip(Follower.follow({ directory: dir, source: () => Stream.empty, ...options }))
        })
      const copy = (dir: string, name: string, bytes = read(leaderDir, name)) => NodeFs.writeFileSync(Path.join(dir, name), bytes)
      expect(yield* refusedWith((dir) => copy(dir, names[0]!, Buffer.alloc(300, 7)))).toMatchObject({ _tag: "WalFormatError", problem: "foreign-file" })
      expect(yield* refusedWith((dir) => copy(dir, names[1]!))).toMatchObject({ reason: expect.stringContaining("should start at segment 1") })
      // A bit flip in the first frame of the last segment, with later frames written after it was durable.
      const flipped = yield* refusedWith((dir) => {
        for (const name of names) copy(dir, name)
        const bytes = read(leaderDir, last)
        bytes[128 + 40] ^= 0x01
        copy(dir, last, bytes)
      })
      expect(flipped).toMatchObject({ _tag: "WalCorruptionError", offset: 128, reason: expect.stringContaining("made durable") })
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("maxEntryBytes caps incoming frames, never frames the replica holds; invalid options fail", () =>
    Effect.gen(function*() {
      const leaderDir = yield* tempDir
      const replicaDir = yield* tempDir
      yield* Effect.scoped(Effect.gen(function*() {
        const leader = yield* openLeader(leaderDir)
        yield* fill(leader, 30)
        const last = yield* leader.lastSequence
        const capped = yield* Effect.flip(Follower.follow({ directory: replicaDir, source: upTo(leader, last), maxEntryBytes: 20 }))
        expect(capped).toMatchObject({ reason: expect.stringContaining("frame length over maxEntryBytes") })
        yield* follow(replicaDir, upTo(leader, 10))
        // Reopened with a smaller limit, the replica keeps every frame it holds.
        const reopened = yield* Follower.follow({ directory: replicaDir, source: () => Stream.empty, maxEntryBytes: 20 })
        expect(reopened.recovery.lastSequence).toBe(10)
        expect(Option.isNone(reopened.recovery.tornTail)).toBe(true)
      }))
      const bad = yield* Effect.either(Follower.follow({ directory: replicaDir, source: () => Stream.empty, maxEntryBytes: -1 }))
      expect(Either.isLeft(bad) && bad.left._tag).toBe("WalConfigError")
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("Follower transport", () => {
  it.scopedLive("chunks survive encoding and any cutting of the byte stream, and a replica follows through it", () =>
    Effect.gen(function*() {
      const leaderDir = yield* tempDir
      const replicaDir = yield* tempDir
      const next = random(3)
      yield* Effect.scoped(Effect.gen(function*() {
        const leader = yield* openLeader(leaderDir)
        yield* fill(leader, 80)
        const last = yield* leader.lastSequence
        const chunks = yield* collect(upTo(leader, last)(1))
        const bytes = Buffer.concat(chunks.map(Follower.encodeChunk))
        const pieces: Array<Uint8Array> = []
        for (let at = 0; at < bytes.length;) {
          const size = 1 + Math.floor(next() * 3000)
          pieces.push(bytes.subarray(at, at + size))
          at += size
        }
        const decoded = yield* collect(Follower.decodeChunks(Stream.fromIterable(pieces)))
        expect(decoded).toEqual(chunks)
        const result = yield* follow(replicaDir, (from) => Follower.decodeChunks(upTo(leader, last)(from).pipe(Stream.map(Follower.encodeChunk))))
        expect(result.lastSequence).toBe(last)
      }))
      expectIdentical(leaderDir, replicaDir)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("a damaged envelope or a stream that ends inside a message fails", () =>
    Effect.gen(function*() {
      const chunk: ReplicationChunk = { _tag: "Frames", segmentIndex: 2, offset: 128, bytes: new Uint8Array([1, 2, 3]), lastSequence: 9, sealed: true }
      const message = Follower.encodeChunk(chunk)
      expect(yield* collect(Follower.decodeChunks(Stream.make(message)))).toEqual([chunk])
      const damaged = message.slice()
      damaged[33]! ^= 0x01
      const bad = yield* Effect.either(collect(Follower.decodeChunks(Stream.make(damaged))))
      expect(Either.isLeft(bad) && bad.left.reason).toContain("envelope checksum")
      const cut = yield* Effect.either(collect(Follower.decodeChunks(Stream.make(message.subarray(0, message.length - 1)))))
      expect(Either.isLeft(cut) && cut.left.reason).toContain("ended inside a message")
      const unknown = message.slice()
      unknown[5] = 9
      new DataView(unknown.buffer).setUint32(0, crc(unknown, 4, 40), true)
      const tagged = yield* Effect.either(collect(Follower.decodeChunks(Stream.make(unknown))))
      expect(Either.isLeft(tagged) && tagged.left.reason).toContain("unknown message tag")
    }))
})

const HEADER_SIZE = 128

/** CRC-32C of `bytes[from, to)`, bit by bit as docs/format.md defines it. */
const crc = (bytes: Uint8Array, from: number, to: number): number => {
  let register = 0xffffffff
  for (const byte of bytes.subarray(from, to)) {
    register ^= byte
    for (let k = 0; k < 8; k++) register = register & 1 ? (register >>> 1) ^ 0x82f63b78 : register >>> 1
  }
  return (register ^ 0xffffffff) >>> 0
}
