import { SystemError } from "@effect/platform/Error"
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Cause, Effect, Exit, FastCheck, Layer, Schema } from "effect"
import * as Codec from "../src/Codec.js"
import * as WalError from "../src/WalError.js"

// -----------------------------------------------------------------------------------------------
// schemas

const Tags = Schema.Array(Schema.String)

/** Finite numbers without -0, which neither JSON nor MessagePack keeps (see the test below). */
const Finite = Schema.Finite.pipe(Schema.filter((n) => !Object.is(n, -0)))

class Order extends Schema.Class<Order>("Order")({
  id: Schema.String,
  quantity: Schema.Int,
  price: Finite,
  paid: Schema.Boolean,
  tags: Tags,
  lines: Schema.Array(Schema.Struct({ sku: Schema.String, count: Schema.Number.pipe(Schema.int(), Schema.nonNegative()) })),
  note: Schema.optional(Schema.String),
  discount: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 1)), { exact: true }),
  placedAt: Schema.Date
}) {}

const Event = Schema.Union(
  Schema.TaggedStruct("Created", { id: Schema.String, at: Schema.DateFromNumber.pipe(Schema.validDate()) }),
  Schema.TaggedStruct("Renamed", { id: Schema.String, name: Schema.NonEmptyString, previous: Schema.NullOr(Schema.String) }),
  Schema.TaggedStruct("Deleted", { id: Schema.String, reason: Schema.optional(Schema.Literal("user", "admin")) })
)

const Blob = Schema.Struct({ name: Schema.String, data: Schema.Uint8ArrayFromBase64, size: Schema.BigInt })

/** Encodes with the schema, then the codec; decodes back the same way. */
const roundTrip = <A, I>(schema: Schema.Schema<A, I>, codec: Codec.Service) => {
  const encode = Schema.encodeSync(schema)
  const decode = Schema.decodeUnknownSync(schema)
  return (value: A): { readonly bytes: Uint8Array; readonly decoded: A } => {
    const bytes = codec.encode(encode(value))
    return { bytes, decoded: decode(codec.decode(bytes)) }
  }
}

const definedKeys = (value: object): Array<string> =>
  Object.entries(value).filter(([, v]) => v !== undefined).map(([k]) => k)

const codecs: ReadonlyArray<Codec.Service> = [Codec.json, Codec.msgpack, Codec.withTransform(Codec.msgpack, Codec.gzip)]

describe("codecs round-trip schema-encoded values", () => {
  for (const codec of codecs) {
    describe(codec.id, () => {
      it.prop("a struct with strings, numbers, booleans, arrays and optional fields", [Arbitrary.make(Order)], ([order]) => {
        const { bytes, decoded } = roundTrip(Order, codec)(order)
        expect(bytes).toBeInstanceOf(Uint8Array)
        expect(decoded).toEqual(order)
        expect(decoded).toBeInstanceOf(Order)
        // no field lost or added; JSON drops keys whose value is undefined, which decode as absent
        expect(definedKeys(decoded)).toEqual(definedKeys(order))
      })

      it.prop("a tagged union", [Arbitrary.make(Event)], ([event]) => {
        expect(roundTrip(Event, codec)(event).decoded).toEqual(event)
      })

      it.prop("binary data and bigints through string encodings", [Arbitrary.make(Blob)], ([blob]) => {
        expect(roundTrip(Blob, codec)(blob).decoded).toEqual(blob)
      })
    })
  }

  it("ids name the codec and its transform", () => {
    expect(codecs.map((codec) => codec.id)).toEqual(["json", "msgpack", "msgpack+gzip"])
    expect(Codec.bytes.id).toBe("bytes")
  })

  it("gzip output is a gzip stream (magic 1f 8b) that decodes to the msgpack bytes", () => {
    const composed = Codec.withTransform(Codec.msgpack, Codec.gzip)
    const value = { text: "a".repeat(1000) }
    const bytes = composed.encode(value)
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b])
    expect(bytes.length).toBeLessThan(Codec.msgpack.encode(value).length)
    expect(Codec.gzip.decode(bytes)).toEqual(Codec.msgpack.encode(value))
  })
})

describe("msgpack", () => {
  it("returned bytes stay valid after many later encodes", () => {
    const held: Array<{ readonly bytes: Uint8Array; readonly copy: Uint8Array; readonly value: unknown }> = []
    for (let i = 0; i < 2000; i++) {
      const value = { i, text: `entry ${i} `.repeat(i % 50), list: [i, -i - 1, i / 3] }
      const bytes = Codec.msgpack.encode(value)
      held.push({ bytes, copy: bytes.slice(), value })
    }
    for (const { bytes, copy, value } of held) {
      expect(bytes).toEqual(copy)
      expect(Codec.msgpack.decode(bytes)).toEqual(value)
    }
  })

  it("keeps Uint8Array, Date and 64-bit bigint values that JSON cannot, and refuses wider bigints", () => {
    const value = { at: new Date(1_700_000_000_000), big: -(2n ** 63n), big2: 2n ** 64n - 1n }
    expect(Codec.msgpack.decode(Codec.msgpack.encode(value))).toEqual(value)
    const { data } = Codec.msgpack.decode(Codec.msgpack.encode({ data: Uint8Array.of(1, 2, 3) })) as { data: unknown }
    expect(data).toBeInstanceOf(Uint8Array)
    expect(Array.from(data as Uint8Array)).toEqual([1, 2, 3])
    expect(() => Codec.msgpack.encode({ big: 2n ** 64n })).toThrow()
  })

  it("decoded binary values do not alias the input bytes, which the WAL reuses", () => {
    for (const codec of [Codec.msgpack, Codec.withTransform(Codec.msgpack, Codec.gzip)]) {
      const encoded = codec.encode({ data: Uint8Array.from({ length: 40 }, (_, i) => i + 1) })
      const readBuffer = new Uint8Array(encoded.length + 16)
      readBuffer.set(encoded, 8)
      const { data } = codec.decode(readBuffer.subarray(8, 8 + encoded.length)) as { data: Uint8Array }
      readBuffer.fill(0)
      expect(Array.from(data)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1))
    }
  })

  it("like JSON, writes -0 as 0", () => {
    for (const codec of [Codec.msgpack, Codec.json]) {
      const decoded = codec.decode(codec.encode([-0])) as Array<number>
      expect(Object.is(decoded[0], 0)).toBe(true)
    }
  })

  it("JSON refuses NaN and the infinities (an invalid Date encoded as a number) instead of writing null", () => {
    for (const value of [NaN, Infinity, -Infinity]) {
      expect(() => Codec.json.encode({ at: value })).toThrow(`JSON cannot encode the number ${value}`)
    }
    const invalidDate = Schema.encodeSync(Schema.DateFromNumber)(new Date(NaN))
    expect(() => Codec.json.encode([invalidDate])).toThrow(TypeError)
  })

  it("is more compact than JSON for numeric data", () => {
    const value = Array.from({ length: 100 }, (_, i) => i * 1000)
    expect(Codec.msgpack.encode(value).length).toBeLessThan(Codec.json.encode(value).length)
  })
})

describe("bytes", () => {
  it("takes Uint8Array payloads as they are and rejects anything else", () => {
    const payload = Uint8Array.of(1, 2, 3)
    expect(Codec.bytes.encode(payload)).toBe(payload)
    for (const value of ["abc", [1, 2, 3], new ArrayBuffer(3), null, undefined, { length: 0 }]) {
      expect(() => Codec.bytes.encode(value)).toThrow(TypeError)
    }
  })

  it("decode returns a copy the caller owns", () => {
    const stored = Uint8Array.of(9, 8, 7, 6)
    const buffer = new Uint8Array(16)
    buffer.set(stored, 4)
    const view = buffer.subarray(4, 8)
    const decoded = Codec.bytes.decode(view) as Uint8Array
    expect(decoded).toEqual(stored)
    expect(decoded.buffer).not.toBe(buffer.buffer)
    buffer.fill(0)
    expect(decoded).toEqual(stored)
  })
})

describe("json", () => {
  it("refuses undefined and bigint", () => {
    expect(() => Codec.json.encode(undefined)).toThrow(TypeError)
    expect(() => Codec.json.encode(() => 1)).toThrow(TypeError)
    expect(() => Codec.json.encode(1n)).toThrow(TypeError)
    expect(() => Codec.json.encode({ n: 1n })).toThrow(TypeError)
  })

  it("writes UTF-8 JSON text and refuses invalid UTF-8 on decode", () => {
    expect(new TextDecoder().decode(Codec.json.encode({ a: "é" }))).toBe("{\"a\":\"é\"}")
    expect(() => Codec.json.decode(Uint8Array.of(0x22, 0xff, 0x22))).toThrow()
    expect(() => Codec.json.decode(new TextEncoder().encode("{"))).toThrow(SyntaxError)
  })
})

// -----------------------------------------------------------------------------------------------

describe("Codec layers", () => {
  const value = { id: "order-1", count: 3, tags: ["a", "b"] }

  it.effect("JSON is the default when no layer is provided", () =>
    Effect.gen(function*() {
      const codec = yield* Codec.current
      expect(codec.id).toBe("json")
      expect(codec.encode(value)).toEqual(new TextEncoder().encode(JSON.stringify(value)))
    }))

  it.effect("a layer swaps the bytes and the id", () =>
    Effect.gen(function*() {
      const fallback = yield* Codec.current
      const swapped = yield* Codec.current.pipe(Effect.provide(Codec.layerMsgPack))
      expect(fallback.id).toBe("json")
      expect(swapped.id).toBe("msgpack")
      const [a, b] = [fallback.encode(value), swapped.encode(value)]
      expect(b).not.toEqual(a)
      expect(swapped.decode(b)).toEqual(value)
      expect(fallback.decode(a)).toEqual(value)
      const json = yield* Codec.current.pipe(Effect.provide(Codec.layerJson))
      expect(json.id).toBe("json")
    }))

  it.effect("Codec.layer provides a custom codec with a valid id", () =>
    Effect.gen(function*() {
      const custom = Codec.withTransform(Codec.msgpack, Codec.gzip)
      const codec = yield* Codec.current.pipe(Effect.provide(Codec.layer(custom)))
      expect(codec.id).toBe("msgpack+gzip")
      expect(codec).toBe(custom)
    }))

  it.effect("Codec.layer refuses an invalid id with WalConfigError", () =>
    Effect.gen(function*() {
      for (const id of ["", "with space", "bytes", "x".repeat(65), "tab\t", "é"]) {
        const custom: Codec.Service = { ...Codec.json, id }
        const exit = yield* Codec.current.pipe(Effect.provide(Codec.layer(custom)), Effect.exit)
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) {
          const error = Cause.failureOption(exit.cause)
          expect(error._tag).toBe("Some")
          if (error._tag === "Some") {
            expect(error.value).toBeInstanceOf(WalError.WalConfigError)
            expect(error.value.field).toBe("codec.id")
          }
        }
      }
      const longest = yield* Codec.current.pipe(Effect.provide(Codec.layer({ ...Codec.json, id: "x".repeat(64) })))
      expect(longest.id).toBe("x".repeat(64))
    }))

  it.effect("a failed layer can be caught by tag", () =>
    Codec.current.pipe(
      Effect.provide(Layer.orDie(Layer.succeed(Codec.Codec, Codec.json))),
      Effect.zipRight(Codec.validate({ ...Codec.json, id: "bytes" })),
      Effect.flip,
      Effect.map((error) => {
        expect(error._tag).toBe("WalConfigError")
        expect(error.message).toContain("reserved")
      })
    ))
})

// -----------------------------------------------------------------------------------------------

describe("WalError", () => {
  const io = new WalError.WalIOError({ operation: "fsync", path: "/data/wal/0.wal", code: "EIO", cause: new Error("boom") })
  const errors: ReadonlyArray<readonly [WalError.WalError, string, ReadonlyArray<string>]> = [
    [io, "WalIOError", ["fsync", "/data/wal/0.wal", "EIO", "boom"]],
    [new WalError.WalCorruptionError({ file: "a.wal", offset: 4242, reason: "checksum" }), "WalCorruptionError", ["a.wal", "4242", "checksum"]],
    [
      new WalError.WalFormatError({ file: "b.wal", problem: "codec-mismatch", detail: "json vs msgpack" }),
      "WalFormatError",
      ["b.wal", "codec-mismatch", "json vs msgpack"]
    ],
    [
      new WalError.WalCodecError({ direction: "decode", codec: "msgpack", cause: new TypeError("bad byte") }),
      "WalCodecError",
      ["decode", "msgpack", "bad byte"]
    ],
    [new WalError.WalConfigError({ field: "segmentBytes", detail: "must be positive" }), "WalConfigError", ["segmentBytes", "must be positive"]],
    [new WalError.WalClosedError({ directory: "/data/wal" }), "WalClosedError", ["/data/wal", "closed"]],
    [new WalError.WalOverloadedError({ capacity: 1024 }), "WalOverloadedError", ["1024"]],
    [new WalError.WalPoisonedError({ cause: io }), "WalPoisonedError", ["fsync", "EIO", "reopened"]],
    [new WalError.WalLockedError({ directory: "/data/wal", holder: "pid 4242" }), "WalLockedError", ["/data/wal", "pid 4242"]],
    [new WalError.WalEntryTooLargeError({ size: 20_000_000, limit: 16_777_216 }), "WalEntryTooLargeError", ["20000000", "16777216"]]
  ]

  it("each class has its tag and a message naming its fields", () => {
    for (const [error, tag, parts] of errors) {
      expect(error._tag).toBe(tag)
      expect(error).toBeInstanceOf(Error)
      for (const part of parts) expect(error.message).toContain(part)
      expect(WalError.isWalError(error)).toBe(true)
    }
    expect(new Set(errors.map(([error]) => error._tag)).size).toBe(errors.length)
  })

  it("a WalIOError without a code says so in its message", () => {
    const error = new WalError.WalIOError({ operation: "open", path: "/x", code: undefined, cause: "plain string" })
    expect(error.message).toBe("open failed on /x: plain string")
  })

  it.effect("errors can be handled with catchTag", () =>
    Effect.fail(errors[1]![0]).pipe(
      Effect.catchTag("WalCorruptionError", (error) => Effect.succeed(error.offset)),
      Effect.catchAll(() => Effect.succeed(-1)),
      Effect.map((offset) => expect(offset).toBe(4242))
    ))

  it("isWalError refuses other values", () => {
    for (const value of [null, undefined, 42, "WalIOError", new Error("x"), { _tag: "Other" }, { _tag: 1 }]) {
      expect(WalError.isWalError(value)).toBe(false)
    }
  })

  it("errnoCode walks .code and .cause", () => {
    const node = Object.assign(new Error("no space"), { code: "ENOSPC" })
    expect(WalError.errnoCode(node)).toBe("ENOSPC")
    expect(WalError.errnoCode({ cause: node })).toBe("ENOSPC")
    expect(WalError.errnoCode({ cause: { cause: { code: "EIO" } } })).toBe("EIO")
    expect(WalError.errnoCode({ code: 5, cause: { code: "EIO" } })).toBe("EIO")
    expect(WalError.errnoCode(new Error("no code"))).toBeUndefined()
    expect(WalError.errnoCode("EIO")).toBeUndefined()
    expect(WalError.errnoCode(undefined)).toBeUndefined()
    const cyclic: { cause?: unknown } = {}
    cyclic.cause = cyclic
    expect(WalError.errnoCode(cyclic)).toBeUndefined()
  })

  it("fromPlatformError keeps the errno code", () => {
    const nodeError = Object.assign(new Error("EIO: i/o error, fsync"), { code: "EIO", errno: -5, syscall: "fsync" })
    const platform = new SystemError({
      reason: "Unknown",
      module: "FileSystem",
      method: "sync",
      pathOrDescriptor: 7,
      cause: nodeError
    })
    const error = WalError.fromPlatformError("fsync", "/data/wal/0.wal")(platform)
    expect(error).toBeInstanceOf(WalError.WalIOError)
    expect(error.code).toBe("EIO")
    expect(error.operation).toBe("fsync")
    expect(error.path).toBe("/data/wal/0.wal")
    expect(error.cause).toBe(platform)
    expect(error.message).toContain("(EIO)")
    const withoutCode = WalError.fromPlatformError("open", "/x")(
      new SystemError({ reason: "NotFound", module: "FileSystem", method: "open", pathOrDescriptor: "/x" })
    )
    expect(withoutCode.code).toBeUndefined()
  })
})

it.prop("FastCheck from effect drives the properties", [FastCheck.integer()], ([n]) => {
  expect(Number.isInteger(n)).toBe(true)
})
