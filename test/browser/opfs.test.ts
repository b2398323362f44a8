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

describe("Web Locks writer lock", () => {
  it("a second tab gets WalLockedError while the first holds the WAL, and opens once it is released", async () => {
    const second = await openPage(chromium.context, origin)
    try {
      await call(page, { op: "hold", directory: "locked" })
      await expect(call(second, { op: "hold", directory: "locked" })).rejects.toThrow(/WalLockedError/)
      await call(page, { op: "release" })
      await call(second, { op: "hold", directory: "locked" })
      await call(second, { op: "release" })
    } finally {
      await second.close()
    }
  })
})

/**
 * Starts appends in a new tab (8 appenders, strict durability) and resolves once `acks`
 * acknowledgements have reached the test; `acked` holds every sequence number reported so far.
 */
const appendInNewTab = async (directory: string, acks: number) => {
  const acked: Array<number> = []
  const tab = await openPage(chromium.context, origin, (seq) => acked.push(seq))
  const appending = call(tab, { op: "append", directory, count: 1_000_000, bytes: 256, concurrency: 8 }).catch(() => undefined)
  await until(() => acked.length >= acks)
  return { tab, acked, appending }
}

describe("crashes in the middle of appends", () => {
  it("closing the tab loses no acknowledged entry", async () => {
    const { acked, appending, tab } = await appendInNewTab("crash-close", 300)
    await tab.close()
    await appending
    const replayed = await replay("crash-close")
    const highest = Math.max(...acked)
    expect(replayed.contiguous).toBe(true)
    expect(replayed.first).toBe(1)
    expect(replayed.last).toBeGreaterThanOrEqual(highest)
    expect(replayed.count).toBe(replayed.last)
    console.log(`[browser-crash] tab closed: ${acked.length} acknowledged (highest ${highest}), ${replayed.last} replayed`)
  })

  it("killing the browser process loses no acknowledged entry", async () => {
    const { acked } = await appendInNewTab("crash-kill", 300)
    await chromium.kill()
    chromium = await launch(profile)
    page = await openPage(chromium.context, origin)
    const replayed = await replay("crash-kill")
    // Acknowledgements the browser sent before it died may still be reaching the test when it is
    // killed: every one received counts, whenever it was processed.
    const highest = Math.max(...acked)
    expect(replayed.contiguous).toBe(true)
    expect(replayed.first).toBe(1)
    expect(replayed.last).toBeGreaterThanOrEqual(highest)
    expect(replayed.count).toBe(replayed.last)
    console.log(`[browser-crash] browser killed: ${acked.length} acknowledged (highest ${highest}), ${replayed.last} replayed`)
  })
})

describe("storage quota", () => {
  it("an exhausted quota fails the append with an ENOSPC error; what was acknowledged replays", async () => {
    await call(page, { op: "clear" })
    const session = await chromium.context.newCDPSession(page)
    await session.send("Storage.overrideQuotaForOrigin", { origin, quotaSize: 2 * 1024 * 1024 })
    try {
      const filled = await call<{ acknowledged: number; error: { tag: string; quota: boolean } }>(
        page,
        { op: "fill", directory: "quota", bytes: 4096 }
      )
      expect(filled.error.quota).toBe(true)
      expect(filled.acknowledged).toBeGreaterThan(0)
      const replayed = await replay("quota")
      expect(replayed.last).toBeGreaterThanOrEqual(filled.acknowledged)
      expect(replayed.contiguous).toBe(true)
      console.log(`[browser-quota] ${filled.error.tag} after ${filled.acknowledged} acknowledged appends of 4 KiB`)
    } finally {
      await session.send("Storage.overrideQuotaForOrigin", { origin })
      await session.detach()
    }
  })
})
