/**
 * The `effect-wal` operator CLI: argument parsing with @effect/cli and printing; the work is done
 * by the `Inspect` module. `run` turns every outcome into an exit code.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import type * as CliApp from "@effect/cli/CliApp"
import { Chunk, Clock, Console, Data, Effect, Option, Stream } from "effect"
import { createRequire } from "node:module"
import * as Inspect from "../Inspect.js"
import type { WalError } from "../WalError.js"
import * as Render from "./render.js"

/**
 * Exit codes: 0 success (nothing wrong found), 1 corruption or a format problem found, 2 usage
 * error, 3 the log is locked by a live writer, 4 I/O error.
 */
export const ExitCode = { ok: 0, problem: 1, usage: 2, locked: 3, io: 4 } as const

const exitCodesHelp = "Exit codes: 0 ok; 1 corruption or format problem found; 2 usage error; 3 locked by a live writer; 4 I/O error."

/** A command line that parses but asks for something the command refuses. */
class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/** `verify` found problems; they are already printed. */
class ProblemsFound extends Data.TaggedError("ProblemsFound")<{ readonly count: number }> {}

const directory = Args.text({ name: "DIR" }).pipe(Args.withDescription("the WAL directory"))
const jsonOption = Options.boolean("json").pipe(Options.withDescription("print one JSON document instead of text"))

const inspect = Command.make("inspect", { directory, json: jsonOption }, ({ directory, json }) =>
  Effect.flatMap(Inspect.describe(directory), (d) => Console.log(json ? Render.json(d) : Render.describeText(d)))).pipe(
    Command.withDescription(
      "Describe a WAL: id, format version, codec, each segment (index, name, state, sequence range, entries, bytes), " +
        "last sequence, last checkpoint, lock holder. Sealed segments are trusted by their seal frame; `verify` reads " +
        "every frame. Exits 1 for a segment that is not this WAL's (foreign file, newer version), 4 on I/O errors."
    )
  )

/** Progress of `verify` on stderr, when it is a terminal and the scan lasts long enough to watch. */
const progressOnStderr = Effect.gen(function*() {
  const enabled = process.stderr.isTTY === true
  const started = yield* Clock.currentTimeMillis
  let lastDrawn = 0
  let drawn = false
  const onProgress = ({ bytesDone, bytesTotal }: Inspect.Progress) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      if (!enabled || now - started < 250 || now - lastDrawn < 100) return Effect.void
      lastDrawn = now
      drawn = true
      return Effect.sync(() => process.stderr.write(`\r${Render.progressLine(bytesDone, bytesTotal, now - started)}`))
    })
  const clear = Effect.suspend(() => drawn ? Effect.sync(() => process.stderr.write("\r\x1b[K")) : Effect.void)
  return { onProgress, clear }
})

const verify = Command.make(
  "verify",
  {
    directory,
    all: Options.boolean("all").pipe(Options.withDescription("list every problem instead of stopping at the first")),
    json: jsonOption
  },
  ({ all, directory, json }) =>
    Effect.gen(function*() {
      const progress = yield* progressOnStderr
      const report = yield* Inspect.verify(directory, { all, onProgress: progress.onProgress }).pipe(Effect.ensuring(progress.clear))
      yield* Console.log(json ? Render.json(report) : Render.verifyText(report, all))
      if (report.problems.length > 0) return yield* new ProblemsFound({ count: report.problems.length })
    })
).pipe(
  Command.withDescription(
    "Read every frame and check every header, checksum, sequence number, batch and seal frame; print a summary. " +
      "Never modifies anything. A torn tail is reported but is no problem. Exits 1 naming the file and offset of " +
      "the first problem (--all: every problem), 4 on I/O errors. Shows progress on stderr when it is a terminal."
  )
)

/** The innermost line of an error's message (schema errors are trees), on one line. */
const innermost = (error: unknown): string =>
  String(error).split("\n").map((line) => line.replace(/^[\s└├│─]+/, "")).filter((line) => line.length > 0).at(-1)!

const dump = Command.make(
  "dump",
  {
    directory,
    from: Options.integer("from").pipe(Options.withDescription("first sequence number"), Options.optional),
    to: Options.integer("to").pipe(Options.withDescription("last sequence number"), Options.optional)
  },
  ({ directory, from, to }) =>
    Effect.gen(function*() {
      const warned = new Set<string>()
      const warnOnce = (key: string, message: string) =>
        warned.has(key) ? Effect.void : Effect.zipRight(Effect.sync(() => warned.add(key)), Console.error(`effect-wal: ${message}`))
      const line = (entry: Inspect.RawEntry): { payload: unknown; warning: Option.Option<readonly [string, string]> } =>
        Option.match(Render.codecFor(entry.codecId), {
          onNone: () => ({
            payload: Render.base64(entry.payload),
            warning: Option.some([entry.codecId, `codec "${entry.codecId}" is unknown to this build: payloads are printed as base64`] as const)
          }),
          onSome: (codec) => {
            try {
              return { payload: Render.toJsonValue(codec.decode(entry.payload)), warning: Option.none() }
            } catch (error) {
              return {
                payload: Render.base64(entry.payload),
                warning: Option.some([
                  `decode:${entry.codecId}`,
                  `entry ${entry.seq} could not be decoded with codec "${entry.codecId}" (${innermost(error)}): such payloads are printed as base64`
                ] as const)
              }
            }
          }
        })
      const bounds = { ...(Option.isSome(from) ? { from: from.value } : {}), ...(Option.isSome(to) ? { to: to.value } : {}) }
      yield* Inspect.entries(directory, bounds).pipe(
        Stream.runForEachChunk((chunk) =>
          Effect.gen(function*() {
            const lines: Array<string> = []
            for (const entry of Chunk.toReadonlyArray(chunk)) {
              const { payload, warning } = line(entry)
              if (Option.isSome(warning)) yield* warnOnce(warning.value[0], warning.value[1])
              lines.push(JSON.stringify({ seq: entry.seq, timestamp: entry.timestamp, kind: entry.kind, payload }))
            }
            yield* Console.log(lines.join("\n"))
          })
        )
      )
    })
).pipe(
  Command.withDescription(
    "Print the committed entries with --from <= seq <= --to as JSON lines {seq, timestamp, kind, payload}. Payloads " +
      "are decoded by the codec named in the segment header: json and msgpack (also +gzip) as JSON values, bytes as " +
      "base64; an unknown codec prints base64 and says so once on stderr. Exits 1 at corruption, 2 for a bad range."
  )
)

const repair = Command.make(
  "repair",
  {
    directory,
    truncate: Options.boolean("truncate-at-corruption").pipe(
      Options.withDescription("required: cut the log at its first corruption, keeping the cut bytes in DIR/repair-<time>/")
    ),
    json: jsonOption
  },
  ({ directory, json, truncate }) =>
    Effect.gen(function*() {
      if (!truncate) {
        return yield* new UsageError({
          message: "repair changes the log: pass --truncate-at-corruption to cut it at its first corruption " +
            "(every byte cut is kept in DIR/repair-<time>/)"
        })
      }
      const r = yield* Inspect.repair(directory)
      yield* Console.log(json ? Render.json(r) : Render.repairText(r))
    })
).pipe(
  Command.withDescription(
    "The explicit repair of a corrupt log, only with --truncate-at-corruption: truncate the damaged segment after " +
      "its last complete batch and remove every later segment, after copying every cut byte to DIR/repair-<time>/. " +
      "The repaired log opens cleanly; running it again changes nothing. Exits 2 without the flag, 3 while a live " +
      "writer holds the lock, 1 for a segment of another format, version, WAL or codec, 4 on I/O errors."
  )
)

const stats = Command.make("stats", { directory, json: jsonOption }, ({ directory, json }) =>
  Effect.flatMap(Inspect.stats(directory), (s) => Console.log(json ? Render.json(s) : Render.statsText(s)))).pipe(
    Command.withDescription(
      "Sizes, entry counts, a payload-size histogram and the time span of the timestamps. Exits 1 at corruption, " +
        "4 on I/O errors."
    )
  )

const root = Command.make("effect-wal").pipe(
  Command.withDescription(`Operator tool for effect-wal write-ahead logs. ${exitCodesHelp}`),
  Command.withSubcommands([inspect, verify, dump, repair, stats])
)

const version: string = (createRequire(import.meta.url)("../../package.json") as { version: string }).version

const cli = Command.run(root, { name: "effect-wal", version })

type Failure = WalError | UsageError | ProblemsFound | ValidationError.ValidationError

const exitCodeOf = (error: WalError): number => {
  switch (error._tag) {
    case "WalLockedError":
      return ExitCode.locked
    case "WalIOError":
      return ExitCode.io
    default:
      return ExitCode.problem
  }
}

const report = (error: Failure): Effect.Effect<number> => {
  if (error._tag === "ProblemsFound") return Effect.succeed(ExitCode.problem)
  if (error._tag === "UsageError") return Effect.as(Console.error(`effect-wal: ${error.message}`), ExitCode.usage)
  // @effect/cli has printed what was wrong with the command line.
  if (ValidationError.isValidationError(error)) return Effect.succeed(ExitCode.usage)
  return Effect.as(Console.error(`effect-wal: ${error.message}`), exitCodeOf(error))
}

/**
 * Runs the CLI on `argv` (as `process.argv`: the node executable and the script first) and returns
 * the exit code. Output goes to the `Console` service: results on stdout, errors on stderr.
 */
export const run = (argv: ReadonlyArray<string>): Effect.Effect<number, never, CliApp.CliApp.Environment> =>
  cli(argv).pipe(
    Effect.as(ExitCode.ok),
    Effect.catchAll((error) => report(error as Failure))
  )
