/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), slicing-by-8 in plain JavaScript.
 * `crc32c(bytes)` is the standard checksum (check value of "123456789" is 0xE3069283);
 * `crc32cUpdate(crc, bytes, start, end)` continues a running checksum, so a frame can be
 * checksummed in place inside a larger buffer with a per-WAL seed.
 *
 * The choice of this implementation over native bindings is measured in `bench/checksum.ts`
 * and recorded in `docs/format.md`.
 */

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

/** Continues a CRC-32C over `bytes[start, end)`; pass `0` to start a new checksum. */
export const crc32cUpdate = (crc: number, bytes: Uint8Array, start = 0, end = bytes.length): number => {
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

/** The CRC-32C of `bytes[start, end)`. */
export const crc32c = (bytes: Uint8Array, start = 0, end = bytes.length): number => crc32cUpdate(0, bytes, start, end)
