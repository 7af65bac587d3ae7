// The gRPC services a replica serves: inference.GRPCInferenceService (the Open Inference Protocol) and
// switchyard.v1.ModelServer (its load, for the autoscaler).
import { create } from "@bufbuild/protobuf";
import { GRPCInferenceService, ModelInferResponseSchema, ModelMetadataResponse_TensorMetadataSchema, ModelServer, type LoadModelRequest } from "@switchyard/api";
import { Code, SwitchyardError, type Logger } from "@switchyard/core";
import { decodeInputs, encodeOutputs, type Tensor } from "@switchyard/inference";
import { newRefusal, wasNotExecuted, type CallContext, type ServiceImpl } from "@switchyard/mesh";
import type { InferQueue } from "./infer-queue.js";
import type { ModelBackend, TensorSpec } from "./model-backend.js";
import type { ReplicaIdentity } from "./identity.js";

import { checkInputs, checkModel, checkOutputs } from "./request-check.js";
import type { ServerMetrics } from "./server-metrics.js";

/** Counts since the process started, for ModelServer.GetLoad. */
export class LoadCounters {
  inFlight = 0;
  completed = 0;
  failed = 0;
  /** Refused before running: full queue, queue timeout, shutting down. */
  rejected = 0;
  /** Time finished requests spent here (ms), and the sum of the start times of those in flight. */
  private busyDoneMs = 0;
  private startsSumMs = 0;

  /** A request arrives; returns its start time for `end`. */
  begin(now = performance.now()): number {
    this.inFlight++;
    this.startsSumMs += now;
    return now;
  }

  end(startedMs: number, now = performance.now()): void {
    this.inFlight--;
    this.startsSumMs -= startedMs;
    this.busyDoneMs += now - startedMs;
  }

  /** The time requests have spent here, summed, those in flight counted up to `now` (Little's law: its rate is the average concurrency). */
  busyMsTotal(now = performance.now()): number {
    return this.busyDoneMs + this.inFlight * now - this.startsSumMs;
  }
}

export interface InferenceDeps {
  served: { name: string; revision: string };
  /** The model, once loaded (a model sent over LoadModel arrives after the server started). */
  backend(): ModelBackend | undefined;
  queue: InferQueue;
  load: LoadCounters;
  metrics: ServerMetrics;
  /** False until the model is warm, and again once shutting down. */
  ready(): boolean;
  logger: Logger;
}

export const SERVER_NAME = "switchyard-model-server";
export const SERVER_VERSION = "0.1.0";

const CODE_NAMES = Object.fromEntries(Object.entries(Code).filter(([, v]) => typeof v === "number").map(([k, v]) => [v, k.replace(/[A-Z]/g, (c, i: number) => (i === 0 ? c : `_${c}`)).toLowerCase()])) as Record<number, string>;

const tensorMetadata = (s: TensorSpec) => create(ModelMetadataResponse_TensorMetadataSchema, { name: s.name, datatype: s.datatype, shape: (s.shape ?? []).map(BigInt) });

/** The requested outputs, in the order asked (all of the run's when none was asked). */
function pick(outputs: Tensor[], requested: readonly string[]): Tensor[] {
  if (requested.length === 0) return outputs;
  const byName = new Map(outputs.map((t) => [t.name, t]));
  return requested.map((n) => {
    const t = byName.get(n);
    if (t === undefined) throw new SwitchyardError(Code.InvalidArgument, `output ${JSON.stringify(n)}: the model did not produce it`);
    return t;
  });
}

export function inferenceService(d: InferenceDeps): ServiceImpl<typeof GRPCInferenceService> {
  const deadlineOf = (ctx: CallContext) => (ctx.deadlineMs !== undefined ? { deadlineMs: ctx.deadlineMs } : {});
  return {
    async serverLive() {
      return { live: true };
    },
    async serverReady() {
      return { ready: d.ready() };
    },
    async modelReady(req) {
      checkModel(req.name, req.version, d.served);
      return { ready: d.ready() };
    },
    async serverMetadata() {
      return { name: SERVER_NAME, version: SERVER_VERSION, extensions: [] };
    },
    async modelMetadata(req, ctx) {
      checkModel(req.name, req.version, d.served);
      const backend = d.backend();
      if (backend === undefined) throw newRefusal(Code.Unavailable, "the model is not loaded yet: ask a ready replica");
      const md = await backend.metadata({ signal: ctx.signal, ...deadlineOf(ctx) });
      return { name: d.served.name, versions: [d.served.revision], platform: backend.platform, inputs: md.inputs.map(tensorMetadata), outputs: md.outputs.map(tensorMetadata) };
    },
    async modelInfer(req, ctx) {
      const t0 = d.load.begin();
      let outcome = "ok";
      try {
        if (!d.ready()) throw newRefusal(Code.Unavailable, d.backend() === undefined ? "the model is not loaded yet: send the request to a ready replica" : "the model server is shutting down: send the request to another replica");
        checkModel(req.modelName, req.modelVersion, d.served);
        const inputs = decodeInputs(req);
        const requested = req.outputs.map((o) => o.name);
        const signature = d.backend()?.signature;
        if (signature !== undefined) {
          checkInputs(inputs, signature);
          checkOutputs(requested, signature);
        }
        const outputs = await d.queue.submit(inputs, { outputs: requested, signal: ctx.signal, ...deadlineOf(ctx), id: req.id, parameters: req.parameters });
        // Raw inputs get raw outputs, as Triton answers.
        const encoded = encodeOutputs(pick(outputs, requested), { raw: req.rawInputContents.length > 0 });
        d.load.completed++;
        return create(ModelInferResponseSchema, { modelName: d.served.name, modelVersion: d.served.revision, id: req.id, ...encoded });
      } catch (err) {
        const e = SwitchyardError.from(err);
        outcome = CODE_NAMES[e.code] ?? "unknown";
        if (wasNotExecuted(e) && (e.code === Code.ResourceExhausted || e.code === Code.Unavailable)) d.load.rejected++;
        else d.load.failed++;
        if (e.code === Code.Internal || e.code === Code.Unknown) d.logger.error({ err: e.message, cause: String((e.cause as Error | undefined)?.stack ?? "") }, "inference failed");
        throw e;
      } finally {
        const t1 = performance.now();
        d.load.end(t0, t1);
        d.metrics.request(outcome, (t1 - t0) / 1000);
      }
    },
  };
}

export function modelServerService(
  d: Pick<InferenceDeps, "queue" | "load" | "ready"> & {
    /** LoadModel: undefined when the replica was started with its model (--model, --custom). */
    loadModel: ((req: LoadModelRequest) => Promise<{ received: number; ready: boolean }>) | undefined;
    /** The replica's workload identity (identity.ts). */
    identity: ReplicaIdentity;
  },
): ServiceImpl<typeof ModelServer> {
  return {
    async getLoad() {
      return { inFlight: d.load.inFlight, queued: d.queue.queued, completed: BigInt(d.load.completed), failed: BigInt(d.load.failed), rejected: BigInt(d.load.rejected), ready: d.ready(), busyMsTotal: d.load.busyMsTotal() };
    },
    async loadModel(req) {
      if (d.loadModel === undefined) throw new SwitchyardError(Code.FailedPrecondition, "this replica was started with its model (--model or --custom): it loads no other");
      const r = await d.loadModel(req);
      return { received: BigInt(r.received), ready: r.ready };
    },
    async requestCertificate(req) {
      return { csrPem: d.identity.request(req.spiffeId) };
    },
    async installCertificate(req) {
      return { address: await d.identity.install({ certPem: req.certificatePem, caPem: req.caPem, notAfterMs: Number(req.notAfterMs) }) };
    },
  };
}
