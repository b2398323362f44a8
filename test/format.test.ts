import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck, Option } from "effect"
import {
  FLAG_CONTINUES,
  FORMAT_VERSION,
  FRAME_HEADER_SIZE,
  FrameKind,
  HEADER_SIZE,
  SEAL_FRAME_SIZE,
  SEAL_PAYLOAD_SIZE,
  SEGMENT_MAGIC
} from "../src/internal/format/constants.js"
import { crc32c, crc32cUpdate, crc32cUpdateJs, NATIVE_MIN_BYTES } from "../src/internal/format/crc32c.js"
import {
  BatchEncoder,
  decodeSealPayload,
  encodeSealPayload,
  FrameCursor,
  frameSeed,
  frameSize
} from "../src/internal/format/frame.js"
import type { SegmentHeader } from "../src/internal/format/header.js"
import { decodeHeader, encodeHeader, hex, isValidCodecId } from "../src/internal/format/header.js"
import { formatSegmentName, parseSegmentName } from "../src/internal/segment/name.js"

// -----------------------------------------------------------------------------------------------
// helpers

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0))

const concat = (...parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

const viewOf = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)

const flipBit = (bytes: Uint8Array, bit: number): Uint8Array => {
  const copy = bytes.slice()
  copy[bit >> 3] ^= 1 << (bit & 7)
  return copy
}

/** A bit-by-bit CRC-32C straight from the definition, independent of the table implementations. */
const referenceCrc32c = (seed: number, bytes: Uint8Array): number => {
  let c = ~seed >>> 0
  for (const byte of bytes) {
    c ^= byte
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
  }
  return ~c >>> 0
}

const walIdArb = FastCheck.uint8Array({ minLength: 16, maxLength: 16 })
const codecIdArb = FastCheck.stringMatching(/^[\x21-\x7e]{1,64}$/)
const u64Arb = FastCheck.maxSafeNat()
const u32Arb = FastCheck.integer({ min: 0, max: 0xffff_ffff })

const headerArb = FastCheck.record({
  walId: walIdArb,
  segmentIndex: u64Arb,
  firstSequence: FastCheck.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  codecId: codecIdArb
})

const expectRight = <A, E>(either: Either.Either<A, E>): A => {
  if (Either.isLeft(either)) throw new Error(`expected Right, got Left ${JSON.stringify(either.left)}`)
  return either.right
}

const expectProblem = (either: Either.Either<SegmentHeader, { readonly problem: string }>): string => {
  if (Either.isRight(either)) throw new Error("expected a decode failure, got a header")
  return either.left.problem
}

/** Recomputes a header's checksum after a test changed a field, so only the field check can fail. */
const resealHeader = (bytes: Uint8Array): Uint8Array => {
  viewOf(bytes).setUint32(124, crc32c(bytes, 0, 124), true)
  return bytes
}

const WAL_ID = Uint8Array.from({ length: 16 }, (_, i) => i * 17 + 3)
const SEED = frameSeed(WAL_ID)
const MAX_PAYLOAD = 1024

interface RawFrame {
  readonly kind: number
  readonly flags?: number
  readonly reserved?: number
  readonly durable?: number
  /** Written as two u32 words when given as a pair, to reach values past 2^53. */
  readonly sequence: number | readonly [lo: number, hi: number]
  readonly timestamp?: number | readonly [lo: number, hi: number]
  readonly payload?: Uint8Array
  readonly length?: number
  readonly seed?: number
}

const writeWords = (view: DataView, offset: number, value: number | readonly [number, number]) => {
  const [lo, hi] = typeof value === "number" ? [value >>> 0, Math.floor(value / 0x1_0000_0000)] : value
  view.setUint32(offset, lo, true)
  view.setUint32(offset + 4, hi, true)
}

/**
 * Writes a frame field by field from the layout in docs/format.md, with a valid checksum unless
 * told otherwise, so tests can craft frames the encoder would never write.
 */
const rawFrame = (frame: RawFrame): Uint8Array => {
  const payload = frame.payload ?? new Uint8Array(0)
  const bytes = new Uint8Array(FRAME_HEADER_SIZE + payload.length)
  const view = viewOf(bytes)
  view.setUint32(4, frame.length ?? payload.length, true)
  bytes[8] = frame.kind
  bytes[9] = frame.flags ?? 0
  view.setUint16(10, frame.reserved ?? 0, true)
  view.setUint32(12, frame.durable ?? 0, true)
  writeWords(view, 16, frame.sequence)
  writeWords(view, 24, frame.timestamp ?? 1_700_000_000_000)
  bytes.set(payload, FRAME_HEADER_SIZE)
  view.setUint32(0, crc32cUpdate(frame.seed ?? SEED, bytes, 4, bytes.length), true)
  return bytes
}

const cursorOver = (bytes: Uint8Array, expectedSequence = 1, seed = SEED, maxPayload = MAX_PAYLOAD) => {
  const cursor = new FrameCursor(seed, maxPayload)
  cursor.reset(bytes, 0, bytes.length, expectedSequence)
  return cursor
}

const firstResult = (bytes: Uint8Array, expectedSequence = 1, seed = SEED, maxPayload = MAX_PAYLOAD) =>
  cursorOver(bytes, expectedSequence, seed, maxPayload).next()

// -----------------------------------------------------------------------------------------------

describe("crc32c", () => {
  it("matches the standard check value and the RFC 3720 (iSCSI) vectors", () => {
    expect(crc32c(ascii("123456789"))).toBe(0xe3069283)
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa)
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43)
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e)
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c)
    const readCommandPdu = Uint8Array.from(
      "01c000000000000000000000000000001400000000000400000000140000001828000000000000000200000000000000"
        .match(/../g)!,
      (h) => parseInt(h, 16)
    )
    expect(crc32c(readCommandPdu)).toBe(0xd9963a56)
    expect(crc32c(new Uint8Array(0))).toBe(0)
  })

  it("the JS implementation matches the same vectors whatever serves crc32cUpdate", () => {
    expect(crc32cUpdateJs(0, ascii("123456789"))).toBe(0xe3069283)
    expect(crc32cUpdateJs(0, new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43)
  })

  it("checksums a range in place like the same bytes on their own", () => {
    const bytes = ascii("xx123456789yy")
    expect(crc32c(bytes, 2, 11)).toBe(0xe3069283)
    expect(crc32cUpdate(0, bytes.subarray(2), 0, 9)).toBe(0xe3069283)
  })

  it.prop(
    "crc32cUpdate over split ranges equals one pass",
    [FastCheck.uint8Array({ maxLength: 1200 }), FastCheck.nat(), FastCheck.nat()],
    ([bytes, a, b]) => {
      const [i, j] = [a % (bytes.length + 1), b % (bytes.length + 1)].sort((x, y) => x - y) as [number, number]
      const split = crc32cUpdate(crc32cUpdate(crc32cUpdate(0, bytes, 0, i), bytes, i, j), bytes, j, bytes.length)
      expect(split).toBe(crc32c(bytes))
    }
  )

  it.prop(
    "continuing from a seed is the checksum of the seed's bytes followed by the range",
    [FastCheck.uint8Array({ maxLength: 64 }), FastCheck.uint8Array({ maxLength: 600 })],
    ([prefix, bytes]) => {
      expect(crc32cUpdate(crc32c(prefix), bytes)).toBe(crc32c(concat(prefix, bytes)))
    }
  )

  it.prop(
    "the shipped, JS and bit-by-bit implementations agree on both sides of the native threshold",
    [
      u32Arb,
      FastCheck.uint8Array({ minLength: NATIVE_MIN_BYTES - 16, maxLength: NATIVE_MIN_BYTES * 3 }),
      FastCheck.nat(),
      FastCheck.nat()
    ],
    ([seed, bytes, a, b]) => {
      const [start, end] = [a % (bytes.length + 1), b % (bytes.length + 1)].sort((x, y) => x - y) as [number, number]
      const expected = referenceCrc32c(seed, bytes.subarray(start, end))
      expect(crc32cUpdateJs(seed, bytes, start, end)).toBe(expected)
      expect(crc32cUpdate(seed, bytes, start, end)).toBe(expected)
      expect(crc32cUpdate(seed, bytes.subarray(start, end))).toBe(expected)
    }
  )
})

// -----------------------------------------------------------------------------------------------

describe("segment header", () => {
  it("has the documented layout", () => {
    const bytes = encodeHeader({ walId: WAL_ID, segmentIndex: 7, firstSequence: 0x1_0000_0002, codecId: "json" })
    const view = viewOf(bytes)
    expect(bytes.length).toBe(HEADER_SIZE)
    expect(bytes.subarray(0, 8)).toEqual(ascii("EFWALSEG"))
    expect(view.getUint16(8, true)).toBe(FORMAT_VERSION)
    expect(view.getUint16(10, true)).toBe(128)
    expect(view.getUint32(12, true)).toBe(0)
    expect(bytes.subarray(16, 32)).toEqual(WAL_ID)
    expect([view.getUint32(32, true), view.getUint32(36, true)]).toEqual([7, 0])
    expect([view.getUint32(40, true), view.getUint32(44, true)]).toEqual([2, 1])
    expect(bytes[48]).toBe(4)
    expect(bytes.subarray(49, 53)).toEqual(ascii("json"))
    expect(bytes.subarray(53, 124).every((b) => b === 0)).toBe(true)
    expect(view.getUint32(124, true)).toBe(crc32c(bytes, 0, 124))
  })

  it.prop("round-trips arbitrary fields", [headerArb], ([header]) => {
    const decoded = expectRight(decodeHeader(encodeHeader(header)))
    expect(decoded).toEqual({ version: FORMAT_VERSION, ...header })
  })

  it("decodes a header followed by frames, and returns a WAL id the caller owns", () => {
    const header = encodeHeader({ walId: WAL_ID, segmentIndex: 0, firstSequence: 1, codecId: "bytes" })
    const file = concat(header, rawFrame({ kind: FrameKind.data, sequence: 1 }))
    const decoded = expectRight(decodeHeader(file))
    file[16] ^= 0xff
    expect(decoded.walId).toEqual(WAL_ID)
  })

  it("refuses to encode a WAL id of the wrong size or an invalid codec id", () => {
    expect(() => encodeHeader({ walId: new Uint8Array(15), segmentIndex: 0, firstSequence: 1, codecId: "json" }))
      .toThrow(RangeError)
    for (const codecId of ["", "a b", "é", "x".repeat(65)]) {
      expect(isValidCodecId(codecId)).toBe(false)
      expect(() => encodeHeader({ walId: WAL_ID, segmentIndex: 0, firstSequence: 1, codecId })).toThrow(RangeError)
    }
    expect(isValidCodecId("x".repeat(64))).toBe(true)
  })

  it("reports foreign-file for another magic, including a short foreign file", () => {
    const valid = encodeHeader({ walId: WAL_ID, segmentIndex: 0, firstSequence: 1, codecId: "json" })
    const zip = new Uint8Array(4096)
    zip.set([0x50, 0x4b, 0x03, 0x04])
    expect(expectProblem(decodeHeader(zip))).toBe("foreign-file")
    expect(expectProblem(decodeHeader(ascii("hi\n")))).toBe("foreign-file")
    expect(expectProblem(decodeHeader(ascii("EFWALSEX")))).toBe("foreign-file")
    expect(expectProblem(decodeHeader(new Uint8Array(HEADER_SIZE)))).toBe("foreign-file")
    const otherMagic = valid.slice()
    otherMagic.set(ascii("EFWALIDX"), 0)
    expect(expectProblem(decodeHeader(resealHeader(otherMagic)))).toBe("foreign-file")
  })

  it("reports bad-header for every truncation of a valid header, the empty file included", () => {
    const valid = encodeHeader({ walId: WAL_ID, segmentIndex: 3, firstSequence: 99, codecId: "msgpack" })
    for (let length = 0; length < HEADER_SIZE; length++) {
      expect(expectProblem(decodeHeader(valid.subarray(0, length)))).toBe("bad-header")
    }
  })

  it.prop(
    "a single flipped bit anywhere in the 128 bytes never decodes",
    [headerArb, FastCheck.integer({ min: 0, max: HEADER_SIZE * 8 - 1 })],
    ([header, bit]) => {
      const problem = expectProblem(decodeHeader(flipBit(encodeHeader(header), bit)))
      const byte = bit >> 3
      if (byte < 8) expect(problem).toBe("foreign-file")
      else if (byte < 10) expect(["unsupported-version", "bad-header"]).toContain(problem)
      else expect(problem).toBe("bad-header")
    }
  )

  it("reports bad-header for each flipped bit of the checksum-covered fields of one header", () => {
    const valid = encodeHeader({ walId: WAL_ID, segmentIndex: 1, firstSequence: 2, codecId: "json" })
    for (let bit = 10 * 8; bit < HEADER_SIZE * 8; bit++) {
      expect(expectProblem(decodeHeader(flipBit(valid, bit)))).toBe("bad-header")
    }
  })

  it("reports unsupported-version for a newer version, even when the rest is unreadable", () => {
    const valid = encodeHeader({ walId: WAL_ID, segmentIndex: 0, firstSequence: 1, codecId: "json" })
    for (const version of [FORMAT_VERSION + 1, 0xffff]) {
      const newer = valid.slice()
      viewOf(newer).setUint16(8, version, true)
      expect(expectProblem(decodeHeader(resealHeader(newer.slice())))).toBe("unsupported-version")
      newer.fill(0xaa, 10)
      expect(expectProblem(decodeHeader(newer))).toBe("unsupported-version")
    }
    const zero = valid.slice()
    viewOf(zero).setUint16(8, 0, true)
    expect(expectProblem(decodeHeader(resealHeader(zero)))).toBe("bad-header")
  })

  it("checks every field even under a valid checksum", () => {
    const valid = encodeHeader({ walId: WAL_ID, segmentIndex: 0, firstSequence: 1, codecId: "json" })
    const edit = (f: (bytes: Uint8Array, view: DataView) => void) => {
      const bytes = valid.slice()
      f(bytes, viewOf(bytes))
      return expectProblem(decodeHeader(resealHeader(bytes)))
    }
    expect(edit((_, v) => v.setUint16(10, 256, true))).toBe("bad-header")
    expect(edit((_, v) => v.setUint32(36, 0x20_0000, true))).toBe("bad-header") // segment index 2^53
    expect(edit((_, v) => v.setUint32(40, 0, true))).toBe("bad-header") // first sequence 0
    expect(edit((_, v) => v.setUint32(44, 0x20_0000, true))).toBe("bad-header") // first sequence 2^53 + 1
    expect(edit((b) => (b[48] = 0))).toBe("bad-header")
    expect(edit((b) => (b[48] = 65))).toBe("bad-header")
    expect(edit((b) => (b[50] = 0x20))).toBe("bad-header") // "j o" has a space
    expect(edit((b) => (b[49] = 0x80))).toBe("bad-header")
    // a 64-character codec id is the longest, and fits
    const longest = encodeHeader({ walId: WAL_ID, segmentIndex: 0, firstSequence: 1, codecId: "~".repeat(64) })
    expect(expectRight(decodeHeader(longest)).codecId).toBe("~".repeat(64))
  })

  it("the checksum is CRC-32C of bytes [0, 124) stored little-endian at 124", () => {
    const valid = encodeHeader({ walId: WAL_ID, segmentIndex: 0, firstSequence: 1, codecId: "json" })
    expect(hex(viewOf(valid).getUint32(124, true))).toBe(hex(referenceCrc32c(0, valid.subarray(0, 124))))
    expect(hex(Uint8Array.of(0, 15, 255))).toBe("000fff")
  })
})

// -----------------------------------------------------------------------------------------------

interface FrameSpec {
  readonly kind: typeof FrameKind.data | typeof FrameKind.checkpoint
  readonly continues: boolean
  readonly payload: Uint8Array
  readonly timestamp: number
  readonly durable: number
}

const frameSpecArb: FastCheck.Arbitrary<FrameSpec> = FastCheck.record({
  kind: FastCheck.constantFrom(FrameKind.data, FrameKind.checkpoint),
  continues: FastCheck.boolean(),
  payload: FastCheck.uint8Array({ maxLength: 300 }),
  timestamp: u64Arb,
  durable: u32Arb
})

describe("frames", () => {
  it("the encoder writes the documented layout", () => {
    const encoder = new BatchEncoder(SEED)
    const payload = ascii("hello")
    encoder.frame(FrameKind.data, FLAG_CONTINUES, 0x1_0000_0005, 1_700_000_000_123, 4096, payload)
    expect(encoder.bytes()).toEqual(
      rawFrame({
        kind: FrameKind.data,
        flags: FLAG_CONTINUES,
        durable: 4096,
        sequence: 0x1_0000_0005,
        timestamp: 1_700_000_000_123,
        payload
      })
    )
    const view = viewOf(encoder.bytes())
    expect(view.getUint32(0, true)).toBe(referenceCrc32c(0, concat(WAL_ID, encoder.bytes().subarray(4))))
    expect(frameSize(payload.length)).toBe(37)
  })

  it.prop(
    "round-trip through BatchEncoder and FrameCursor",
    [
      walIdArb,
      FastCheck.integer({ min: 1, max: Number.MAX_SAFE_INTEGER - 1000 }),
      FastCheck.array(frameSpecArb, { maxLength: 40 }),
      FastCheck.option(u64Arb, { nil: undefined }),
      FastCheck.nat({ max: 200 })
    ],
    ([walId, firstSequence, specs, sealTimestamp, offset]) => {
      const seed = frameSeed(walId)
      const encoder = new BatchEncoder(seed, 64)
      specs.forEach((spec, i) =>
        encoder.frame(spec.kind, spec.continues ? FLAG_CONTINUES : 0, firstSequence + i, spec.timestamp, spec.durable, spec.payload)
      )
      const lastSequence = firstSequence + specs.length - 1
      if (sealTimestamp !== undefined) encoder.seal(lastSequence, specs.length, 0, sealTimestamp, 77)
      // place the batch after some leading bytes, as frames follow a segment header in a file
      const file = concat(new Uint8Array(offset).fill(0xee), encoder.bytes(), Uint8Array.of(0))
      const cursor = new FrameCursor(seed, 300)
      cursor.reset(file, offset, file.length - 1, firstSequence)
      specs.forEach((spec, i) => {
        const start = cursor.position
        expect(cursor.next()).toBe("frame")
        expect(cursor.frameStart).toBe(start)
        expect(cursor.kind).toBe(spec.kind)
        expect(cursor.flags).toBe(spec.continues ? FLAG_CONTINUES : 0)
        expect(cursor.commits).toBe(!spec.continues)
        expect(cursor.sequence).toBe(firstSequence + i)
        expect(cursor.timestamp).toBe(spec.timestamp)
        expect(cursor.durableOffset).toBe(spec.durable)
        expect(file.subarray(cursor.payloadStart, cursor.payloadEnd)).toEqual(spec.payload)
        expect(cursor.expectedSequence).toBe(firstSequence + i + 1)
      })
      if (sealTimestamp !== undefined) {
        expect(cursor.next()).toBe("frame")
        expect(cursor.kind).toBe(FrameKind.seal)
        expect(cursor.sequence).toBe(lastSequence)
        expect(cursor.timestamp).toBe(sealTimestamp)
        expect(cursor.durableOffset).toBe(77)
        expect(cursor.commits).toBe(true)
        expect(cursor.payloadEnd - cursor.payloadStart).toBe(SEAL_PAYLOAD_SIZE)
        expect(decodeSealPayload(file, cursor.payloadStart)).toEqual({
          lastSequence,
          entryCount: specs.length,
          lastCheckpoint: 0
        })
        expect(cursor.expectedSequence).toBe(lastSequence + 1)
      }
      expect(cursor.next()).toBe("end")
      expect(cursor.position).toBe(file.length - 1)
    }
  )

  it("accepts a payload of exactly maxPayload bytes and a seal of an empty segment", () => {
    const encoder = new BatchEncoder(SEED, 16)
    encoder.frame(FrameKind.data, 0, 1, 0, 0, new Uint8Array(MAX_PAYLOAD).fill(7))
    encoder.seal(1, 1, 0, 5, 0)
    const cursor = cursorOver(encoder.bytes())
    expect([cursor.next(), cursor.next(), cursor.next()]).toEqual(["frame", "frame", "end"])
    expect(firstResult(rawFrame({ kind: FrameKind.seal, sequence: 41, payload: encodeSealPayload(41, 0, 40) }), 42))
      .toBe("frame")
  })

  describe("stop reasons", () => {
    const valid = rawFrame({ kind: FrameKind.data, sequence: 1, payload: ascii("payload bytes") })

    it("end: no bytes left", () => {
      expect(firstResult(new Uint8Array(0))).toBe("end")
      const cursor = cursorOver(concat(valid, valid))
      cursor.reset(valid, valid.length, valid.length, 1)
      expect(cursor.next()).toBe("end")
    })

    it("incomplete: a short header or a short payload, at every cut", () => {
      expect(firstResult(valid.subarray(0, FRAME_HEADER_SIZE - 1))).toBe("incomplete")
      expect(firstResult(valid.subarray(0, valid.length - 1))).toBe("incomplete")
      for (let length = 1; length < valid.length; length++) {
        const cursor = cursorOver(valid.subarray(0, length))
        expect(cursor.next()).toBe("incomplete")
        expect(cursor.position).toBe(0)
      }
    })

    it("checksum: a changed payload byte", () => {
      const bad = valid.slice()
      bad[FRAME_HEADER_SIZE + 3] ^= 0x20
      expect(firstResult(bad)).toBe("checksum")
    })

    it("bad-length: rejected before the payload is read", () => {
      // only the header is present: a cursor reading the payload first would say "incomplete"
      for (const length of [MAX_PAYLOAD + 1, 0x7fff_ffff, 0xffff_ffff]) {
        const header = rawFrame({ kind: FrameKind.data, sequence: 1, length }).subarray(0, FRAME_HEADER_SIZE)
        expect(firstResult(header)).toBe("bad-length")
      }
      const header = rawFrame({ kind: FrameKind.data, sequence: 1, length: MAX_PAYLOAD }).subarray(0, FRAME_HEADER_SIZE)
      expect(firstResult(header)).toBe("incomplete")
    })

    it("bad-frame: invalid fields under a valid checksum", () => {
      const cases: ReadonlyArray<RawFrame> = [
        { kind: 0, sequence: 1 },
        { kind: 4, sequence: 1 },
        { kind: 0xff, sequence: 1 },
        { kind: FrameKind.data, flags: 0x02, sequence: 1 },
        { kind: FrameKind.data, flags: 0x80 | FLAG_CONTINUES, sequence: 1 },
        { kind: FrameKind.data, reserved: 1, sequence: 1 },
        { kind: FrameKind.checkpoint, reserved: 0x0100, sequence: 1 },
        { kind: FrameKind.data, sequence: [0, 0x20_0000] },
        { kind: FrameKind.data, sequence: 1, timestamp: [0, 0xffff_ffff] },
        { kind: FrameKind.seal, sequence: 0, payload: new Uint8Array(SEAL_PAYLOAD_SIZE - 1) },
        { kind: FrameKind.seal, sequence: 0, payload: new Uint8Array(SEAL_PAYLOAD_SIZE + 1) },
        { kind: FrameKind.seal, sequence: 0 },
        { kind: FrameKind.seal, flags: FLAG_CONTINUES, sequence: 0, payload: encodeSealPayload(0, 0, 0) }
      ]
      for (const frame of cases) {
        const bytes = rawFrame(frame)
        expect(viewOf(bytes).getUint32(0, true)).toBe(crc32cUpdate(SEED, bytes, 4, bytes.length))
        expect(firstResult(bytes)).toBe("bad-frame")
      }
    })

    it("out-of-order: data, checkpoint and seal frames with the wrong sequence", () => {
      expect(firstResult(rawFrame({ kind: FrameKind.data, sequence: 6 }), 5)).toBe("out-of-order")
      expect(firstResult(rawFrame({ kind: FrameKind.data, sequence: 4 }), 5)).toBe("out-of-order")
      expect(firstResult(rawFrame({ kind: FrameKind.checkpoint, sequence: 7 }), 5)).toBe("out-of-order")
      const seal = (sequence: number) =>
        rawFrame({ kind: FrameKind.seal, sequence, payload: encodeSealPayload(sequence, 4, 0) })
      expect(firstResult(seal(5), 5)).toBe("out-of-order")
      expect(firstResult(seal(3), 5)).toBe("out-of-order")
      expect(firstResult(seal(4), 5)).toBe("frame")
      // a duplicate: the same valid frame twice
      const twice = concat(valid, valid)
      const cursor = cursorOver(twice)
      expect(cursor.next()).toBe("frame")
      expect(cursor.next()).toBe("out-of-order")
      expect(cursor.position).toBe(valid.length)
      expect(cursor.expectedSequence).toBe(2)
    })

    it("a frame of another WAL fails the checksum", () => {
      const otherSeed = frameSeed(Uint8Array.from(WAL_ID, (b) => b ^ 1))
      expect(otherSeed).not.toBe(SEED)
      expect(firstResult(rawFrame({ kind: FrameKind.data, sequence: 1, seed: otherSeed }))).toBe("checksum")
      // unseeded (plain CRC-32C) frames do not validate either
      expect(firstResult(rawFrame({ kind: FrameKind.data, sequence: 1, seed: 0 }))).toBe("checksum")
    })
  })

  it.prop(
    "frames of another WAL id fail the checksum",
    [walIdArb, walIdArb, frameSpecArb],
    ([a, b, spec]) => {
      FastCheck.pre(frameSeed(a) !== frameSeed(b))
      const encoder = new BatchEncoder(frameSeed(a))
      encoder.frame(spec.kind, 0, 1, spec.timestamp, spec.durable, spec.payload)
      expect(firstResult(encoder.bytes(), 1, frameSeed(b), 300)).toBe("checksum")
    }
  )

  it.prop(
    "all-zero regions never decode as a frame",
    [FastCheck.nat({ max: 4096 }), walIdArb],
    ([length, walId]) => {
      expect(firstResult(new Uint8Array(length), 1, frameSeed(walId), 1 << 20)).not.toBe("frame")
    }
  )

  it.prop(
    "random garbage never decodes as a frame, even with a plausible length",
    [FastCheck.uint8Array({ minLength: 0, maxLength: 512 }), FastCheck.boolean(), walIdArb],
    ([garbage, plausible, walId]) => {
      const bytes = garbage.slice()
      if (plausible && bytes.length >= FRAME_HEADER_SIZE) {
        viewOf(bytes).setUint32(4, bytes.length - FRAME_HEADER_SIZE, true)
      }
      expect(firstResult(bytes, 1, frameSeed(walId), 1 << 20)).not.toBe("frame")
    }
  )

  it.prop(
    "a flipped bit anywhere in a small frame is detected",
    [frameSpecArb.map((spec) => ({ ...spec, payload: spec.payload.subarray(0, 48) })), FastCheck.boolean()],
    ([spec, continues]) => {
      const encoder = new BatchEncoder(SEED)
      encoder.frame(spec.kind, continues ? FLAG_CONTINUES : 0, 1, spec.timestamp, spec.durable, spec.payload)
      const frame = encoder.bytes().slice()
      expect(firstResult(frame)).toBe("frame")
      for (let bit = 0; bit < frame.length * 8; bit++) {
        const result = firstResult(flipBit(frame, bit))
        if (bit >= 32 && bit < 64) expect(["checksum", "bad-length", "incomplete"]).toContain(result)
        else expect(result).toBe("checksum")
      }
    }
  )

  describe("BatchEncoder", () => {
    it("reuses its buffer from batch to batch while a batch fits", () => {
      const encoder = new BatchEncoder(SEED, 1024)
      encoder.frame(FrameKind.data, 0, 1, 0, 0, new Uint8Array(100))
      const first = encoder.bytes()
      expect(encoder.size).toBe(132)
      encoder.reset()
      expect(encoder.size).toBe(0)
      encoder.frame(FrameKind.data, 0, 2, 0, 0, new Uint8Array(900))
      const second = encoder.bytes()
      expect(second.buffer).toBe(first.buffer)
      expect(second.length).toBe(932)
    })

    it("grows when a batch does not fit, keeping the frames already in it, then reuses the larger buffer", () => {
      const encoder = new BatchEncoder(SEED, 64)
      const small = encoder.bytes().buffer
      encoder.frame(FrameKind.data, FLAG_CONTINUES, 1, 10, 0, ascii("first"))
      encoder.frame(FrameKind.data, 0, 2, 11, 0, new Uint8Array(5000).fill(9))
      const grown = encoder.bytes()
      expect(grown.buffer).not.toBe(small)
      expect(grown.buffer.byteLength).toBeGreaterThanOrEqual(5000 + 37 + 32)
      const cursor = cursorOver(grown, 1, SEED, 8192)
      expect(cursor.next()).toBe("frame")
      expect(grown.subarray(cursor.payloadStart, cursor.payloadEnd)).toEqual(ascii("first"))
      expect(cursor.next()).toBe("frame")
      expect(cursor.payloadEnd - cursor.payloadStart).toBe(5000)
      expect(cursor.next()).toBe("end")
      encoder.reset()
      encoder.frame(FrameKind.data, 0, 3, 12, 0, ascii("again"))
      expect(encoder.bytes().buffer).toBe(grown.buffer)
    })
  })

  describe("seal payload", () => {
    it.prop("round-trips, also at an offset inside a larger buffer", [u64Arb, u64Arb, u64Arb, FastCheck.nat({ max: 64 })], ([last, count, checkpoint, offset]) => {
      const payload = encodeSealPayload(last, count, checkpoint)
      expect(payload.length).toBe(SEAL_PAYLOAD_SIZE)
      expect(decodeSealPayload(payload, 0)).toEqual({ lastSequence: last, entryCount: count, lastCheckpoint: checkpoint })
      const outer = new Uint8Array(offset + 200)
      const inner = outer.subarray(offset + 3)
      inner.set(payload, 5)
      expect(decodeSealPayload(inner, 5)).toEqual({ lastSequence: last, entryCount: count, lastCheckpoint: checkpoint })
    })

    it("is written little-endian and framed as a 56-byte seal frame", () => {
      const view = viewOf(encodeSealPayload(0x1_0000_0001, 2, 3))
      expect([view.getUint32(0, true), view.getUint32(4, true), view.getUint32(8, true), view.getUint32(16, true)])
        .toEqual([1, 1, 2, 3])
      const encoder = new BatchEncoder(SEED)
      encoder.seal(9, 9, 4, 1, 2)
      expect(encoder.size).toBe(SEAL_FRAME_SIZE)
      expect(encoder.bytes()).toEqual(
        rawFrame({ kind: FrameKind.seal, sequence: 9, timestamp: 1, durable: 2, payload: encodeSealPayload(9, 9, 4) })
      )
    })
  })
})

// -----------------------------------------------------------------------------------------------

describe("segment names", () => {
  it("formats two 20-digit numbers", () => {
    expect(formatSegmentName(0, 1)).toBe("00000000000000000000-00000000000000000001.wal")
    expect(formatSegmentName(12, 3456)).toBe("00000000000000000012-00000000000000003456.wal")
    expect(formatSegmentName(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER))
      .toBe("00009007199254740991-00009007199254740991.wal")
  })

  it.prop(
    "round-trips",
    [u64Arb, FastCheck.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })],
    ([segmentIndex, firstSequence]) => {
      expect(parseSegmentName(formatSegmentName(segmentIndex, firstSequence)))
        .toEqual(Option.some({ segmentIndex, firstSequence }))
    }
  )

  it.prop(
    "lexical order is numeric order",
    [u64Arb, FastCheck.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), u64Arb, FastCheck.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })],
    ([i1, s1, i2, s2]) => {
      const a = formatSegmentName(i1, s1)
      const b = formatSegmentName(i2, s2)
      const lexical = a < b ? -1 : a > b ? 1 : 0
      const numeric = Math.sign(i1 !== i2 ? i1 - i2 : s1 - s2)
      expect(lexical).toBe(numeric)
      expect([b, a].sort()).toEqual(numeric <= 0 ? [a, b] : [b, a])
    }
  )

  it("returns None for anything else", () => {
    const good = formatSegmentName(1, 2)
    const names = [
      "",
      "LOCK",
      "0-1.wal",
      "0000000000000000000-00000000000000000001.wal", // 19 digits
      "000000000000000000000-00000000000000000001.wal", // 21 digits
      "00000000000000000000-0000000000000000001.wal",
      `${good}.tmp`,
      `x${good}`,
      ` ${good}`,
      `${good}\n`,
      good.replace(".wal", ".WAL"),
      good.replace("-", "_"),
      "00000000000000000001-00000000000000000000.wal", // first sequence 0
      "00009007199254740992-00000000000000000001.wal", // index 2^53
      "00000000000000000001-00009007199254740993.wal", // first sequence past 2^53
      "99999999999999999999-99999999999999999999.wal",
      "0000000000000000000\u0661-00000000000000000001.wal", // a non-ASCII digit
      "+0000000000000000001-00000000000000000001.wal"
    ]
    for (const name of names) expect(parseSegmentName(name)).toEqual(Option.none())
    expect(parseSegmentName(good)).toEqual(Option.some({ segmentIndex: 1, firstSequence: 2 }))
  })
})

// the magic in constants.ts spells the documented ASCII
it("SEGMENT_MAGIC is ASCII EFWALSEG", () => {
  expect(SEGMENT_MAGIC).toEqual(ascii("EFWALSEG"))
})
