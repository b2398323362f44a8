/**
 * A real NATS cluster for tests: `nats-server` processes on 127.0.0.1, each with its own temporary
 * store directory and random free ports, started and SIGKILLed by the tests themselves.
 */
import { jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createConnection, createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** Whether `nats-server` is on PATH. */
export const natsServerAvailable = (): boolean => {
  try {
    execFileSync("nats-server", ["--version"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createConnection({ port, host: "127.0.0.1" })
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

const waitFor = async (what: string, condition: () => Promise<boolean>, timeoutMillis = 15_000): Promise<void> => {
  const deadline = Date.now() + timeoutMillis
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

interface Node {
  readonly name: string
  readonly port: number
  readonly clusterPort: number
  readonly storeDir: string
  process: ChildProcess | undefined
}

/** A cluster of `size` servers (1 for a single server without clustering). */
export interface Cluster {
  /** Client URLs of every server, `nats://127.0.0.1:<port>`. */
  readonly servers: ReadonlyArray<string>
  /** Server names, `n0`, `n1`, ... */
  readonly names: ReadonlyArray<string>
  /** SIGKILLs a server and waits for it to exit. */
  readonly kill: (name: string) => Promise<void>
  /** Starts a killed server again on its ports and store directory, and waits until it accepts clients; a running one is left alone. */
  readonly restart: (name: string) => Promise<void>
  /** Kills every server and removes the store directories. */
  readonly stop: () => Promise<void>
}

/** Waits until JetStream answers (in a cluster: a meta leader is elected). */
export const waitForJetStream = async (servers: ReadonlyArray<string>): Promise<void> => {
  const nc = await connect({ servers: [...servers] })
  try {
    await waitFor("a JetStream meta leader", () =>
      jetstreamManager(nc, { timeout: 500 }).then(() => true, () => false), 30_000)
  } finally {
    await nc.close()
  }
}

/**
 * Waits until `stream` has a leader again (after servers restart, its group elects one of its own,
 * after the JetStream meta leader): reads of the stream fail with "temporarily unavailable" until then.
 */
export const waitForStreamLeader = async (servers: ReadonlyArray<string>, stream: string): Promise<void> => {
  const nc = await connect({ servers: [...servers] })
  try {
    await waitFor(`a leader of stream ${stream}`, async () => {
      try {
        const jsm = await jetstreamManager(nc, { timeout: 500 })
        const info = await jsm.streams.info(stream)
        if (info.cluster?.leader === undefined) return false
        // The leader serves reads: the last message, when there is one.
        if (info.state.last_seq > 0) await jsm.streams.getMessage(stream, { seq: info.state.last_seq })
        return true
      } catch {
        return false
      }
    }, 30_000)
  } finally {
    await nc.close()
  }
}

/** Starts `size` servers and waits until each accepts clients. */
export const startCluster = async (size: number): Promise<Cluster> => {
  const root = mkdtempSync(join(tmpdir(), "effect-wal-nats-"))
  const nodes: Array<Node> = []
  for (let i = 0; i < size; i++) {
    nodes.push({ name: `n${i}`, port: await freePort(), clusterPort: await freePort(), storeDir: join(root, `n${i}`), process: undefined })
  }
  const routes = nodes.map((node) => `nats://127.0.0.1:${node.clusterPort}`).join(",")
  const start = async (node: Node): Promise<void> => {
    const args = ["-a", "127.0.0.1", "-p", String(node.port), "-n", node.name, "-js", "-sd", node.storeDir]
    if (size > 1) {
      args.push("--cluster", `nats://127.0.0.1:${node.clusterPort}`, "--cluster_name", "effect-wal", "--routes", routes)
    }
    const child = spawn("nats-server", args, { stdio: "ignore" })
    node.process = child
    // A test process that dies leaves no server behind.
    const orphan = () => child.kill("SIGKILL")
    process.once("exit", orphan)
    child.once("exit", () => process.removeListener("exit", orphan))
    await waitFor(`nats-server ${node.name} on port ${node.port}`, () => accepts(node.port))
  }
  const byName = (name: string): Node => {
    const node = nodes.find((candidate) => candidate.name === name)
    if (node === undefined) throw new Error(`no server ${name}`)
    return node
  }
  const kill = async (name: string): Promise<void> => {
    const node = byName(name)
    const child = node.process
    node.process = undefined
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve())
      child.kill("SIGKILL")
    })
  }
  await Promise.all(nodes.map(start))
  await waitForJetStream(nodes.map((node) => `nats://127.0.0.1:${node.port}`))
  return {
    servers: nodes.map((node) => `nats://127.0.0.1:${node.port}`),
    names: nodes.map((node) => node.name),
    kill,
    restart: async (name) => {
      const node = byName(name)
      if (node.process === undefined) await start(node)
    },
    stop: async () => {
      await Promise.all(nodes.map((node) => kill(node.name)))
      rmSync(root, { recursive: true, force: true })
    }
  }
}
