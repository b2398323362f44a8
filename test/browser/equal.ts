/**
 * Structural equality and printing for the browser runner's `expect`, as vitest's `toEqual`
 * compares the values the contract cases use: primitives, arrays and typed arrays, plain objects,
 * dates, and Effect data types (`Option`) through `Equal`.
 */
import { Equal } from "effect"

/** Whether two values are structurally equal. */
export const deepEqual = (a: unknown, b: unknown): boolean => {
  if (Object.is(a, b)) return true
  if (Equal.isEqual(a) || Equal.isEqual(b)) return Equal.equals(a, b)
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime()
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false
  if (ArrayBuffer.isView(a) || Array.isArray(a)) {
    const left = a as unknown as ArrayLike<unknown>
    const right = b as unknown as ArrayLike<unknown>
    return left.length === right.length && Array.from(left).every((value, index) => deepEqual(value, right[index]))
  }
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length &&
    keys.every((key) => deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
}

/** A readable form of a value for a failure message. */
export const show = (value: unknown): string => {
  try {
    return JSON.stringify(value, (_key, v: unknown) => typeof v === "bigint" ? `${v}n` : v) ?? String(value)
  } catch {
    return String(value)
  }
}
