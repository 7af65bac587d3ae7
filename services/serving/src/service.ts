/** The Serving API (switchyard.v1.Serving): authorization (authz.ts), then deployments.ts decides and the reconciler acts. */
import type { Serving } from "@switchyard/api";
import { Code, SwitchyardError } from "@switchyard/core";
import type { CallContext, ServiceImpl } from "@switchyard/mesh";
import { callerOf, inScope, readScope } from "./authz.js";
import type { Deployments } from "./deployments.js";
import type { Reconciler } from "./reconciler.js";
import type { DeploymentRow, ServingStore } from "./serving-store.js";
import { deploymentToProto, modelToProto } from "./to-proto.js";

/** How long ActivateDeployment waits at most, whatever the caller asks (the gateway passes its caller's deadline). */
const MAX_ACTIVATE_WAIT_MS = 120_000;

export interface ServingServiceDeps {
  store: ServingStore;
  deployments: Deployments;
  reconciler: Reconciler;
}

export function servingService(d: ServingServiceDeps): ServiceImpl<typeof Serving> {
  const { store, deployments, reconciler } = d;

  async function toProto(row: DeploymentRow) {
    return deploymentToProto(row, await store.revisions(row.uid), await store.replicas(row.uid), reconciler);
  }

  return {
    async applyDeployment(req, ctx: CallContext) {
      const caller = callerOf(ctx);
      if (req.manifest.length === 0) throw new SwitchyardError(Code.InvalidArgument, "manifest is empty: send an InferenceService or a switchyard/v1 Deployment", { details: [{ field: "manifest", message: "required" }] });
      const r = await deployments.apply({ manifest: req.manifest, dryRun: req.dryRun, canaryTrafficPercent: req.canaryTrafficPercent }, caller, ctx);
      return { deployment: await toProto(r.deployment), outcome: r.outcome, warnings: r.warnings };
    },

    async getDeployment(req, ctx: CallContext) {
      return toProto(await deployments.visible(req.name, callerOf(ctx)));
    },

    async listDeployments(req, ctx: CallContext) {
      const scope = readScope(callerOf(ctx), req.team);
      const rows = (await store.deployments()).filter((r) => inScope(scope, r.team));
      return { deployments: await Promise.all(rows.map(toProto)) };
    },

    async deleteDeployment(req, ctx: CallContext) {
      return toProto(await deployments.delete(req.name, callerOf(ctx)));
    },

    async promoteDeployment(req, ctx: CallContext) {
      return toProto(await deployments.promote(req.name, callerOf(ctx)));
    },

    async rollbackDeployment(req, ctx: CallContext) {
      return toProto(await deployments.rollback(req.name, callerOf(ctx)));
    },

    async activateDeployment(req, ctx: CallContext) {
      const row = await deployments.activate(req.name, callerOf(ctx));
      const wait = Math.min(MAX_ACTIVATE_WAIT_MS, Math.max(0, Number(req.waitMs)), ctx.deadlineMs !== undefined ? Math.max(0, ctx.deadlineMs - Date.now() - 50) : MAX_ACTIVATE_WAIT_MS);
      const ready = await reconciler.waitReady(row.uid, wait);
      return { ready, deployment: await toProto(row) };
    },

    async registerModel(req, ctx: CallContext) {
      return modelToProto(await deployments.registerModel(req, callerOf(ctx), ctx));
    },

    async deleteModel(req, ctx: CallContext) {
      return modelToProto(await deployments.deleteModel(req, callerOf(ctx)));
    },

    async listModels(req, ctx: CallContext) {
      const scope = readScope(callerOf(ctx), req.team);
      return { versions: (await store.models(scope, req.name)).map(modelToProto) };
    },
  };
}
