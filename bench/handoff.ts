/**
 * The floor of a one-at-a-time append's fiber hand-offs: a producer fiber wakes the writer fiber
 * and waits; the writer wakes the producer and waits. Both wake-ups are `Effect.async` callbacks,
 * as the WAL's request queue and request completion are; no queue, no I/O, no framing.
 *
 *   npx tsx bench/handoff.ts [--runs 5] [--count 200000]
 */
import { Effect, Fiber } from "effect"
import { argument, median } from "./lib/harness.js"

const RUNS = argument("runs", 5)
const COUNT = argument("count", 200_000)

/** A one-slot wake-up: `wait` resumes at once when `wake` came first. */
class WakeUp {
  private waiter: (() => void) | undefined
  private pending = false

  readonly wait: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.pending) {
      this.pending = false
      return resume(Effect.void)
    }
    this.waiter = () => resume(Effect.void)
  })

  wake(): void {
    const waiter = this.waiter
    if (waiter === undefined) {
      this.pending = true
      return
    }
    this.waiter = undefined
    waiter()
  }
}

const roundTrips = Effect.gen(function*() {
  const toWriter = new WakeUp()
  const toProducer = new WakeUp()
  const writer = yield* Effect.fork(Effect.forever(Effect.zipRight(toWriter.wait, Effect.sync(() => toProducer.wake()))))
  const started = performance.now()
  for (let i = 0; i < COUNT; i++) {
    toWriter.wake()
    yield* toProducer.wait
  }
  const micros = (performance.now() - started) * 1000 / COUNT
  yield* Fiber.interrupt(writer)
  return micros
})

const results: Array<number> = []
for (let run = 1; run <= RUNS; run++) {
  const micros = await Effect.runPromise(roundTrips)
  results.push(micros)
  console.log(`run ${run}: ${micros.toFixed(2)} µs per round trip`)
}
console.log(`${COUNT} round trips, median of ${RUNS} runs: ${median(results).toFixed(2)} µs (${Math.min(...results).toFixed(2)}-${Math.max(...results).toFixed(2)})`)
