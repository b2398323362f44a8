/**
 * The example's dedicated worker: it owns the WAL (on OPFS, locked with a Web Lock), rebuilds the
 * journal with `replay` when the page loads, then follows it with `tail` and posts every committed
 * entry to the page; appends requested by the page are acknowledged once durable.
 */
import { Cause, Effect, Option, Queue, Schedule, Schema, Stream } from "effect"
import { OpfsFileSystem, Wal } from "../../src/browser.js" // in an application: from "effect-wal/browser"
import type { Event, Request } from "./protocol.js"

const Note = Schema.Struct({ text: Schema.String })

const scope = globalThis as unknown as {
  postMessage: (event: Event) => void
  onmessage: (message: { readonly data: Request }) => void
}
const post = (event: Event): void => scope.postMessage(event)

const program = Effect.gen(function*() {
  const requests = yield* Queue.unbounded<Request>()
  scope.onmessage = (message) => Queue.unsafeOffer(requests, message.data)

  // A tab reloaded right after another closed may find the old tab's Web Lock not yet released:
  // retry for a few seconds before reporting it (docs/browser.md, "Locking").
  const wal = yield* Wal.make({ directory: "journal", schema: Note }).pipe(
    Effect.retry({ while: (error) => error._tag === "WalLockedError", schedule: Schedule.spaced("200 millis"), times: 25 })
  )
  // State rebuilt from the log: here the page's list, sent entry by entry.
  let replayed = 0
  yield* wal.replay({ from: 1 }).pipe(
    Stream.runForEach((entry) =>
      Effect.sync(() => {
        replayed++
        post({ type: "entry", seq: entry.seq, timestamp: entry.timestamp, text: entry.payload.text })
      })
    )
  )
  const recovery = Option.match(wal.recovery.tornTail, {
    onNone: () => "clean",
    onSome: () => "a torn tail was cut"
  })
  post({ type: "ready", replayed, recovery })
  // The live view: every entry committed from now on, whoever appended it.
  yield* wal.tail({ from: (yield* wal.lastSequence) + 1 }).pipe(
    Stream.runForEach((entry) =>
      Effect.sync(() => post({ type: "entry", seq: entry.seq, timestamp: entry.timestamp, text: entry.payload.text }))
    ),
    Effect.forkScoped
  )
  yield* Queue.take(requests).pipe(
    Effect.flatMap((request) =>
      wal.append({ text: request.text }).pipe(
        Effect.match({
          onSuccess: (seq) => post({ type: "acked", id: request.id, seq }),
          onFailure: (error) => post({ type: "failed", id: request.id, error: error.message })
        }),
        Effect.fork
      )
    ),
    Effect.forever
  )
})

Effect.runFork(
  program.pipe(
    Effect.scoped,
    Effect.provide(OpfsFileSystem.layer),
    // Typed errors and defects alike (no OPFS in this browser, say) reach the page as a message.
    Effect.catchAllCause((cause) =>
      Effect.sync(() => {
        const error = Cause.squash(cause)
        post({ type: "failed", error: error instanceof Error ? error.message : String(error) })
      })
    )
  )
)
