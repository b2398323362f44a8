/**
 * The fenced, pipelined publisher: the only writer of its stream. Requests queue while publishes
 * are in flight; each publish takes everything queued (up to the server's payload limit) as one
 * message, so concurrent appends share messages (group commit) and many messages are in flight at
 * once. Every publish expects the stream's last sequence to be the one before it and, after the
 * first, the last message id to be this writer's previous message: both are known in advance
 * because this writer is the only publisher, and together they refuse a message of this writer
 * that would land after another writer's.
 *
 * A failed publish (refused, timed out, connection lost) does not settle anything by itself. The
 * writer waits for every publish in flight, then reads the stream (`resync`): because of the
 * chain of expectations, the messages of this writer that were stored form a prefix of those in
 * flight, and each carries this writer's id. Those are acknowledged, the others published again;
 * a message of another writer in the range fences the writer for good. When the stream cannot be
 * read within the resync budget, or a resync finds the writer fenced, the writer is poisoned:
 * acknowledgements stay in stream order and nothing is acknowledged after the failure.
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

/**
 * Publishes one message with id `id`, expecting `expectedLast` as the stream's last sequence and,
 * when given, `expectedLastId` as the last message id; resolves with the server's acknowledgement,
 * whose `seq` is the stored sequence (taken as it comes: another `then` to pick the field out
 * would add a promise step to every publish).
 */
export type Publish = (
  headers: ReadonlyArray<readonly [string, string]>,
  body: Uint8Array,
  id: string,
  expectedLast: number,
  expectedLastId: string | undefined
) => Promise<{ readonly seq: number }>

/**
 * Reads the stream after a failed publish, while messages `from..to` of this writer were in
 * flight: resolves with the last of them that is stored (`from - 1` when none is), or rejects
 * with `Fenced` when another writer's message is in the range or after it, or with the failure
 * to read the stream.
 */
export type Resync = (from: number, to: number, idOf: (streamSequence: number) => string) => Promise<number>

/** The failure of a writer fenced by another writer. */
export class Fenced extends Error {
  constructor(readonly streamSequence: number) {
    super(`another writer published to the stream (stream sequence ${streamSequence}): this writer is fenced`)
  }
}

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
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly body: Uint8Array
  settled: { readonly ok: true; readonly seq: number } | { readonly ok: false; readonly cause: unknown } | undefined
}

/** The writer state shared with readers: the acknowledged watermark. */
export interface Watermark {
  readonly lastSequence: number
  readonly lastStreamSequence: number
  readonly lastCheckpoint: number
}

/** The most publishes in flight at once. */
export const maxInFlight = 8

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
  private failureCause: unknown = undefined
  private poisoned = false
  private recovering = false
  private failingSince: number | undefined = undefined
  private lastFailure: unknown = undefined
  private firstAfterOpen = true
  private closing = false
  private watermark: Watermark
  private readonly listeners = new Set<() => void>()
  private readonly ackMillis: Array<number> = []
  private ackedBytes = 0
  private ackedBytesWindow: { start: number; bytes: number; rate: number }

  constructor(
    start: Position,
    private readonly publish: Publish,
    private readonly resync: Resync,
    private readonly id: string,
    private readonly maxBodyBytes: number,
    private readonly codec: string,
    private readonly now: () => number,
    private readonly failureBudgetMillis: number
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
    if (this.poisoned) return done({ _tag: "Failed", cause: this.failureCause })
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
    return this.poisoned ? { cause: this.failureCause } : undefined
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
    while (!this.poisoned && !this.recovering && this.queue.length > 0 && this.inFlight.length < maxInFlight) {
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
        headers: Message.encodeHeaders({
          firstSequence: this.nextSequence,
          count: entries.length,
          timestamp: this.clock,
          lastCheckpoint: this.checkpoint,
          codec: this.codec
        }),
        body: Message.encodeBody(entries, size),
        settled: undefined
      }
      this.nextSequence += entries.length
      this.nextStreamSequence += 1
      this.inFlight.push(flight)
      this.send(flight)
    }
  }

  private idOf = (streamSequence: number): string => `${this.id}.${streamSequence}`

  private send(flight: InFlight): void {
    const seq = flight.streamSequence
    // The first message after an open cannot name the previous message's id: its last sequence anchors it.
    const expectedLastId = this.firstAfterOpen && seq === this.watermark.lastStreamSequence + 1 ? undefined : this.idOf(seq - 1)
    let published: Promise<{ readonly seq: number }>
    try {
      published = this.publish(flight.headers, flight.body, this.idOf(seq), seq - 1, expectedLastId)
    } catch (cause) {
      published = Promise.reject(cause)
    }
    published.then(
      (ack) => this.settle(flight, { ok: true, seq: ack.seq }),
      (cause: unknown) => this.settle(flight, { ok: false, cause })
    )
  }

  private settle(flight: InFlight, result: NonNullable<InFlight["settled"]>): void {
    flight.settled = result
    if (this.poisoned) {
      // The last publish in flight settled: its requests fail now, and whoever waits for the
      // writer to be idle (close, tails) is told.
      this.failAll()
      if (this.idle) this.notify()
      return
    }
    let advanced = false
    while (!this.recovering && this.inFlight.length > 0 && this.inFlight[0]!.settled !== undefined) {
      const head = this.inFlight[0]!
      const settled = head.settled!
      if (!settled.ok || settled.seq !== head.streamSequence) {
        this.recovering = true
        this.lastFailure = settled.ok ? new Fenced(settled.seq) : settled.cause
        this.failingSince ??= this.now()
        break
      }
      this.inFlight.shift()
      this.acknowledge(head)
      this.failingSince = undefined
      advanced = true
    }
    if (this.recovering && this.inFlight.every((f) => f.settled !== undefined)) this.recover()
    this.pump()
    if (advanced) this.notify()
  }

  private acknowledge(flight: InFlight): void {
    this.firstAfterOpen = false
    this.record(flight)
    this.watermark = {
      lastSequence: flight.firstSequence + flight.count - 1,
      lastStreamSequence: flight.streamSequence,
      lastCheckpoint: flight.lastCheckpoint
    }
    let first = flight.firstSequence
    for (const request of flight.requests) {
      request.done({ _tag: "Acked", firstSequence: first })
      first += request.entries.length
    }
  }

  /** After every publish in flight settled: acknowledge what the stream holds, publish the rest again. */
  private recover(): void {
    const flights = this.inFlight
    const from = flights[0]!.streamSequence
    const to = flights[flights.length - 1]!.streamSequence
    const overBudget = this.now() - this.failingSince! > this.failureBudgetMillis
    const retry = (stored: number) => {
      if (this.poisoned) return
      while (flights.length > 0 && flights[0]!.streamSequence <= stored) this.acknowledge(flights.shift()!)
      if (stored >= from) this.failingSince = undefined
      if (flights.length > 0 && overBudget && stored < from) return this.poison(this.lastFailure)
      this.recovering = false
      for (const flight of flights) {
        flight.settled = undefined
        this.send(flight)
      }
      this.pump()
      this.notify()
    }
    this.resync(from, to, this.idOf).then(retry, (cause: unknown) => this.poison(cause instanceof Fenced ? cause : this.lastFailure ?? cause))
  }

  private poison(cause: unknown): void {
    if (this.poisoned) return
    this.poisoned = true
    this.failureCause = cause
    this.failAll()
    this.notify()
  }

  private failAll(): void {
    if (!this.inFlight.every((f) => f.settled !== undefined)) return
    for (const flight of this.inFlight.splice(0)) {
      for (const request of flight.requests) request.done({ _tag: "Failed", cause: this.failureCause })
    }
    for (const request of this.queue.splice(0)) request.done({ _tag: "Failed", cause: this.failureCause })
    this.queuedBytes = 0
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
