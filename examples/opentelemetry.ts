/**
 * Tracing with OpenTelemetry: the WAL's spans (`effect-wal.open`, `effect-wal.replay`,
 * `effect-wal.reclaim`, ...) exported through `@effect/opentelemetry` to an in-memory exporter,
 * then printed. In an application, put an OTLP exporter where the in-memory one is.
 *
 *   npx tsx examples/opentelemetry.ts [directory]
 */
import { NodeSdk } from "@effect/opentelemetry"
import { NodeContext } from "@effect/platform-node"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Schema, Stream } from "effect"
import * as NodeFs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Wal } from "../src/index.js" // in an application: from "effect-wal"

const Event = Schema.Struct({ n: Schema.Number })
const directory = process.argv[2] ?? NodeFs.mkdtempSync(Path.join(Os.tmpdir(), "effect-wal-otel-"))

const exporter = new InMemorySpanExporter()
const TracingLive = NodeSdk.layer(() => ({
  resource: { serviceName: "effect-wal-example" },
  spanProcessor: new SimpleSpanProcessor(exporter)
}))

const program = Effect.gen(function*() {
  const wal = yield* Wal.make({ directory, schema: Event })
  yield* wal.appendAll(Array.from({ length: 100 }, (_, n) => ({ n })))
  const count = yield* Stream.runCount(wal.replay())
  yield* Effect.log(`replayed ${count} entries`)
}).pipe(Effect.scoped, Effect.withSpan("example.run"))

// Printed before the tracing layer closes: shutting the provider down empties the exporter.
const printSpans = Effect.sync(() => {
  for (const span of exporter.getFinishedSpans()) {
    const attributes = Object.entries(span.attributes).map(([key, value]) => `${key}=${String(value)}`).join(" ")
    console.log(`span ${span.name} ${attributes}`)
  }
})

await Effect.runPromise(Effect.zipRight(program, printSpans).pipe(Effect.provide([TracingLive, NodeContext.layer])))
if (process.argv[2] === undefined) NodeFs.rmSync(directory, { recursive: true, force: true })
