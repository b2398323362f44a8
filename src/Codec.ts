/**
 * The Codec service: how schema-encoded payloads become bytes and back.
 *
 * The payload `schema` given to a WAL decides the typed shape (business code); the Codec decides
 * the bytes (composition root), the way Effect's RPC serialization layers do. Like `Clock`, the
 * Codec has a default (JSON) and never appears in an effect's requirements; provide
 * `Codec.layerMsgPack` or `Codec.layer(custom)` to replace it.
 *
 * Every codec has a stable id that is written into each segment header. Reopening a WAL under a
 * codec with another id fails with `WalFormatError` (`codec-mismatch`).
 *
 * @since 0.1.0
 */
import * as MsgPack from "@effect/platform/MsgPack"
import { Context, Effect, Layer, Option, Schema } from "effect"
import { WalConfigError } from "./WalError.js"
import { isValidCodecId } from "./internal/format/header.js"
import { nodeBuiltin } from "./internal/nodeBuiltin.js"

/**
 * A codec: synchronous functions between schema-encoded values and bytes. `encode` and `decode`
 * may throw; the WAL turns a throw into `WalCodecError` for the one entry concerned.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Stable id written into segment headers: 1 to 64 printable ASCII characters. */
  readonly id: string
  /** Bytes of a schema-encoded value; may throw. The result may be kept until the entry is written. */
  readonly encode: (value: unknown) => Uint8Array
  /** The schema-encoded value of some bytes; may throw. `bytes` may be a view of a reused buffer. */
  readonly decode: (bytes: Uint8Array) => unknown
}

/**
 * A reversible byte transform (compression, encryption) that composes onto any codec.
 *
 * @since 0.1.0
 * @category models
 */
export interface Transform {
  /** Stable id; a composed codec's id is `"<codec>+<transform>"`. */
  readonly id: string
  /** Transforms encoded bytes on the way to disk (compress, encrypt); may throw. */
  readonly encode: (bytes: Uint8Array) => Uint8Array
  /** Reverses `encode`; may throw. */
  readonly decode: (bytes: Uint8Array) => Uint8Array
}

/**
 * The Codec service tag. Read with a JSON default, so it is optional in every environment.
 *
 * @since 0.1.0
 * @category context
 */
export class Codec extends Context.Tag("effect-wal/Codec")<Codec, Service>() {}

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder("utf-8", { fatal: true })

/** JSON.stringify writes NaN and the infinities as `null`: refuse them rather than lose them. */
const refuseNonFinite = (_key: string, value: unknown): unknown => {
  if (typeof value === "number" && !Number.isFinite(value)) throw new TypeError(`JSON cannot encode the number ${value}`)
  return value
}

/**
 * JSON text in UTF-8 (id `"json"`). Values JSON cannot represent (`undefined`, functions, bigint,
 * cycles, NaN and the infinities) fail to encode, so nothing is written that would not read back;
 * schemas should encode them to JSON-safe values first.
 *
 * @since 0.1.0
 * @category codecs
 */
export const json: Service = {
  id: "json",
  encode: (value) => {
    const text = JSON.stringify(value, refuseNonFinite)
    if (text === undefined) throw new TypeError(`JSON cannot encode a value of type ${typeof value}`)
    return textEncoder.encode(text)
  },
  decode: (bytes) => JSON.parse(textDecoder.decode(bytes))
}

const msgpackEncode = Schema.encodeSync(MsgPack.schema(Schema.Unknown))
const msgpackDecode = Schema.decodeSync(MsgPack.schema(Schema.Unknown))

/**
 * MessagePack through the MessagePack support of @effect/platform (id `"msgpack"`): compact, and
 * keeps `Uint8Array`s, dates and bigints (up to 64 bits) that JSON cannot. Like JSON, it writes
 * `-0` as `0`.
 *
 * Decoding works on a copy of the bytes: the MessagePack decoder returns binary values as views of
 * its input, and the WAL's read buffers are reused, so without the copy a decoded `Uint8Array`
 * would change under the caller when the next chunk is read.
 *
 * @since 0.1.0
 * @category codecs
 */
export const msgpack: Service = {
  id: "msgpack",
  encode: (value) => msgpackEncode(value),
  decode: (bytes) => msgpackDecode(bytes.slice())
}

/**
 * Raw bytes written as they are (id `"bytes"`): the codec of a WAL opened without a schema. The
 * value must be a `Uint8Array`. Decoding returns a copy the caller owns. A WAL without a schema
 * skips that copy: its payloads are views of read buffers the WAL never reads into again, so the
 * caller owns them too (a payload kept alive keeps its read buffer, at most 256 KiB, alive).
 *
 * @since 0.1.0
 * @category codecs
 */
export const bytes: Service = {
  id: "bytes",
  encode: (value) => {
    if (!(value instanceof Uint8Array)) throw new TypeError("a WAL without a schema takes Uint8Array payloads")
    return value
  },
  decode: (bytes) => bytes.slice()
}

/** `node:zlib`, or a throw naming what is missing. */
const zlib = () => {
  const module = nodeBuiltin("node:zlib")
  if (module === undefined) throw new Error("Codec.gzip needs node:zlib (Node, Bun or Deno)")
  return module
}

/**
 * gzip compression (id `"gzip"`) through `node:zlib`, as a transform for `withTransform`. It runs
 * where `node:zlib` exists (Node, Bun, Deno); elsewhere (a browser) encoding and decoding throw,
 * which the WAL reports as `WalCodecError`.
 *
 * @since 0.1.0
 * @category transforms
 */
export const gzip: Transform = {
  id: "gzip",
  encode: (bytes) => zlib().gzipSync(bytes),
  decode: (bytes) => zlib().gunzipSync(bytes)
}

/**
 * Composes a byte transform onto a codec: values are encoded by `codec`, then by `transform`;
 * decoding runs the other way. The id records both parts (`"msgpack+gzip"`).
 *
 * @since 0.1.0
 * @category transforms
 */
export const withTransform = (codec: Service, transform: Transform): Service => ({
  id: `${codec.id}+${transform.id}`,
  encode: (value) => transform.encode(codec.encode(value)),
  decode: (bytes) => codec.decode(transform.decode(bytes))
})

/**
 * Checks a custom codec's id: it must fit a segment header (1 to 64 printable ASCII characters)
 * and must not be `"bytes"`, which is reserved for WALs without a schema.
 *
 * @since 0.1.0
 * @category utils
 */
export const validate = (codec: Service): Effect.Effect<Service, WalConfigError> =>
  !isValidCodecId(codec.id)
    ? Effect.fail(new WalConfigError({ field: "codec.id", detail: `${JSON.stringify(codec.id)} is not 1 to 64 printable ASCII characters` }))
    : codec.id === bytes.id
    ? Effect.fail(new WalConfigError({ field: "codec.id", detail: `"${bytes.id}" is reserved for WALs without a schema` }))
    : Effect.succeed(codec)

/**
 * Provides a custom codec. Building the layer fails with `WalConfigError` if its id is invalid.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (codec: Service): Layer.Layer<Codec, WalConfigError> => Layer.effect(Codec, validate(codec))

/**
 * Provides the JSON codec (the default when no Codec layer is given).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerJson: Layer.Layer<Codec> = Layer.succeed(Codec, json)

/**
 * Provides the MessagePack codec.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMsgPack: Layer.Layer<Codec> = Layer.succeed(Codec, msgpack)

/**
 * The codec in the environment, or JSON when none was provided.
 *
 * @since 0.1.0
 * @category utils
 */
export const current: Effect.Effect<Service> = Effect.map(
  Effect.serviceOption(Codec),
  Option.getOrElse(() => json)
)
