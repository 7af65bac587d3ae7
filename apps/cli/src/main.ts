import { Command, CommanderError } from "commander";
import { CliExit, EXIT } from "./api.js";
import { registerJobCommands } from "./cmd-jobs.js";
import { registerUp } from "./cmd-up.js";

export function buildProgram(): Command {
  const program = new Command("switchyard")
    .description("Switchyard: training jobs, queues and GPUs on one machine or many")
    .option("--server <url>", "the gateway URL (default: from `switchyard up`'s CLI config, or SWITCHYARD_URL)")
    .option("--token <token>", "bearer token (default: from the CLI config, or SWITCHYARD_TOKEN)")
    .option("--team <team>", "the team whose jobs to act on")
    .exitOverride()
    .showHelpAfterError();
  registerUp(program);
  registerJobCommands(program);
  return program;
}

export async function run(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : EXIT.usage;
      return;
    }
    if (err instanceof CliExit) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = err.code;
      return;
    }
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exitCode = EXIT.failed;
  }
}
