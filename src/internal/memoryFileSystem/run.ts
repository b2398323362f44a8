/** The Effect boundary of every filesystem step: halting, the clock, operation counting and errors. */
import type { PlatformError } from "@effect/platform/Error"
import { Clock, Effect } from "effect"
import { ErrnoFailure } from "./errno.js"
import type { Volume } from "./volume.js"

/** Runs a synchronous `step`, turning a thrown `ErrnoFailure` into the `SystemError` of `method` on `target`. */
export const attempt = <A>(method: string, target: string | number, step: () => A): Effect.Effect<A, PlatformError> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(step())
    } catch (error) {
      if (error instanceof ErrnoFailure) return Effect.fail(error.toSystemError(method, target))
      throw error
    }
  })

/**
 * Runs `step` as one operation of `method` on `target` (a path or a descriptor). The step runs
 * synchronously, so it is atomic; it validates before it mutates and reports failures by throwing
 * an `ErrnoFailure`. A halted volume fails every step with ECRASHED; a step that mutated counts as
 * one operation.
 */
export const run = <A>(
  volume: Volume,
  method: string,
  target: string | number,
  step: () => A
): Effect.Effect<A, PlatformError> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    attempt(method, target, () => {
      volume.now = now
      return operation(volume, method, step)
    }))

/**
 * `run` without an Effect, for a file's synchronous access: throws the `SystemError` that `run`
 * fails with. The volume's time stays that of the last operation run through an Effect.
 */
export const runNow = <A>(volume: Volume, method: string, target: string | number, step: () => A): A => {
  try {
    return operation(volume, method, step)
  } catch (error) {
    if (error instanceof ErrnoFailure) throw error.toSystemError(method, target)
    throw error
  }
}

/** One operation: refused once halted, counted when it mutated. */
const operation = <A>(volume: Volume, method: string, step: () => A): A => {
  if (volume.halted) throw new ErrnoFailure("ECRASHED", method)
  volume.touched = false
  try {
    const value = step()
    volume.countOperation()
    return value
  } finally {
    volume.touched = false
  }
}
