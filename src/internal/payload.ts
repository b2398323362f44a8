/**
 * The pairing of a payload schema with the Codec service, built once per WAL: synchronous
 * functions between typed values and bytes, so batches are encoded and chunks decoded in tight
 * loops. Failures are thrown as `WalCodecError` inside the library and caught at its edges.
 */
import { Schema } from "effect"
import * as Codec from "../Codec.js"
import { WalCodecError } from "../WalError.js"

/** Typed values to bytes and back for one WAL. */
export interface PayloadCodec<A> {
  /** The codec id written into segment headers. */
  readonly id: string
  /** Encodes a value; throws `WalCodecError`. */
  readonly encode: (value: A) => Uint8Array
  /** Decodes `buffer[start, end)`; throws `WalCodecError`. */
  readonly decode: (buffer: Uint8Array, start: number, end: number) => A
  /**
   * Whether `decode` returns a view of the buffer (raw payloads) instead of a value of its own:
   * the reader then never overwrites a buffer it decoded from, so the views need no copy.
   */
  readonly borrowsBytes: boolean
}

/** Builds the pairing: raw bytes without a schema, schema then codec with one. */
export const make = <A, I>(schema: Schema.Schema<A, I, never> | undefined, codec: Codec.Service): PayloadCodec<A> => {
  if (schema === undefined) {
    const raw = Codec.bytes
    return {
      id: raw.id,
      // The check of Codec.bytes inline: this runs once per entry on the bulk append path.
      encode: (value) => {
        if (value instanceof Uint8Array) return value
        return guard("encode", raw.id, () => raw.encode(value))
      },
      decode: (buffer, start, end) => new Uint8Array(buffer.buffer, buffer.byteOffset + start, end - start) as A,
      borrowsBytes: true
    }
  }
  const encodeValue = Schema.encodeSync(schema)
  const decodeValue = Schema.decodeUnknownSync(schema)
  return {
    id: codec.id,
    encode: (value) => guard("encode", codec.id, () => codec.encode(encodeValue(value))),
    decode: (buffer, start, end) => guard("decode", codec.id, () => decodeValue(codec.decode(buffer.subarray(start, end)))),
    borrowsBytes: false
  }
}

const guard = <T>(direction: "encode" | "decode", codec: string, f: () => T): T => {
  try {
    return f()
  } catch (cause) {
    throw new WalCodecError({ direction, codec, cause })
  }
}
