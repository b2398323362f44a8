import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { Signal } from "../src/internal/signal.js"

describe("Signal", () => {
  it.effect("a listener's wait returns at once when the version moved, and otherwise on the next notification", () =>
    Effect.gen(function*() {
      const signal = new Signal()
      const listener = signal.listen()
      const seen = signal.version
      signal.notify()
      expect(yield* signal.changedFor(listener, seen, Effect.succeed("at once"))).toBe("at once")
      const waiting = yield* Effect.fork(signal.changedFor(listener, signal.version, Effect.succeed("woken")))
      yield* Effect.yieldNow()
      expect(waiting.unsafePoll()).toBeNull()
      signal.notify()
      expect(yield* Fiber.join(waiting)).toBe("woken")
      expect(listener.waiting).toBe(false)
    }))

  it.effect("an interrupted wait leaves its wake-up in the listener until unlisten drops both", () =>
    Effect.gen(function*() {
      const signal = new Signal()
      const listener = signal.listen()
      const waiting = yield* Effect.fork(signal.changedFor(listener, signal.version, Effect.void))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(waiting)
      expect(listener.waiting).toBe(true)
      signal.unlisten(listener)
      expect(listener.waiting).toBe(false)
      // A notification after unlisten reaches neither the listener nor the interrupted fiber.
      signal.notify()
      expect(listener.waiting).toBe(false)
      const other = signal.listen()
      const next = yield* Effect.fork(signal.changedFor(other, signal.version, Effect.void))
      yield* Effect.yieldNow()
      signal.notify()
      yield* Fiber.join(next)
    }))

  it.effect("one notification wakes every listener and every one-off waiter", () =>
    Effect.gen(function*() {
      const signal = new Signal()
      const listeners = Array.from({ length: 3 }, () => signal.listen())
      const seen = signal.version
      const fibers = yield* Effect.forEach(
        [...listeners.map((listener) => signal.changedFor(listener, seen, Effect.void)), signal.changedSince(seen)],
        (wait) => Effect.fork(wait)
      )
      yield* Effect.yieldNow()
      signal.notify()
      yield* Fiber.joinAll(fibers)
    }))
})
