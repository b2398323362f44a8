/**
 * The Node side of the browser tests: bundles the test page and worker with esbuild (platform
 * `browser`, so a `node:*` import anywhere in what the worker reaches fails the build), serves
 * them on 127.0.0.1 (a secure context, which OPFS needs), and runs a real headless Chromium
 * (`/usr/bin/chromium`, or `$CHROMIUM`) as a child process driven over CDP by playwright-core.
 * Owning the process lets a test kill it with SIGKILL and start it again on the same profile.
 */
import { build } from "esbuild"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { extname, join } from "node:path"
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core"

/** The Chromium binary the tests run. */
export const chromiumPath = process.env["CHROMIUM"] ?? "/usr/bin/chromium"

const here = new URL(".", import.meta.url).pathname

/** Bundles the page and the worker into a new temporary directory, with an `index.html`. */
export const bundle = async (): Promise<string> => {
  const directory = await mkdtemp(join(tmpdir(), "effect-wal-browser-"))
  await build({
    entryPoints: { page: join(here, "page.ts"), worker: join(here, "worker.ts") },
    outdir: directory,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    logLevel: "error"
  })
  await writeFile(
    join(directory, "index.html"),
    `<!doctype html><meta charset="utf-8"><title>effect-wal browser tests</title><script type="module" src="page.js"></script>`
  )
  return directory
}

const types: Readonly<Record<string, string>> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".css": "text/css"
}

/** A static file server for `directory` on 127.0.0.1 at a free port. */
export const serve = async (directory: string, port = 0): Promise<{ readonly origin: string; readonly server: Server }> => {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname
    const file = join(directory, path === "/" ? "index.html" : path)
    readFile(file).then(
      (body) => {
        response.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" })
        response.end(body)
      },
      () => {
        response.writeHead(404)
        response.end()
      }
    )
  })
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve))
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

/** A running Chromium and the CDP connection to it. */
export interface Chromium {
  readonly browser: Browser
  readonly context: BrowserContext
  /** Kills the browser and all its processes at once (SIGKILL to the process group). */
  readonly kill: () => Promise<void>
  /** Closes the browser normally. */
  readonly close: () => Promise<void>
}

/** Starts headless Chromium on the profile `profile` and connects to it. */
export const launch = async (profile: string): Promise<Chromium> => {
  const child: ChildProcess = spawn(chromiumPath, [
    "--headless=new",
    "--no-sandbox",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-gpu",
    "--disable-breakpad",
    "--disable-crash-reporter",
    "--disable-dev-shm-usage",
    "--remote-debugging-port=0",
    `--user-data-dir=${profile}`,
    "about:blank"
  ], { detached: true, stdio: ["ignore", "ignore", "pipe"] })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const endpoint = await new Promise<string>((resolve, reject) => {
    let output = ""
    const timer = setTimeout(() => reject(new Error(`Chromium did not start:\n${output}`)), 20_000)
    child.stderr!.on("data", (chunk: Buffer) => {
      output += chunk.toString()
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(output)
      if (match !== null) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    })
    child.once("exit", (code) => reject(new Error(`Chromium exited with ${code}:\n${output}`)))
  })
  const browser = await chromium.connectOverCDP(endpoint)
  const kill = async () => {
    try {
      process.kill(-child.pid!, "SIGKILL")
    } catch {
      // already gone
    }
    await exited
  }
  return {
    browser,
    context: browser.contexts()[0]!,
    kill,
    close: async () => {
      await browser.close().catch(() => undefined)
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))])
      await kill()
    }
  }
}

/** What the worker answered. */
interface Reply {
  readonly result?: unknown
  readonly error?: string
}

/** Opens the test page; `onAck` receives each acknowledged sequence number the worker reports. */
export const openPage = async (context: BrowserContext, origin: string, onAck?: (seq: number) => void): Promise<Page> => {
  const page = await context.newPage()
  if (onAck !== undefined) await page.exposeFunction("reportAck", onAck)
  await page.goto(`${origin}/index.html`)
  await page.waitForFunction(() => "call" in globalThis)
  return page
}

/** Sends a request to the page's worker; rejects with the worker's error, pretty-printed. */
export const call = async <A = unknown>(page: Page, request: unknown): Promise<A> => {
  const reply = await page.evaluate(
    (request) => (globalThis as unknown as { call: (request: unknown) => Promise<Reply> }).call(request),
    request
  )
  if (reply.error !== undefined) throw new Error(reply.error)
  return reply.result as A
}

/** A fresh temporary directory; removed with `remove`. */
export const temporaryDirectory = (prefix: string): Promise<string> => mkdtemp(join(tmpdir(), prefix))

/** Removes a directory tree. */
export const remove = (path: string): Promise<void> => rm(path, { recursive: true, force: true })
