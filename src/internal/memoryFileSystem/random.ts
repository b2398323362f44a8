/** A tiny seeded PRNG (mulberry32): the same seed always yields the same sequence. */

/** A deterministic source of random choices. */
export interface Random {
  /** A float in [0, 1). */
  readonly next: () => number
  /** An integer in [0, bound). */
  readonly int: (bound: number) => number
  /** `true` with probability `p`. */
  readonly chance: (p: number) => boolean
  /** `length` random bytes. */
  readonly bytes: (length: number) => Uint8Array
}

/** A generator seeded with the low 32 bits of `seed`. */
export const make = (seed: number): Random => {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (bound: number): number => Math.floor(next() * bound)
  return {
    next,
    int,
    chance: (p) => next() < p,
    bytes: (length) => {
      const out = new Uint8Array(length)
      for (let i = 0; i < length; i++) out[i] = int(256)
      return out
    }
  }
}
