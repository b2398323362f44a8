import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Option, Stream } from "effect"
import * as NodeFs from "node:fs"
import * as Path from "node:path"
import { Wal } from "../src/index.js"
import { FLAG_CONTINUES, FrameKind } from "../src/internal/format/constants.js"
import { BatchEncoder, frameSeed } from "../src/internal/format/frame.js"
import { classifyEnd, type StoppedFrames } from "../src/internal/format/acceptance.js"
import { collect, segmentFiles, tempDir } from "./helpers.js"

const bytesOf = (n: number) => new TextEncoder().encode(`entry-${n}-${"y".repeat(n % 23)}`)

/** Writes `count` entries (sealing segments of `segmentBytes`), closes, and returns the directory. */
const written = (count: number, options: { segmentBytes?: number; batches?: boolean } = {}) =>
  Effect.gen(function*() {
    const directory = yield* tempDir
    yield* Effect.scoped(Effect.gen(function*() {
      const wal = yield* Wal.make({ directory, segmentBytes: options.segmentBytes ?? 1024 * 1024 })
      for (let i = 1; i <= count; i++) yield* wal.append(bytesOf(i))
      if (options.batches === true) yield* wal.appendAll([bytesOf(1001), bytesOf(1002), bytesOf(1003)])
    }))
    return directory
  })

const open = (directory: string, verify: "full" | "tail" = "full") => Effect.either(Effect.scoped(Effect.map(Wal.make({ directory, verify }), (wal) => wal.recovery)))

const fileAt = (directory: string, index: number) => Path.join(directory, segmentFiles(directory).at(index)!)

const flip = (path: string, offset: number) => {
  const bytes = NodeFs.readFileSync(path)
  bytes[offset]! ^= 0x10
  NodeFs.writeFileSync(path, bytes)
}

describe("recovery", () => {
  it.scopedLive("a torn tail (file cut mid-frame) is cut and reported, and appends go on after it", () =>
    Effect.gen(function*() {
      const directory = yield* written(10)
      const last = fileAt(directory, -1)
      const size = NodeFs.statSync(last).size
      NodeFs.truncateSync(last, size - 5)
      const wal = yield* Wal.make({ directory })
      const torn = Option.getOrThrow(wal.recovery.tornTail)
      expect(torn).toMatchObject({ file: last, reason: "incomplete frame", entries: 0 })
      expect(torn.bytes).toBe(size - 5 - torn.offset)
      expect(wal.recovery.lastSequence).toBe(9)
      expect(NodeFs.statSync(last).size).toBe(torn.offset)
      expect(yield* wal.append(bytesOf(99))).toBe(10)
      expect((yield* collect(wal.replay())).map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("an atomic batch without its last frame is dropped as a unit", () =>
    Effect.gen(function*() {
      const directory = yield* written(4, { batches: true })
      const last = fileAt(directory, -1)
      const size = NodeFs.statSync(last).size
      // Cut inside the batch's last frame: the first two frames of the batch are intact.
      NodeFs.truncateSync(last, size - 3)
      const recovery = yield* Effect.scoped(Effect.map(Wal.make({ directory }), (wal) => wal.recovery))
      const torn = Option.getOrThrow(recovery.tornTail)
      expect(torn.entries).toBe(2)
      expect(recovery.lastSequence).toBe(4)
      // Cut exactly at a frame boundary inside a batch: the unfinished batch is dropped too.
      const again = yield* written(4, { batches: true })
      const file = fileAt(again, -1)
      const frame = 32 + bytesOf(1003).length
      NodeFs.truncateSync(file, NodeFs.statSync(file).size - frame)
      const recovered = yield* Effect.scoped(Effect.map(Wal.make({ directory: again }), (wal) => wal.recovery))
      expect(Option.getOrThrow(recovered.tornTail)).toMatchObject({ entries: 2, reason: "atomic batch without its last frame" })
      expect(recovered.lastSequence).toBe(4)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("regression: reopening with a smaller maxEntryBytes or segmentBytes never cuts entries already written", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory })
        yield* wal.append(bytesOf(1))
        yield* wal.append(new Uint8Array(5000).fill(9))
      }))
      const wal = yield* Wal.make({ directory, maxEntryBytes: 1000, segmentBytes: 2048 })
      expect(Option.isNone(wal.recovery.tornTail)).toBe(true)
      expect(wal.recovery.lastSequence).toBe(2)
      const entries = yield* collect(wal.replay())
      expect(entries[1]!.payload.length).toBe(5000)
      const reader = yield* Wal.reader({ directory, maxEntryBytes: 1000 })
      expect((yield* collect(reader.replay())).length).toBe(2)
      // The write limit still applies to new appends.
      const refused = yield* Effect.either(wal.append(new Uint8Array(1001)))
      expect(Either.isLeft(refused) && refused.left._tag).toBe("WalEntryTooLargeError")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a garbage length at the tail never grows the read buffer past the file", () =>
    Effect.gen(function*() {
      const directory = yield* written(3)
      const last = fileAt(directory, -1)
      const garbage = new Uint8Array(40)
      new DataView(garbage.buffer).setUint32(4, 0xfff0_0000, true)
      garbage[8] = 1
      NodeFs.appendFileSync(last, garbage)
      const recovery = Either.getOrThrow(yield* open(directory))
      expect(Option.getOrThrow(recovery.tornTail)).toMatchObject({ bytes: 40, reason: "incomplete frame" })
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("the writer allocates the active segment ahead, and a clean close gives the space back", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      const frame = 32 + bytesOf(1).length
      const frames = 128 + 3 * frame
      yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory })
        for (let i = 0; i < 3; i++) yield* wal.append(bytesOf(1))
        // The first append allocated 1 MiB past its frame; the next two fitted in that space.
        expect(NodeFs.statSync(fileAt(directory, -1)).size).toBe(128 + frame + 1024 * 1024)
      }))
      expect(NodeFs.statSync(fileAt(directory, -1)).size).toBe(frames)
      // Never past the segment size.
      yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory, segmentBytes: 4096 })
        yield* wal.append(bytesOf(1))
        expect(NodeFs.statSync(fileAt(directory, -1)).size).toBe(4096)
      }))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("zeros after the last frame are free space: nothing is cut, and appends write over them", () =>
    Effect.gen(function*() {
      const directory = yield* written(3)
      const last = fileAt(directory, -1)
      const size = NodeFs.statSync(last).size
      NodeFs.appendFileSync(last, new Uint8Array(700))
      yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory })
        expect(Option.isNone(wal.recovery.tornTail)).toBe(true)
        expect(wal.recovery.lastSequence).toBe(3)
        expect(yield* wal.append(bytesOf(4))).toBe(4)
      }))
      expect(NodeFs.statSync(last).size).toBe(size + 32 + bytesOf(4).length)
      const reopened = yield* Effect.scoped(Effect.flatMap(Wal.make({ directory }), (wal) => collect(wal.replay())))
      expect(reopened.map((e) => new TextDecoder().decode(e.payload))).toEqual([1, 2, 3, 4].map((i) => new TextDecoder().decode(bytesOf(i))))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("an unfinished atomic batch followed by zeros is cut as a torn tail, the zeros not counted", () =>
    Effect.gen(function*() {
      const directory = yield* written(4, { batches: true })
      const last = fileAt(directory, -1)
      const frame = 32 + bytesOf(1003).length
      const size = NodeFs.statSync(last).size
      NodeFs.truncateSync(last, size - frame)
      NodeFs.appendFileSync(last, new Uint8Array(3000))
      const recovery = Either.getOrThrow(yield* open(directory))
      expect(Option.getOrThrow(recovery.tornTail)).toMatchObject({ entries: 2, reason: "atomic batch without its last frame" })
      expect(Option.getOrThrow(recovery.tornTail).bytes).toBe(size - frame - Option.getOrThrow(recovery.tornTail).offset)
      expect(recovery.lastSequence).toBe(4)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("bytes that are not zeros after free space make a torn tail, or corruption when a durable frame follows", () =>
    Effect.gen(function*() {
      const directory = yield* written(3)
      const last = fileAt(directory, -1)
      const size = NodeFs.statSync(last).size
      NodeFs.appendFileSync(last, new Uint8Array(500))
      NodeFs.appendFileSync(last, new Uint8Array(20).fill(7))
      const torn = Either.getOrThrow(yield* open(directory))
      expect(Option.getOrThrow(torn.tornTail)).toMatchObject({ offset: size, bytes: 520, entries: 0, reason: "checksum mismatch" })
      expect(NodeFs.statSync(last).size).toBe(size)
      // A frame written after the zeros were made durable proves they are damage, not free space.
      const other = yield* written(6)
      const otherLast = fileAt(other, -1)
      const bytes = NodeFs.readFileSync(otherLast)
      const fifth = bytes.length - (32 + bytesOf(6).length) - (32 + bytesOf(5).length)
      bytes.fill(0, fifth, bytes.length - (32 + bytesOf(6).length))
      NodeFs.writeFileSync(otherLast, bytes)
      const refused = yield* open(other)
      expect(Either.isLeft(refused) && refused.left).toMatchObject({ _tag: "WalCorruptionError", offset: fifth })
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a sealed last segment followed by zeros is cut to its seal frame before the next segment starts", () =>
    Effect.gen(function*() {
      const directory = yield* written(40, { segmentBytes: 1024 })
      const names = segmentFiles(directory)
      expect(names.length).toBeGreaterThan(2)
      // As a crash right after a rotation's seal, before the cut of the space after it was durable.
      NodeFs.rmSync(Path.join(directory, names.at(-1)!))
      const sealed = fileAt(directory, -1)
      const size = NodeFs.statSync(sealed).size
      NodeFs.appendFileSync(sealed, new Uint8Array(400))
      const first = Either.getOrThrow(yield* open(directory))
      expect(Option.isNone(first.tornTail)).toBe(true)
      expect(NodeFs.statSync(sealed).size).toBe(size)
      expect(segmentFiles(directory).length).toBe(names.length)
      const second = Either.getOrThrow(yield* open(directory))
      expect(second.lastSequence).toBe(first.lastSequence)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("recovery is idempotent: opening twice gives the same log", () =>
    Effect.gen(function*() {
      const directory = yield* written(20, { segmentBytes: 1024 })
      NodeFs.truncateSync(fileAt(directory, -1), NodeFs.statSync(fileAt(directory, -1)).size - 7)
      const first = yield* open(directory)
      const bytesAfterFirst = segmentFiles(directory).map((f) => NodeFs.readFileSync(Path.join(directory, f)).toString("hex"))
      const second = yield* open(directory)
      const bytesAfterSecond = segmentFiles(directory).map((f) => NodeFs.readFileSync(Path.join(directory, f)).toString("hex"))
      expect(Either.getOrThrow(first).lastSequence).toBe(19)
      expect(Either.getOrThrow(second).lastSequence).toBe(19)
      expect(Option.isNone(Either.getOrThrow(second).tornTail)).toBe(true)
      expect(bytesAfterSecond).toEqual(bytesAfterFirst)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a flipped byte in a sealed segment is refused with the file and offset", () =>
    Effect.gen(function*() {
      const directory = yield* written(40, { segmentBytes: 1024 })
      expect(segmentFiles(directory).length).toBeGreaterThan(2)
      const sealed = fileAt(directory, 0)
      const frame = 32 + bytesOf(1).length
      flip(sealed, 128 + frame + 40)
      const result = yield* open(directory)
      expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "WalCorruptionError", file: sealed, offset: 128 + frame })
      expect(Either.isLeft(result) && result.left.message).toContain(`${sealed} at offset ${128 + frame}`)
      // Nothing was repaired: the bytes are as the damage left them.
      expect(yield* open(directory)).toEqual(result)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("damage in the last segment followed by a frame written after it was durable is corruption", () =>
    Effect.gen(function*() {
      const directory = yield* written(5)
      const last = fileAt(directory, -1)
      flip(last, 128 + 40)
      const result = yield* open(directory)
      expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "WalCorruptionError", file: last, offset: 128 })
      expect(Either.isLeft(result) && result.left.message).toContain("made durable")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("damage in an unsynced region followed by frames of the same unsynced run is a torn tail", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      yield* Effect.scoped(Effect.gen(function*() {
        // Under `none`, frames are written without fsync, so their durable offset stays at the header.
        const wal = yield* Wal.make({ directory, durability: { _tag: "None" } })
        for (let i = 1; i <= 5; i++) yield* wal.append(bytesOf(i))
      }))
      const last = fileAt(directory, -1)
      const frame = 32 + bytesOf(1).length
      flip(last, 128 + frame + 35)
      const recovery = Either.getOrThrow(yield* open(directory))
      expect(recovery.lastSequence).toBe(1)
      expect(Option.getOrThrow(recovery.tornTail)).toMatchObject({ offset: 128 + frame, reason: "checksum mismatch" })
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a foreign file, a newer version and a damaged header are refused", () =>
    Effect.gen(function*() {
      const foreign = yield* written(3)
      NodeFs.writeFileSync(fileAt(foreign, 0), "this is not a write-ahead log segment, but it is long enough to have a header ".repeat(3))
      const a = yield* open(foreign)
      expect(Either.isLeft(a) && a.left).toMatchObject({ _tag: "WalFormatError", problem: "foreign-file", file: fileAt(foreign, 0) })

      const newer = yield* written(3)
      const path = fileAt(newer, 0)
      const bytes = NodeFs.readFileSync(path)
      bytes.writeUInt16LE(2, 8)
      NodeFs.writeFileSync(path, bytes)
      const b = yield* open(newer)
      expect(Either.isLeft(b) && b.left).toMatchObject({ _tag: "WalFormatError", problem: "unsupported-version" })

      const damaged = yield* written(3)
      flip(fileAt(damaged, 0), 20)
      const c = yield* open(damaged)
      expect(Either.isLeft(c) && c.left).toMatchObject({ _tag: "WalFormatError", problem: "bad-header" })
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a segment of another WAL is refused", () =>
    Effect.gen(function*() {
      const mine = yield* written(40, { segmentBytes: 1024 })
      const theirs = yield* written(40, { segmentBytes: 1024 })
      NodeFs.copyFileSync(fileAt(theirs, 1), fileAt(mine, 1))
      const result = yield* open(mine)
      expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "WalFormatError", problem: "wal-id-mismatch" })
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a missing segment, a misnamed segment and an unsealed middle segment are corruption", () =>
    Effect.gen(function*() {
      const gap = yield* written(60, { segmentBytes: 1024 })
      NodeFs.rmSync(fileAt(gap, 1))
      const a = yield* open(gap)
      expect(Either.isLeft(a) && a.left._tag === "WalCorruptionError" && a.left.reason).toContain("a segment is missing")

      const misnamed = yield* written(60, { segmentBytes: 1024 })
      const second = fileAt(misnamed, 1)
      NodeFs.renameSync(second, second.replace(/-(\d{20})\.wal$/, (_, n: string) => `-${String(Number(n) + 1).padStart(20, "0")}.wal`))
      const b = yield* open(misnamed)
      expect(Either.isLeft(b) && b.left._tag === "WalCorruptionError" && b.left.reason).toContain("the file name says")

      const unsealed = yield* written(60, { segmentBytes: 1024 })
      const first = fileAt(unsealed, 0)
      NodeFs.truncateSync(first, NodeFs.statSync(first).size - 56)
      const c = yield* open(unsealed)
      expect(Either.isLeft(c) && c.left._tag === "WalCorruptionError" && c.left.reason).toContain("not sealed")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a segment whose creation was torn by a crash is removed and reported", () =>
    Effect.gen(function*() {
      const directory = yield* written(60, { segmentBytes: 1024 })
      const files = segmentFiles(directory)
      const last = files.at(-1)!
      const [index, first] = [Number(last.slice(0, 20)), Number(last.slice(21, 41))]
      const lastSequence = Either.getOrThrow(yield* open(directory)).lastSequence
      // A crash after the previous segment was sealed and before the next header was written
      // leaves an empty file under the next segment's name.
      NodeFs.rmSync(Path.join(directory, last))
      const torn = `${String(index).padStart(20, "0")}-${String(first).padStart(20, "0")}.wal`
      NodeFs.writeFileSync(Path.join(directory, torn), new Uint8Array(0))
      const recovery = Either.getOrThrow(yield* open(directory))
      expect(recovery.removedSegments).toEqual([torn])
      expect(recovery.lastSequence).toBe(first - 1)
      expect(lastSequence).toBeGreaterThanOrEqual(first - 1)
      expect(segmentFiles(directory).at(-1)).toBe(torn)
      // The recreated segment is a valid empty active segment.
      expect(NodeFs.statSync(Path.join(directory, torn)).size).toBe(128)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a brand-new WAL whose first header was torn is created again; foreign bytes are refused", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      const name = "00000000000000000001-00000000000000000001.wal"
      NodeFs.writeFileSync(Path.join(directory, name), Buffer.from("EFWAL"))
      const recovery = Either.getOrThrow(yield* open(directory))
      expect(recovery.removedSegments).toEqual([name])
      expect(recovery.created).toBe(true)
      const other = yield* tempDir
      NodeFs.writeFileSync(Path.join(other, name), "hello")
      const refused = yield* open(other)
      expect(Either.isLeft(refused) && refused.left._tag).toBe("WalFormatError")
      expect(NodeFs.readFileSync(Path.join(other, name), "utf8")).toBe("hello")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("files that are not segments are left alone and reported", () =>
    Effect.gen(function*() {
      const directory = yield* written(2)
      NodeFs.writeFileSync(Path.join(directory, "notes.txt"), "operator notes")
      const recovery = Either.getOrThrow(yield* open(directory))
      expect(recovery.ignoredFiles).toEqual(["notes.txt"])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("verify: tail scans only the last segment and verifies sealed frames when they are read", () =>
    Effect.gen(function*() {
      const directory = yield* written(60, { segmentBytes: 1024 })
      const count = segmentFiles(directory).length
      const fast = Either.getOrThrow(yield* open(directory, "tail"))
      expect(fast.segmentsScanned).toBe(1)
      expect(fast.segments).toBe(count)
      expect(fast.lastSequence).toBe(60)
      const full = Either.getOrThrow(yield* open(directory, "full"))
      expect(full.segmentsScanned).toBe(count)
      expect(full.framesVerified).toBeGreaterThan(fast.framesVerified)

      const sealed = fileAt(directory, 0)
      flip(sealed, 128 + 40)
      const wal = yield* Wal.make({ directory, verify: "tail" })
      const read = yield* Effect.either(Stream.runDrain(wal.replay()))
      expect(Either.isLeft(read) && read.left).toMatchObject({ _tag: "WalCorruptionError", file: sealed, offset: 128 })
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("verify: tail refuses a sealed segment whose seal frame is damaged", () =>
    Effect.gen(function*() {
      const directory = yield* written(60, { segmentBytes: 1024 })
      const sealed = fileAt(directory, 0)
      flip(sealed, NodeFs.statSync(sealed).size - 10)
      const result = yield* open(directory, "tail")
      expect(Either.isLeft(result) && result.left._tag).toBe("WalCorruptionError")
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("classifyEnd", () => {
  const seed = frameSeed(new Uint8Array(16).fill(1))
  const committedEnd = 1000
  /** One data frame of sequence 7 claiming `durable` bytes durable; `continues` leaves its batch open. */
  const frame = (durable: number, continues = false) => {
    const encoder = new BatchEncoder(seed)
    encoder.frame(FrameKind.data, continues ? FLAG_CONTINUES : 0, 7, 1, durable, new Uint8Array(5).fill(9))
    return Uint8Array.from(encoder.bytes())
  }
  const concat = (...parts: ReadonlyArray<Uint8Array>) => Uint8Array.from(parts.flatMap((part) => [...part]))
  const stopped = (fields: Partial<StoppedFrames>): StoppedFrames => ({
    isLast: true,
    seed,
    committedEnd,
    pending: 0,
    damage: Option.none(),
    bytes: new Uint8Array(0),
    ...fields
  })
  const checksum = (offset: number) => Option.some({ offset, reason: "checksum mismatch", structural: false })

  it("zeros after the last frame of the last segment are the end of the log", () => {
    expect(classifyEnd(stopped({ damage: checksum(committedEnd), bytes: new Uint8Array(64) }))).toEqual({ _tag: "End" })
  })

  it("an unfinished batch before zeros is a torn tail that does not count the zeros", () => {
    const pending = frame(committedEnd, true)
    const bytes = concat(pending, new Uint8Array(64))
    expect(classifyEnd(stopped({ pending: 1, damage: checksum(committedEnd + pending.length), bytes }))).toEqual({
      _tag: "TornTail",
      tail: { offset: committedEnd, bytes: pending.length, entries: 1, reason: "atomic batch without its last frame" }
    })
  })

  it("damage is a torn tail unless a later frame claims it durable", () => {
    const garbage = new Uint8Array(10).fill(7)
    const torn = concat(garbage, frame(committedEnd))
    expect(classifyEnd(stopped({ damage: checksum(committedEnd), bytes: torn }))).toEqual({
      _tag: "TornTail",
      tail: { offset: committedEnd, bytes: torn.length, entries: 0, reason: "checksum mismatch" }
    })
    expect(classifyEnd(stopped({ damage: checksum(committedEnd), bytes: concat(garbage, frame(committedEnd + 1)) }))).toEqual({
      _tag: "Corruption",
      offset: committedEnd,
      reason: `checksum mismatch, followed by a valid frame at offset ${committedEnd + 10} written after this offset was made durable`
    })
  })

  it("damage in a segment that is not the last, or that a crash cannot explain, is corruption", () => {
    expect(classifyEnd(stopped({ isLast: false, pending: 2, bytes: frame(committedEnd, true) }))).toEqual({
      _tag: "Corruption",
      offset: committedEnd,
      reason: "atomic batch without its last frame in a segment that is not the last"
    })
    const structural = Option.some({ offset: 1200, reason: "frame after the seal frame", structural: true })
    expect(classifyEnd(stopped({ damage: structural, bytes: new Uint8Array(300) }))).toEqual({
      _tag: "Corruption",
      offset: 1200,
      reason: "frame after the seal frame"
    })
    expect(classifyEnd(stopped({ isLast: false, damage: structural }))).toEqual({
      _tag: "Corruption",
      offset: 1200,
      reason: "frame after the seal frame in a segment that is not the last"
    })
  })
})
