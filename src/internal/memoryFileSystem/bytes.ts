/** A growable byte buffer: file contents with amortised O(1) growth and O(bytes touched) edits. */

/**
 * The bytes of one file image. Invariant: every byte of the backing buffer past `length` is zero,
 * so growing the file (by a write past the end or a truncate) reads back as zeros without a fill.
 */
export class Bytes {
  private buffer: Uint8Array
  private size: number

  constructor(initial: Uint8Array = new Uint8Array(0)) {
    this.buffer = new Uint8Array(Math.max(initial.length, 64))
    this.buffer.set(initial)
    this.size = initial.length
  }

  /** The number of bytes in the image. */
  get length(): number {
    return this.size
  }

  /** Copies the bytes at `offset` into `target`; returns how many were copied (0 past the end). */
  read(offset: number, target: Uint8Array): number {
    if (offset >= this.size) return 0
    const count = Math.min(target.length, this.size - offset)
    target.set(this.buffer.subarray(offset, offset + count))
    return count
  }

  /** Writes `source` at `offset`, growing the image; a gap past the old end reads as zeros. */
  write(offset: number, source: Uint8Array): void {
    const end = offset + source.length
    this.reserve(end)
    this.buffer.set(source, offset)
    if (end > this.size) this.size = end
  }

  /** Shrinks or grows the image to `length` bytes; grown bytes are zeros. */
  setLength(length: number): void {
    if (length < this.size) {
      this.buffer.fill(0, length, this.size)
    } else {
      this.reserve(length)
    }
    this.size = length
  }

  /** Inverts bit `bit` (0 = least significant) of the byte at `offset`. */
  flipBit(offset: number, bit: number): void {
    this.buffer[offset] ^= 1 << bit
  }

  /** An independent copy. */
  copy(): Bytes {
    return new Bytes(this.buffer.subarray(0, this.size))
  }

  /** A fresh array holding the image's bytes. */
  toUint8Array(): Uint8Array {
    return this.buffer.slice(0, this.size)
  }

  private reserve(capacity: number): void {
    if (capacity <= this.buffer.length) return
    const grown = new Uint8Array(Math.max(capacity, this.buffer.length * 2))
    grown.set(this.buffer.subarray(0, this.size))
    this.buffer = grown
  }
}
