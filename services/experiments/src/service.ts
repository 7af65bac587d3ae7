import type { Experiments as ExperimentsService } from "@switchyard/api";
import { Code, SwitchyardError } from "@switchyard/core";
import type { CallContext, ServiceImpl } from "@switchyard/mesh";
import { callerOf, inScope, readScope } from "./authz.js";
import type { ExperimentStore } from "./experiment-store.js";
import type { Experiments } from "./experiments.js";
import { experimentToProto, sortTrials, trialToProto } from "./to-proto.js";
import type { ExperimentSpec } from "@switchyard/specs";

/** The Experiments API: decisions in experiments.ts, reads here, shapes in to-proto.ts. */
export function experimentsService(d: { store: ExperimentStore; experiments: Experiments }): ServiceImpl<typeof ExperimentsService> {
  const { store, experiments } = d;
  const withTrials = async (row: Parameters<typeof experimentToProto>[0]) => experimentToProto(row, await store.trials(row.uid));
  return {
    async createExperiment(req, ctx: CallContext) {
      const caller = callerOf(ctx);
      if (req.manifest.length === 0) throw new SwitchyardError(Code.InvalidArgument, "manifest is empty: send a Katib kubeflow.org/v1beta1 Experiment or a switchyard/v1 Experiment", { details: [{ field: "manifest", message: "required" }] });
      const r = await experiments.create({ manifest: req.manifest, fileName: req.fileName, baseDir: req.baseDir, dryRun: req.dryRun }, caller, ctx);
      return { experiment: await withTrials(r.experiment), warnings: r.warnings };
    },

    async getExperiment(req, ctx: CallContext) {
      return withTrials(await experiments.visible(req.name, req.team, callerOf(ctx)));
    },

    async listExperiments(req, ctx: CallContext) {
      const scope = readScope(callerOf(ctx), req.team);
      const rows = (await store.experiments()).filter((r) => inScope(scope, r.team));
      return { experiments: await Promise.all(rows.map(withTrials)) };
    },

    async listTrials(req, ctx: CallContext) {
      const row = await experiments.visible(req.name, req.team, callerOf(ctx));
      return { trials: sortTrials(JSON.parse(row.spec) as ExperimentSpec, await store.trials(row.uid)).map(trialToProto) };
    },

    async cancelExperiment(req, ctx: CallContext) {
      return withTrials(await experiments.cancel(req.name, req.team, callerOf(ctx)));
    },

    async deleteExperiment(req, ctx: CallContext) {
      const r = await experiments.delete(req.name, req.team, callerOf(ctx));
      return { deletedJobs: r.jobs };
    },
  };
}
