/** `switchyard experiments …`: hyperparameter experiments (Katib's Experiment, or switchyard/v1's) through the gateway. */
import { toJson } from "@bufbuild/protobuf";
import { ExperimentSchema, TrialSchema, type Experiment, type Trial } from "@switchyard/api";
import type { Command } from "commander";
import { stringify } from "yaml";
import { CliExit, EXIT, type GlobalOptions } from "./api.js";
import { readManifest, withApi } from "./cmd-jobs.js";
import { cancelledText, createdText, deletedText, describeExperiment, experimentSummary, experimentsTable, objectiveOf, trialsTable } from "./experiment-format.js";
import { parseFormat, type OutputFormat } from "./format.js";

const CREATE_EXAMPLES = `
Examples:
  switchyard experiments create -f examples/demo-train/experiment.yaml   # a switchyard/v1 Experiment
  switchyard experiments create -f katib-experiment.yaml --dry-run      # a Katib kubeflow.org/v1beta1 Experiment, as it is

Each trial is a job of yours, in the experiment's team and queue: \`switchyard logs\`, \`metrics\` and the queues apply to
it. Mistakes in the file are reported with file:line:column; fields with no meaning here are listed in one warning.
Exit codes: 0 created (or valid, with --dry-run), 2 invalid manifest, 3 the platform could not be reached or refused.`;

/** JSON or YAML of API messages as the API's JSON form: one as itself, several as `{items: […]}`. */
function printMessages(f: Exclude<OutputFormat, "table">, doc: unknown): void {
  process.stdout.write(f === "json" ? JSON.stringify(doc, null, 2) + "\n" : stringify(doc));
}

const experimentJson = (e: Experiment) => toJson(ExperimentSchema, e);
const trialJson = (t: Trial) => toJson(TrialSchema, t);

/** -o checked before any server is needed (a command with no argument, and one with a NAME). */
const checkOutput = (_g: GlobalOptions, o: { output?: string }) => void parseFormat(o.output);
const checkNamedOutput = (_g: GlobalOptions, _name: string, o: { output?: string }) => void parseFormat(o.output);

function registerCreate(experiments: Command): void {
  const create = experiments
    .command("create")
    .description("create an experiment from a manifest and start its first trials")
    .requiredOption("-f, --file <file>", "a Katib kubeflow.org/v1beta1 Experiment or a switchyard/v1 Experiment (YAML or JSON)")
    .option("--dry-run", "validate and show the experiment it would make, as a native manifest; store nothing, run nothing")
    .addHelpText("after", CREATE_EXAMPLES);
  create.action(
    withApi(
      create,
      async (api, _g, o: { file: string; dryRun?: boolean }) => {
        const m = readManifest(o.file);
        const dryRun = o.dryRun === true;
        const res = await api.experiments.createExperiment({ manifest: m.text, fileName: m.fileName, baseDir: m.baseDir, dryRun });
        for (const w of res.warnings) process.stderr.write(`warning: ${w}\n`);
        process.stdout.write(createdText(res, dryRun) + "\n");
        const manifest = res.experiment?.manifest ?? "";
        if (dryRun && manifest !== "") process.stdout.write(manifest.endsWith("\n") ? manifest : `${manifest}\n`);
      },
      (g) => {
        if (g.team !== undefined) throw new CliExit(EXIT.usage, "--team cannot be given with create: the file says the team (metadata.namespace in a Katib Experiment, metadata.team in a switchyard/v1 one)");
      },
    ),
  );
}

function registerReads(experiments: Command): void {
  const list = experiments
    .command("list", { isDefault: true })
    .alias("ls")
    .description("experiments of your teams (--team: one team's): status, succeeded/made trials of the most allowed, best objective value")
    .option("-o, --output <format>", "table|json|yaml", "table");
  list.action(
    withApi(list, async (api, g, o: { output?: string }) => {
      const f = parseFormat(o.output);
      const res = await api.experiments.listExperiments({ team: g.team ?? "" });
      if (f !== "table") printMessages(f, { items: res.experiments.map(experimentJson) });
      else process.stdout.write((res.experiments.length ? experimentsTable(res.experiments) : "no experiments (switchyard experiments create -f FILE makes one)") + "\n");
    }, checkOutput),
  );

  const get = experiments
    .command("get")
    .argument("<name>", "the experiment")
    .description("an experiment: by default its status and best trial in short; -o json|yaml the whole experiment as the API gives it")
    .option("-o, --output <format>", "table|json|yaml", "table");
  get.action(
    withApi(get, async (api, g, name: string, o: { output?: string }) => {
      const f = parseFormat(o.output);
      const e = await api.experiments.getExperiment({ name, team: g.team ?? "" });
      if (f !== "table") printMessages(f, experimentJson(e));
      else process.stdout.write(experimentSummary(e) + "\n");
    }, checkNamedOutput),
  );

  const describe = experiments
    .command("describe")
    .argument("<name>", "the experiment")
    .description("an experiment's status (condition, reason, trial counts), its current optimal trial with parameters and metrics, and every trial by objective");
  describe.action(
    withApi(describe, async (api, g, name: string) => {
      const team = g.team ?? "";
      const [e, res] = await Promise.all([api.experiments.getExperiment({ name, team }), api.experiments.listTrials({ name, team })]);
      process.stdout.write(describeExperiment(e, res.trials) + "\n");
    }),
  );

  const trials = experiments
    .command("trials")
    .argument("<name>", "the experiment")
    .description("an experiment's trials, best objective first: state, parameters, objective value and why each ended")
    .option("-o, --output <format>", "table|json|yaml", "table");
  trials.action(
    withApi(trials, async (api, g, name: string, o: { output?: string }) => {
      const f = parseFormat(o.output);
      const team = g.team ?? "";
      if (f !== "table") {
        const res = await api.experiments.listTrials({ name, team });
        printMessages(f, { items: res.trials.map(trialJson) });
        return;
      }
      // The objective's direction orders the table: it is the experiment's.
      const [e, res] = await Promise.all([api.experiments.getExperiment({ name, team }), api.experiments.listTrials({ name, team })]);
      process.stdout.write((res.trials.length ? trialsTable(res.trials, objectiveOf(e)?.type) : `no trials of experiment ${name} yet`) + "\n");
    }, checkNamedOutput),
  );
}

function registerChanges(experiments: Command): void {
  const cancel = experiments
    .command("cancel")
    .argument("<name>", "the experiment")
    .description("stop suggesting trials and stop the running ones (recorded as Killed); the experiment ends as Cancelled and stays to be read");
  cancel.action(
    withApi(cancel, async (api, g, name: string) => {
      const asked = Date.now();
      process.stdout.write(cancelledText(await api.experiments.cancelExperiment({ name, team: g.team ?? "" }), asked) + "\n");
    }),
  );

  const del = experiments
    .command("delete")
    .alias("rm")
    .argument("<name>", "the experiment")
    .description("cancel what runs, then forget the experiment and delete its trials' jobs");
  del.action(
    withApi(del, async (api, g, name: string) => {
      process.stdout.write(deletedText(name, await api.experiments.deleteExperiment({ name, team: g.team ?? "" })) + "\n");
    }),
  );
}

export function registerExperimentCommands(program: Command): void {
  const experiments = program
    .command("experiments")
    .alias("experiment")
    .description("hyperparameter experiments (Katib's or switchyard/v1's): each trial a job — list (the default), create, get, describe, trials, cancel, delete");
  registerCreate(experiments);
  registerReads(experiments);
  registerChanges(experiments);
}
