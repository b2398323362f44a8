/**
 * A behaviour suite for any `FileSystem` layer: the cases of test/fileSystemCases.ts, checked
 * against `NodeFileSystem`, `NodeFastFileSystem` and `MemoryFileSystem` so the in-memory one stays
 * faithful (and in a browser against the OPFS layer: test/browser/).
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import { contractCases, runCase } from "./fileSystemCases.js"

export { failureOf } from "./fileSystemCases.js"

/** Registers the contract tests for `layer`, each in a fresh temporary directory. */
export const fileSystemContract = (name: string, layer: Layer.Layer<FileSystem.FileSystem>): void => {
  describe(`FileSystem contract: ${name}`, () => {
    for (const contractCase of contractCases) {
      it.effect(contractCase.title, () => runCase(contractCase, expect).pipe(Effect.provide(layer)))
    }
  })
}
