/**
 * Every WAL error is its own schema: encoded, sent as JSON and decoded, it comes back as an
 * instance of its class with the same tag, fields and message, on its own and through the
 * `WalError` union schema.
 */
import { SystemError } from "@effect/platform/Error"
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import { WalError } from "../src/index.js"

const io = new WalError.WalIOError({
  operation: "fsync",
  path: "/data/wal/00000001.wal",
  code: "EIO",
  cause: new SystemError({ module: "FileSystem", method: "sync", reason: "Unknown", description: "injected EIO" })
})

const samples = [
  io,
  new WalError.WalIOError({ operation: "open", path: "/data/wal", code: undefined, cause: "refused" }),
  new WalError.WalCorruptionError({ file: "/data/wal/00000002.wal", offset: 4096, reason: "checksum mismatch" }),
  new WalError.WalFormatError({ file: "/data/wal/x.wal", problem: "codec-mismatch", detail: "written with msgpack" }),
  new WalError.WalCodecError({ direction: "decode", codec: "json", cause: new SyntaxError("Unexpected token") }),
  new WalError.WalConfigError({ field: "segmentBytes", detail: "must be between 1024 and 4294967295" }),
  new WalError.WalClosedError({ directory: "/data/wal" }),
  new WalError.WalOverloadedError({ capacity: 8192 }),
  new WalError.WalPoisonedError({ cause: io }),
  new WalError.WalLockedError({ directory: "/data/wal", holder: "pid 42 on host-a" }),
  new WalError.WalEntryTooLargeError({ size: 20_000_000, limit: 16_777_216 })
] as const

/** The fields of an error with its causes reduced to their messages, which is what a Defect keeps. */
const comparable = (error: object): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(error).map(([key, value]) =>
      key === "cause" && value instanceof Error && !WalError.isWalError(value)
        ? [key, value.message]
        : [key, WalError.isWalError(value) ? comparable(value) : value]
    )
  )

const viaJson = <A, I>(schema: Schema.Schema<A, I>, value: A): A =>
  Schema.decodeUnknownSync(schema)(JSON.parse(JSON.stringify(Schema.encodeSync(schema)(value))))

describe("WalError schemas", () => {
  it("covers every tag of the WalError union", () => {
    expect(new Set(samples.map((error) => error._tag))).toEqual(new Set(WalError.WalError.members.map((m) => m._tag)))
  })

  for (const error of samples) {
    it(`${error._tag} round-trips through its own schema as JSON`, () => {
      const schema = error.constructor as unknown as Schema.Schema<typeof error, unknown>
      const decoded = viaJson(schema, error)
      expect(decoded).toBeInstanceOf(error.constructor)
      expect(decoded._tag).toBe(error._tag)
      expect(decoded.message).toBe(error.message)
      expect(comparable(decoded)).toEqual(comparable(error))
    })
  }

  it("round-trips every error through the WalError union schema", () => {
    for (const error of samples) {
      const decoded = viaJson(WalError.WalError, error)
      expect(decoded).toBeInstanceOf(error.constructor)
      expect(decoded.message).toBe(error.message)
    }
  })

  it("keeps the messages of the tagged errors", () => {
    expect(samples[0].message).toBe("fsync failed on /data/wal/00000001.wal (EIO): Unknown: FileSystem.sync: injected EIO")
    expect(samples[8].message).toBe(
      "the WAL stopped after an I/O failure and must be reopened: fsync failed on /data/wal/00000001.wal (EIO): Unknown: FileSystem.sync: injected EIO"
    )
    expect(WalError.isWalError(samples[3])).toBe(true)
  })
})
