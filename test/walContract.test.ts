/** The `Wal<A>` contract suite (walContract.ts) against the file WAL in a temporary directory. */
import { NodeContext } from "@effect/platform-node"
import { afterAll } from "@effect/vitest"
import { Effect } from "effect"
import * as NodeFs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Wal } from "../src/index.js"
import { Event, walContract } from "./walContract.js"

const root = NodeFs.mkdtempSync(Path.join(Os.tmpdir(), "effect-wal-contract-"))
afterAll(() => NodeFs.rmSync(root, { recursive: true, force: true }))

walContract("file", {
  open: (name) => Wal.make({ directory: Path.join(root, name), schema: Event }),
  run: (effect) => Effect.provide(effect, NodeContext.layer),
  tooLarge: 17 * 1024 * 1024
})
