import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { CliExit, EXIT } from "./exit.js";
import { registerUp } from "./cmd-up.js";

/** Builds the program; `up` (a long-lived supervisor) skips loading the client commands and their libraries. */
export async function buildProgram(argv: string[] = process.argv): Promise<Command> {
  const program = new Command("switchyard")
    .description("Switchyard: training jobs, queues, GPUs, hyperparameter experiments and model serving on one machine or many")
    .option("--server <url>", "the gateway URL (default: from `switchyard up`'s CLI config, or SWITCHYARD_URL)")
    .option("--token <token>", "bearer token (default: from the CLI config, or SWITCHYARD_TOKEN)")
    .option("--team <team>", "the team to act on (its jobs, deployments, models, experiments)")
    .option("--ca-file <pem>", "certificate(s) to trust for an https server (default: the CLI config's, or SWITCHYARD_TLS_CA)")
    .version(version(), "-V, --version", "print the version")
    .exitOverride()
    .showHelpAfterError();
  registerUp(program);
  if (argv[2] !== "up") {
    (await import("./cmd-jobs.js")).registerJobCommands(program);
    (await import("./cmd-queues.js")).registerQueueCommands(program);
    (await import("./cmd-secrets.js")).registerSecretCommands(program);
    (await import("./cmd-auth.js")).registerAuthCommands(program);
    (await import("./cmd-simulate.js")).registerSimulate(program);
    (await import("./cmd-mesh.js")).registerMeshCommands(program);
    (await import("./cmd-serving.js")).registerServingCommands(program);
    (await import("./cmd-experiments.js")).registerExperimentCommands(program);
    (await import("./cmd-backup.js")).registerBackupCommands(program);
  }
  return program;
}

/** The CLI's version (its package.json), with the Node.js it runs on. */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  return `switchyard ${pkg.version} (node ${process.version})`;
}

export async function run(argv: string[]): Promise<void> {
  const program = await buildProgram(argv);
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
