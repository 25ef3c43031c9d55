// tfew's command line (yargs): the commands of src/cli/<command>.ts, each one declarative object. The only
// module that reads argv, prints usage, or decides the exit code; everything else throws TfewError. main() takes
// its output streams, so tests run every command in-process; bin/tfew.js passes the process's.
import yargs, { type Argv } from "yargs";
import { auditCommand } from "./audit.js";
import { missingFlagValue, type TfewCommand } from "./command.js";
import { exitCleanlyOnSignals, reportError } from "./common.js";
import { convertCommand } from "./convert.js";
import { evalCommand } from "./eval.js";
import { exportCommand } from "./export.js";
import { generateCommand } from "./generate.js";
import { goldCheckCommand } from "./gold-check.js";
import { inspectCommand } from "./inspect.js";
import { commandContext, processIo, type CliIo, type CommandContext } from "./io.js";
import { makeDemoCommand } from "./make-demo.js";
import { mergeCommand } from "./merge.js";
import { predictCommand } from "./predict.js";
import { reportCommand } from "./report.js";
import { scoreCommand } from "./score.js";
import { sweepCommand } from "./sweep.js";
import { trainCommand } from "./train.js";

export const COMMANDS: readonly TfewCommand[] = [
  trainCommand,
  evalCommand,
  predictCommand,
  scoreCommand,
  generateCommand,
  mergeCommand,
  exportCommand,
  convertCommand,
  inspectCommand,
  auditCommand,
  reportCommand,
  makeDemoCommand,
  goldCheckCommand,
  sweepCommand,
];

/** The first word of each command's yargs form: "report <folders..>" → "report". */
const commandName = (c: TfewCommand) => c.command.split(" ")[0] ?? c.command;

/** Runs the CLI on argv (without node and script), writing to `io`; returns the exit code. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const verbose = argv.includes("--verbose");
  const ctx = commandContext(io);
  let code = 0;
  const run = async (command: TfewCommand, args: Record<string, unknown>) => {
    const missing = missingFlagValue(argv, command.options);
    if (missing !== null) {
      io.stderr(`tfew: error: ${missing} (see tfew --help)\n`);
      code = 2;
      return;
    }
    const release = exitCleanlyOnSignals(io); // a signal removes the command's unfinished outputs
    try {
      code = (await command.run?.(args as never, ctx)) ?? 0;
    } catch (error) {
      code = reportError(error, { verbose, io });
    } finally {
      release();
    }
  };
  const names = COMMANDS.map(commandName);
  let parser = yargs(argv)
    .scriptName("tfew")
    .usage("$0 <command> [options]\n\n(IA)³ / T-Few parameter-efficient fine-tuning of T5-family models.");
  for (const command of COMMANDS) parser = register(parser, command, run);
  parser = parser
    .demandCommand(1, `give a command: ${names.slice(0, -1).join(", ")} or ${names.at(-1)}`)
    .recommendCommands()
    .strictCommands()
    .strict()
    .fail((message, error) => {
      if (error) throw error;
      throw new UsageError(usageMessage(message, argv));
    })
    .help()
    .version(false)
    .exitProcess(false)
    .wrap(Math.min(110, process.stdout.columns ?? 110));
  try {
    await parser.parseAsync(argv, {}, (_error, _args, output) => {
      if (output) io.stdout(`${output}\n`); // --help
    });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    // thrown (not printed) so that a command with a bad argument never runs
    io.stderr(`tfew: error: ${error.message} (see tfew --help)\n`);
    code = 2;
  }
  return code;
}

type Runner = (command: TfewCommand, args: Record<string, unknown>) => Promise<void>;

/** One command (and its subcommands) on the parser: positionals, flags, help line and action. */
function register(y: Argv, command: TfewCommand, run: Runner): Argv {
  const subcommands = command.subcommands ?? [];
  return y.command(
    command.command,
    command.describe,
    (b) => {
      let c: Argv = b;
      for (const [name, options] of Object.entries(command.positionals ?? {})) c = c.positional(name, options);
      c = c.options(command.options);
      for (const sub of subcommands) c = register(c, sub, run);
      if (subcommands.length > 0) {
        const subNames = subcommands.map(commandName);
        c = c.demandCommand(1, `give a ${commandName(command)} command: ${subNames.join(", ")}`);
      }
      return c;
    },
    command.run === undefined ? undefined : (args) => run(command, args),
  );
}

/** A command-line mistake yargs found (unknown command or option, missing value): exit code 2. */
class UsageError extends Error {}

/** yargs' message; its "Did you mean train?" (recommendCommands) also names the command it did not know. */
function usageMessage(message: string, argv: readonly string[]): string {
  const suggestion = /^Did you mean (\S+)\?$/.exec(message);
  if (suggestion)
    return `unknown command ${argv.find((a) => !a.startsWith("-")) ?? ""}; did you mean ${suggestion[1] ?? ""}?`;
  // yargs' "Invalid values:\n  Argument: backend, Given: "gpu", Choices: "auto", ..." as one line per flag
  const choices = [...message.matchAll(/Argument: (\S+), Given: (.+?), Choices: (.+)/g)];
  if (choices.length > 0) return choices.map(([, flag, given, list]) => choiceMessage(flag!, given!, list!)).join("; ");
  return message.replace(/\s*\n\s*/g, " ");
}

function choiceMessage(flag: string, given: string, list: string): string {
  const line = `--${flag} ${given} is not one of ${list.replaceAll('"', "")}`;
  // there is no backend called gpu or cuda: a GPU is reached through webgpu or a CUDA TensorFlow
  const gpu = flag === "backend" && /^"(gpu|cuda|nvidia)"$/i.test(given);
  return gpu ? `${line}; on a GPU use webgpu, or tensorflow with a CUDA TensorFlow (README "GPU hosts")` : line;
}

export type { CliIo, CommandContext };
