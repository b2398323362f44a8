/**
 * The floor of a tail's cost per batch: what one Stream chunk costs a consumer running
 * `Stream.runForEachChunk`, with no WAL, no I/O and no decoding. `repeatEffectChunkOption` is the
 * shape of the WAL's readers (an empty pull ends the stream); `with a wake-up` adds the
 * `Effect.async` wait a caught-up tail makes before each batch (resumed from a microtask, as a
 * commit resumes it).
 *
 *   npx tsx bench/stream-chunk.ts [--runs 5] [--count 200000]
 */
import { Chunk, Effect, Option, Stream } from "effect"
import { argument, median } from "./lib/harness.js"

const RUNS = argument("runs", 5)
const COUNT = argument("count", 200_000)

const chunk = Chunk.unsafeFromArray(Array.from({ length: 64 }, (_, i) => i))

const shapes: Record<string, () => Stream.Stream<number, Option.Option<never>>> = {
  "repeatEffectChunkOption": () => {
    let pulled = 0
    return Stream.repeatEffectChunkOption(Effect.suspend(() => pulled++ < COUNT ? Effect.succeed(chunk) : Effect.fail(Option.none())))
  },
  "repeatEffectChunkOption, with a wake-up": () => {
    let pulled = 0
    const wake = Effect.async<void>((resume) => queueMicrotask(() => resume(Effect.void)))
    return Stream.repeatEffectChunkOption(
      Effect.suspend(() => pulled++ < COUNT ? Effect.zipRight(wake, Effect.succeed(chunk)) : Effect.fail(Option.none()))
    )
  }
}

/** Microseconds per chunk delivered to a `runForEachChunk` consumer. */
const perChunk = (make: () => Stream.Stream<number, Option.Option<never>>): Promise<number> => {
  let entries = 0
  const started = performance.now()
  return Effect.runPromise(Stream.runForEachChunk(make(), (c) => Effect.sync(() => void (entries += c.length)))).then(() => {
    if (entries !== COUNT * chunk.length) throw new Error(`delivered ${entries} entries, not ${COUNT * chunk.length}`)
    return (performance.now() - started) * 1000 / COUNT
  })
}

for (const [name, make] of Object.entries(shapes)) {
  const results: Array<number> = []
  for (let run = 1; run <= RUNS; run++) results.push(await perChunk(make))
  console.log(`${name}: ${median(results).toFixed(2)} µs per chunk of 64, median of ${RUNS} runs (${Math.min(...results).toFixed(2)}-${Math.max(...results).toFixed(2)})`)
}
