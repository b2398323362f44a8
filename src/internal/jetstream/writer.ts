/**
 * The fenced, pipelined publisher: the only writer of its stream. Requests queue while publishes
 * are in flight; each publish takes everything queued (up to the server's payload limit) as one
 * message, so concurrent appends share messages (group commit) and many messages are in flight at
 * once. Every publish expects the stream's last sequence to be the one before it, known in advance
 * because this writer is the only publisher: a second writer, or one that lost its place, is
 * refused by the server. Acknowledgements are delivered in stream order; the first refused,
 * timed-out or failed publish poisons the writer, which acknowledges nothing after it.
 */
import type { Encoded } from "./message.js"
import * as Message from "./message.js"

/** Where the writer starts: the last entry and the stream sequence of the message holding it. */
export interface Position {
  readonly lastSequence: number
  readonly lastStreamSequence: number
  readonly lastCheckpoint: number
  readonly timestamp: number
}

/** Publishes one message expecting `expectedLast` as the stream's last sequence; resolves with the stored sequence. */
export type Publish = (
  headers: ReadonlyArray<readonly [string, string]>,
  body: Uint8Array,
  expectedLast: number
) => Promise<number>

/** What a request's callback receives. */
export type Outcome =
  | { readonly _tag: "Acked"; readonly firstSequence: number }
  | { readonly _tag: "Failed"; readonly cause: unknown }
  | { readonly _tag: "Closed" }

interface Request {
  readonly entries: ReadonlyArray<Encoded>
  readonly bytes: number
  readonly done: (outcome: Outcome) => void
}

interface InFlight {
  readonly requests: ReadonlyArray<Request>
  readonly firstSequence: number
  readonly count: number
  readonly streamSequence: number
  readonly lastCheckpoint: number
  readonly bytes: number
  readonly startedAt: number
  settled: { readonly ok: true; readonly seq: number } | { readonly ok: false; readonly cause: unknown } | undefined
}

/** The writer state shared with readers: the acknowledged watermark. */
export interface Watermark {
  readonly lastSequence: number
  readonly lastStreamSequence: number
  readonly lastCheckpoint: number
}

/** The most publishes in flight at once. */
export const maxInFlight = 64

/** A pipelined writer over one stream. */
export class Writer {
  private readonly queue: Array<Request> = []
  private queuedBytes = 0
  private readonly inFlight: Array<InFlight> = []
  private nextSequence: number
  private submittedEntries: number
  private nextStreamSequence: number
  private checkpoint: number
  private clock: number
  private poison: unknown = undefined
  private poisoned = false
  private closing = false
  private watermark: Watermark
  private readonly listeners = new Set<() => void>()
  private readonly ackMillis: Array<number> = []
  private ackedBytes = 0
  private ackedBytesWindow: { start: number; bytes: number; rate: number }

  constructor(
    start: Position,
    private readonly publish: Publish,
    private readonly maxBodyBytes: number,
    private readonly codec: string,
    private readonly now: () => number
  ) {
    this.nextSequence = start.lastSequence + 1
    this.submittedEntries = start.lastSequence
    this.nextStreamSequence = start.lastStreamSequence + 1
    this.checkpoint = start.lastCheckpoint
    this.clock = start.timestamp
    this.watermark = {
      lastSequence: start.lastSequence,
      lastStreamSequence: start.lastStreamSequence,
      lastCheckpoint: start.lastCheckpoint
    }
    this.ackedBytesWindow = { start: now(), bytes: 0, rate: 0 }
  }

  /** Queues entries to publish as one atomic unit; `done` is called once. */
  submit(entries: ReadonlyArray<Encoded>, bytes: number, done: (outcome: Outcome) => void): void {
    if (this.poisoned) return done({ _tag: "Failed", cause: this.poison })
    if (this.closing) return done({ _tag: "Closed" })
    this.submittedEntries += entries.length
    this.queue.push({ entries, bytes, done })
    this.queuedBytes += bytes
    this.pump()
  }

  /** The acknowledged watermark. */
  get current(): Watermark {
    return this.watermark
  }

  /** Whether a failure stopped the writer, and the failure. */
  get failure(): { readonly cause: unknown } | undefined {
    return this.poisoned ? { cause: this.poison } : undefined
  }

  /** The sequence the last submitted entry will have. */
  get submitted(): number {
    return this.submittedEntries
  }

  /** Whether `close` was called. */
  get closed(): boolean {
    return this.closing
  }

  /** Requests queued and not yet published, and their payload bytes. */
  get backlog(): { readonly entries: number; readonly bytes: number } {
    let entries = 0
    for (const request of this.queue) entries += request.entries.length
    return { entries, bytes: this.queuedBytes }
  }

  /** The last and the slowest of the last 32 acknowledgement latencies, and acknowledged bytes per second. */
  get latency(): { readonly last: number; readonly recent: number; readonly bytesPerSecond: number } {
    return {
      last: this.ackMillis.length === 0 ? 0 : this.ackMillis[this.ackMillis.length - 1]!,
      recent: this.ackMillis.length === 0 ? 0 : Math.max(...this.ackMillis),
      bytesPerSecond: this.ackedBytesWindow.rate
    }
  }

  /** Whether nothing is queued or in flight. */
  get idle(): boolean {
    return this.queue.length === 0 && this.inFlight.length === 0
  }

  /** Calls `listener` after every change of the watermark, failure or close. Returns the removal. */
  listen(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Stops intake; what is queued is still published. */
  close(): void {
    this.closing = true
    this.notify()
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener()
  }

  private pump(): void {
    while (!this.poisoned && this.queue.length > 0 && this.inFlight.length < maxInFlight) {
      const requests: Array<Request> = []
      const entries: Array<Encoded> = []
      let size = 0
      while (this.queue.length > 0) {
        const request = this.queue[0]!
        const requestSize = request.bytes + request.entries.length * Message.entryOverhead
        if (requests.length > 0 && size + requestSize > this.maxBodyBytes) break
        this.queue.shift()
        this.queuedBytes -= request.bytes
        requests.push(request)
        for (const entry of request.entries) {
          entries.push(entry)
          if (entry.kind === "checkpoint") this.checkpoint = this.nextSequence + entries.length - 1
        }
        size += requestSize
      }
      const now = this.now()
      this.clock = Math.max(this.clock, now)
      const flight: InFlight = {
        requests,
        firstSequence: this.nextSequence,
        count: entries.length,
        streamSequence: this.nextStreamSequence,
        lastCheckpoint: this.checkpoint,
        bytes: size,
        startedAt: now,
        settled: undefined
      }
      this.nextSequence += entries.length
      this.nextStreamSequence += 1
      this.inFlight.push(flight)
      const headers = Message.encodeHeaders({
        firstSequence: flight.firstSequence,
        count: flight.count,
        timestamp: this.clock,
        lastCheckpoint: flight.lastCheckpoint,
        codec: this.codec
      })
      let published: Promise<number>
      try {
        published = this.publish(headers, Message.encodeBody(entries, size), flight.streamSequence - 1)
      } catch (cause) {
        published = Promise.reject(cause)
      }
      published.then(
        (seq) => this.settle(flight, { ok: true, seq }),
        (cause: unknown) => this.settle(flight, { ok: false, cause })
      )
    }
  }

  private settle(flight: InFlight, result: NonNullable<InFlight["settled"]>): void {
    flight.settled = result
    let advanced = false
    while (this.inFlight.length > 0 && this.inFlight[0]!.settled !== undefined) {
      const head = this.inFlight.shift()!
      const settled = head.settled!
      if (this.poisoned) {
        for (const request of head.requests) request.done({ _tag: "Failed", cause: this.poison })
        continue
      }
      if (!settled.ok || settled.seq !== head.streamSequence) {
        this.poisoned = true
        this.poison = settled.ok
          ? new Error(`stored at stream sequence ${settled.seq}, expected ${head.streamSequence}`)
          : settled.cause
        for (const request of head.requests) request.done({ _tag: "Failed", cause: this.poison })
        advanced = true
        continue
      }
      this.record(head)
      this.watermark = {
        lastSequence: head.firstSequence + head.count - 1,
        lastStreamSequence: head.streamSequence,
        lastCheckpoint: head.lastCheckpoint
      }
      let first = head.firstSequence
      for (const request of head.requests) {
        request.done({ _tag: "Acked", firstSequence: first })
        first += request.entries.length
      }
      advanced = true
    }
    if (this.poisoned) {
      for (const request of this.queue.splice(0)) request.done({ _tag: "Failed", cause: this.poison })
      this.queuedBytes = 0
    }
    this.pump()
    if (advanced) this.notify()
  }

  private record(flight: InFlight): void {
    const now = this.now()
    this.ackMillis.push(now - flight.startedAt)
    if (this.ackMillis.length > 32) this.ackMillis.shift()
    this.ackedBytes += flight.bytes
    const window = this.ackedBytesWindow
    if (now - window.start >= 1000) {
      window.rate = Math.round((this.ackedBytes - window.bytes) * 1000 / (now - window.start))
      window.start = now
      window.bytes = this.ackedBytes
    }
  }
}
