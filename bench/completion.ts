/**
 * Per-append completion cost: a `Deferred` per request versus a callback resumed through
 * `Effect.async` (what the writer uses). Producers offer to a bounded queue, one writer fiber takes
 * batches and completes every request; no I/O, so the figure is the pure coordination overhead.
 *
 * Run: npx tsx bench/completion.ts
 */
import { Deferred, Effect, Exit, Queue } from "effect"

const APPENDS = 200_000
const PRODUCERS = 64
const RUNS = 5

interface Waiter {
  complete(value: number): void
  await: Effect.Effect<number>
}

class DeferredWaiter implements Waiter {
  readonly deferred = Deferred.unsafeMake<number>(undefined as never)
  complete(value: number) {
    Deferred.unsafeDone(this.deferred, Exit.succeed(value))
  }
  get await() {
    return Deferred.await(this.deferred)
  }
}

class CallbackWaiter implements Waiter {
  private exit: Exit.Exit<number> | undefined
  private callback: ((exit: Exit.Exit<number>) => void) | undefined
  complete(value: number) {
    this.exit = Exit.succeed(value)
    const callback = this.callback
    this.callback = undefined
    if (callback !== undefined) callback(this.exit)
  }
  get await() {
    return Effect.async<number>((resume) => {
      if (this.exit !== undefined) return resume(this.exit)
      this.callback = resume
    })
  }
}

const run = (make: () => Waiter) =>
  Effect.gen(function*() {
    const queue = yield* Queue.bounded<Waiter>(8192)
    let next = 0
    const writer = yield* Effect.fork(Effect.forever(Effect.map(Queue.takeBetween(queue, 1, 8192), (batch) => {
      for (const waiter of batch) waiter.complete(next++)
    })))
    const started = performance.now()
    yield* Effect.forEach(
      Array.from({ length: PRODUCERS }, (_, i) => i),
      () =>
        Effect.repeatN(
          Effect.suspend(() => {
            const waiter = make()
            return Effect.zipRight(Queue.offer(queue, waiter), waiter.await)
          }),
          APPENDS / PRODUCERS - 1
        ),
      { concurrency: "unbounded", discard: true }
    )
    const seconds = (performance.now() - started) / 1000
    yield* Queue.shutdown(queue)
    yield* Effect.ignore(writer.await)
    return APPENDS / seconds
  })

const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const main = Effect.gen(function*() {
  const deferred: Array<number> = []
  const callback: Array<number> = []
  for (let i = 0; i < RUNS; i++) {
    deferred.push(yield* run(() => new DeferredWaiter()))
    callback.push(yield* run(() => new CallbackWaiter()))
  }
  const fmt = (xs: Array<number>) =>
    `${Math.round(median(xs)).toLocaleString("en")}/s (${Math.round(Math.min(...xs)).toLocaleString("en")}–${Math.round(Math.max(...xs)).toLocaleString("en")})`
  console.log(`${APPENDS.toLocaleString("en")} completions from ${PRODUCERS} fibers, median of ${RUNS} runs, Node ${process.version}`)
  console.log(`Deferred per append: ${fmt(deferred)}`)
  console.log(`callback (Effect.async): ${fmt(callback)}`)
  console.log(`ratio callback / Deferred: ${(median(callback) / median(deferred)).toFixed(2)}x`)
})

Effect.runPromise(main)
