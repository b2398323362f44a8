#!/usr/bin/env node
/**
 * The `effect-wal` executable: runs the operator CLI on Node and exits with its exit code.
 *
 * @since 0.1.0
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import { run } from "../cli/main.js"

run(process.argv).pipe(
  Effect.flatMap((code) => Effect.sync(() => {
    process.exitCode = code
  })),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain
)
