/** Little-endian u64 access limited to safe integers, shared by header and frame code. */

/** Reads a u64 at `offset`; returns -1 when it does not fit in a safe integer. */
export const readU64 = (view: DataView, offset: number): number => {
  const lo = view.getUint32(offset, true)
  const hi = view.getUint32(offset + 4, true)
  return hi > 0x1fffff ? -1 : hi * 0x1_0000_0000 + lo
}

/** Writes a non-negative safe integer as a u64 at `offset`. */
export const writeU64 = (view: DataView, offset: number, value: number): void => {
  view.setUint32(offset, value >>> 0, true)
  view.setUint32(offset + 4, Math.floor(value / 0x1_0000_0000), true)
}

/** A DataView over exactly the bytes of `bytes`. */
export const viewOf = (bytes: Uint8Array): DataView => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/** Whether every byte of `bytes` is zero: space allocated ahead of the writer and never written. */
export const isZeros = (bytes: Uint8Array): boolean => {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0) return false
  }
  return true
}
