/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78).
 * `crc32c(bytes)` is the standard checksum (check value of "123456789" is 0xE3069283);
 * `crc32cUpdate(crc, bytes, start, end)` continues a running checksum, so a frame can be
 * checksummed in place inside a larger buffer with a per-WAL seed:
 * `crc32cUpdate(crc32c(a), b)` equals `crc32c(a ++ b)`.
 *
 * Two implementations give identical results: slicing-by-8 in plain JavaScript, and the native
 * `@node-rs/crc32` binding (hardware CRC instructions) when it can be loaded. Ranges shorter than
 * `NATIVE_MIN_BYTES` use JavaScript, whose per-call cost is lower than a native call; longer ranges
 * use the binding. Without the binding everything runs in JavaScript. The measurements behind the
 * choice are in `bench/checksum.ts` and `docs/format.md`.
 */
import { nodeBuiltin } from "../nodeBuiltin.js"

const POLY = 0x82f63b78

const makeTables = (): Int32Array => {
  const tables = new Int32Array(8 * 256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1
    tables[n] = c
  }
  for (let n = 0; n < 256; n++) {
    let c = tables[n]!
    for (let t = 1; t < 8; t++) {
      c = tables[c & 0xff]! ^ (c >>> 8)
      tables[t * 256 + n] = c
    }
  }
  return tables
}

const T = makeTables()

/** The JavaScript implementation of `crc32cUpdate` (slicing-by-8), whatever the binding. */
export const crc32cUpdateJs = (crc: number, bytes: Uint8Array, start = 0, end = bytes.length): number => {
  let c = ~crc
  let i = start
  const stop8 = end - ((end - start) & 7)
  while (i < stop8) {
    const a = (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)) ^ c
    c = T[1792 + (a & 0xff)]! ^
      T[1536 + ((a >>> 8) & 0xff)]! ^
      T[1280 + ((a >>> 16) & 0xff)]! ^
      T[1024 + (a >>> 24)]! ^
      T[768 + bytes[i + 4]!]! ^
      T[512 + bytes[i + 5]!]! ^
      T[256 + bytes[i + 6]!]! ^
      T[bytes[i + 7]!]!
    i += 8
  }
  while (i < end) c = T[(c ^ bytes[i++]!) & 0xff]! ^ (c >>> 8)
  return ~c >>> 0
}

type NativeCrc32c = (input: Uint8Array, initialState?: number) => number

/**
 * Loads `@node-rs/crc32` if it is installed and has a build for this platform, and keeps it only
 * if it agrees with the JavaScript implementation on a few vectors, seeds included.
 */
const loadNative = (): NativeCrc32c | undefined => {
  try {
    const nodeModule = nodeBuiltin("node:module")
    if (nodeModule === undefined) return undefined
    const candidate: unknown = nodeModule.createRequire(import.meta.url)("@node-rs/crc32")
    if (typeof candidate !== "object" || candidate === null || !("crc32c" in candidate)) return undefined
    const native = candidate.crc32c
    if (typeof native !== "function") return undefined
    const probe = new Uint8Array(1031)
    for (let i = 0; i < probe.length; i++) probe[i] = (i * 151 + 7) & 0xff
    for (const seed of [0, 1, 0xe3069283, 0xffffffff]) {
      if (native(probe, seed) !== crc32cUpdateJs(seed, probe)) return undefined
    }
    return native as NativeCrc32c
  } catch {
    return undefined
  }
}

const native = loadNative()

/** Which implementation serves ranges of `NATIVE_MIN_BYTES` and more: `"native"` or `"js"`. */
export const implementation: "native" | "js" = native === undefined ? "js" : "native"

/** Ranges at least this long go to the native binding when it is loaded. */
export const NATIVE_MIN_BYTES = 192

/** Continues a CRC-32C over `bytes[start, end)`; pass `0` to start a new checksum. */
export const crc32cUpdate: (crc: number, bytes: Uint8Array, start?: number, end?: number) => number =
  native === undefined
    ? crc32cUpdateJs
    : (crc, bytes, start = 0, end = bytes.length) =>
      end - start < NATIVE_MIN_BYTES
        ? crc32cUpdateJs(crc, bytes, start, end)
        : native(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end), crc >>> 0)

/** The CRC-32C of `bytes[start, end)`. */
export const crc32c = (bytes: Uint8Array, start = 0, end = bytes.length): number => crc32cUpdate(0, bytes, start, end)
