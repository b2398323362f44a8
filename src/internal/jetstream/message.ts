/**
 * One JetStream message holds one group-commit batch of entries: every append and atomic batch
 * queued while earlier publishes were in flight. Pure encoding, no I/O.
 *
 * Headers: `Wal-Seq` (the first entry's sequence), `Wal-Count` (entries), `Wal-Time` (the batch
 * timestamp), `Wal-Checkpoint` (the last checkpoint sequence up to the end of this message, so an
 * open reads it from the last message alone) and `Wal-Codec` (the codec id of the payloads).
 * Body: per entry one kind byte (0 data, 1 checkpoint), a 4-byte big-endian length, the payload.
 */

/** An entry ready to publish. */
export interface Encoded {
  readonly kind: "data" | "checkpoint"
  readonly bytes: Uint8Array
}

/** The headers of a batch message. */
export interface Batch {
  readonly firstSequence: number
  readonly count: number
  readonly timestamp: number
  readonly lastCheckpoint: number
  readonly codec: string
}

/** Header names. */
export const header = {
  sequence: "Wal-Seq",
  count: "Wal-Count",
  timestamp: "Wal-Time",
  checkpoint: "Wal-Checkpoint",
  codec: "Wal-Codec"
} as const

/** Bytes of framing per entry in the body. */
export const entryOverhead = 5

/** Room kept for the headers when a body is sized against the server's `max_payload`. */
export const headerRoom = 256

/** The body of a batch: the entries framed one after the other. */
export const encodeBody = (entries: ReadonlyArray<Encoded>, size: number): Uint8Array => {
  const body = new Uint8Array(size)
  const view = new DataView(body.buffer)
  let offset = 0
  for (const entry of entries) {
    body[offset] = entry.kind === "checkpoint" ? 1 : 0
    view.setUint32(offset + 1, entry.bytes.length)
    body.set(entry.bytes, offset + entryOverhead)
    offset += entryOverhead + entry.bytes.length
  }
  return body
}

/** The entries of a body, payloads as views of it; `undefined` when the body does not frame exactly `count` entries. */
export const decodeBody = (body: Uint8Array, count: number): ReadonlyArray<Encoded> | undefined => {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength)
  const entries: Array<Encoded> = []
  let offset = 0
  while (offset + entryOverhead <= body.length) {
    const length = view.getUint32(offset + 1)
    const end = offset + entryOverhead + length
    if (end > body.length || body[offset]! > 1) return undefined
    entries.push({ kind: body[offset] === 1 ? "checkpoint" : "data", bytes: body.subarray(offset + entryOverhead, end) })
    offset = end
  }
  return offset === body.length && entries.length === count ? entries : undefined
}

/** The headers of a batch as strings. */
export const encodeHeaders = (batch: Batch): ReadonlyArray<readonly [string, string]> => [
  [header.sequence, String(batch.firstSequence)],
  [header.count, String(batch.count)],
  [header.timestamp, String(batch.timestamp)],
  [header.checkpoint, String(batch.lastCheckpoint)],
  [header.codec, batch.codec]
]

const positive = (text: string | undefined, min: number): number | undefined => {
  if (text === undefined || !/^\d{1,16}$/.test(text)) return undefined
  const value = Number(text)
  return Number.isSafeInteger(value) && value >= min ? value : undefined
}

/** The batch a message's headers describe; `undefined` when they are missing or malformed (not a WAL message). */
export const decodeHeaders = (get: (name: string) => string | undefined): Batch | undefined => {
  const firstSequence = positive(get(header.sequence), 1)
  const count = positive(get(header.count), 1)
  const timestamp = positive(get(header.timestamp), 0)
  const lastCheckpoint = positive(get(header.checkpoint), 0)
  const codec = get(header.codec)
  if (
    firstSequence === undefined || count === undefined || timestamp === undefined || lastCheckpoint === undefined ||
    codec === undefined || codec === ""
  ) return undefined
  return { firstSequence, count, timestamp, lastCheckpoint, codec }
}
