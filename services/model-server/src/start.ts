import { dirname } from "node:path";
import { GRPCInferenceService, ModelServer, type LoadModelRequest } from "@switchyard/api";
import { Code, SwitchyardError, ensurePrivateDir, sleep, systemClock, type Clock, type Logger } from "@switchyard/core";
import { createServer, createServiceRuntime, ServingStatus } from "@switchyard/mesh";
import { startCustomBackend } from "./backend-custom.js";
import { UsageError, type ModelServerConfig } from "./config.js";
import { InferQueue } from "./infer-queue.js";
import { inferenceService, LoadCounters, modelServerService } from "./inference-service.js";
import type { ModelBackend } from "./model-backend.js";
import { onlyFromPlatform, replicaIdentity } from "./identity.js";
import { ModelReceiver } from "./model-receiver.js";
import type { PredictorExit } from "./predictor-process.js";
import { unbatchable } from "./request-check.js";
import { createServerMetrics } from "./server-metrics.js";

export interface StartOptions {
  clock?: Clock;
  /** Aborted by a SIGTERM that arrives while the model loads: the start stops (a custom predictor is stopped). */
  signal?: AbortSignal;
  /** A custom predictor exited on its own. */
  onPredictorExit?: (exit: PredictorExit) => void;
  /** The environment a custom predictor inherits (default this process's). */
  env?: NodeJS.ProcessEnv;
}

export interface RunningModelServer {
  /** `unix:<socket>`. */
  address: string;
  /** `unix:<socket>.metrics`. */
  metricsAddress: string;
  /**
   * Resolves once the model is loaded and warm and the server says SERVING: at once for --model and --custom, after
   * LoadModel's last piece for a model sent by the serving service.
   */
  ready: Promise<void>;
  /** NOT_SERVING; in-flight and queued requests finish (up to the grace); then the server, the model, the predictor close. */
  stop(): Promise<void>;
}

/**
 * The composition root. The server listens on its socket from the start — GetLoad answers `ready: false` and health
 * says NOT_SERVING — and says SERVING only once the model is loaded (an ONNX file, a custom predictor that answered
 * readiness, or the bytes LoadModel brought), checked against the batching flags and warmed up with one inference.
 * No registry and no credentials: plaintext on a Unix socket in a directory only the job's account can enter.
 */
export async function startModelServer(config: ModelServerConfig, logger: Logger, options: StartOptions = {}): Promise<RunningModelServer> {
  // The socket's directory is the only protection of a plaintext server: it must be this account's alone.
  ensurePrivateDir(dirname(config.socketPath), "socket directory");
  const clock = options.clock ?? systemClock;
  const load = new LoadCounters();
  let backend: ModelBackend | undefined;
  let ready = false;
  let stopped = false;
  const mesh = await createServiceRuntime({ serviceName: "inference", env: config.otelEnv, logger });
  const queue: InferQueue = new InferQueue({
    clock,
    maxBatchSize: config.maxBatchSize,
    maxQueueDelayMs: config.maxQueueDelayMs,
    preferredBatchSizes: config.preferredBatchSizes,
    maxQueueSize: config.maxQueueSize,
    queueTimeoutMs: config.queueTimeoutMs,
    concurrency: config.containerConcurrency,
    run: (inputs, o) => backend!.infer(inputs, o),
    events: { onRun: (rows, n) => metrics.run(rows, n), onDequeue: (ms) => metrics.queued(ms / 1000) },
  });
  const metrics = createServerMetrics(mesh.metrics.registry, { model: config.name, revision: config.revision, maxBatchSize: config.maxBatchSize, load: () => ({ inFlight: load.inFlight, queued: queue.queued }) });
  const server = createServer({
    name: "inference",
    socketPath: config.socketPath,
    logger,
    runtime: mesh.runtime,
    labels: { model: config.name, revision: config.revision },
    maxReceiveMessageBytes: config.maxMessageBytes,
    maxSendMessageBytes: config.maxMessageBytes,
  });

  let markReady!: () => void;
  const readyPromise = new Promise<void>((resolve) => (markReady = resolve));

  /** Checks the model against the batching flags, warms it up, and opens for requests. */
  async function activate(b: ModelBackend): Promise<void> {
    try {
      if (config.maxBatchSize > 1) {
        const why = b.signature === undefined ? "the custom predictor does not describe its inputs (GET /v2/models/{name})" : unbatchable(b.signature);
        if (why !== undefined) throw new UsageError(`--max-batch-size ${config.maxBatchSize} needs every input and output to have a variable first dimension (the batch), but ${why}: export the model with a dynamic batch axis, or serve it without --max-batch-size`);
      }
      await b.warmUp();
      if (options.signal?.aborted || stopped) throw new SwitchyardError(Code.Canceled, "stopped while loading the model");
    } catch (err) {
      await b.close();
      throw err;
    }
    backend = b;
    ready = true;
    server.health.setAll(ServingStatus.SERVING);
    identity.setServing(true);
    logger.info({ address: server.address, model: config.name, revision: config.revision, platform: b.platform, maxBatchSize: config.maxBatchSize }, "model server ready");
    markReady();
  }

  const onnx = async (model: string | Uint8Array, c: { intraOpThreads: number; gpu: boolean }) => (await import("./backend-onnx.js")).openOnnxBackend({ model, intraOpThreads: c.intraOpThreads, gpu: c.gpu, logger });

  // A model sent by the serving service: pieces in order; the last one loads it (and the call returns when it is ready).
  let loadModel: ((req: LoadModelRequest) => Promise<{ received: number; ready: boolean }>) | undefined;
  const c = config.backend;
  if (c.kind === "receive") {
    const receiver = new ModelReceiver(c.maxModelBytes);
    let loading: Promise<void> | undefined;
    loadModel = async (req) => {
      if (loading !== undefined) {
        // A call while the model loads (a repeated last piece): answered when the load is done.
        await loading;
        return { received: Number(req.totalBytes), ready };
      }
      const r = receiver.receive(req);
      if (r.file === undefined) return { received: r.received, ready: false };
      logger.info({ bytes: r.received }, "model received");
      // A model that fails to load leaves the replica not ready (and the error with the caller, who replaces it).
      loading = onnx(r.file, c).then(activate);
      loading.catch((err: unknown) => logger.error({ err: (err as Error).message }, "the model sent over LoadModel did not load"));
      try {
        await loading;
      } finally {
        // Later pieces meet the receiver, which says the model was received already.
        loading = undefined;
      }
      return { received: r.received, ready };
    };
  }

  const deps = { served: { name: config.name, revision: config.revision }, backend: () => backend, queue, load, metrics, ready: () => ready, logger };
  const inference = inferenceService(deps);
  // The team's workload identity, certified through the serving service: inference with mutual TLS beside this socket.
  const identity = replicaIdentity({ socketPath: config.socketPath, logger, maxMessageBytes: config.maxMessageBytes, serve: (s) => s.add(GRPCInferenceService, onlyFromPlatform(inference)) });
  server.add(GRPCInferenceService, inference);
  server.add(ModelServer, modelServerService({ ...deps, loadModel, identity }));
  const metricsAddress = await mesh.serveMetrics(`unix:${config.metricsSocketPath}`);
  const address = await server.start();
  // Listening, not serving: GetLoad says ready false, health NOT_SERVING, ModelInfer UNAVAILABLE until activate().
  // (start() said SERVING in the same turn; no call can have been read in between.)
  server.health.setAll(ServingStatus.NOT_SERVING);
  logger.info({ address, metrics: metricsAddress, backend: c.kind }, "listening; loading the model");

  async function stop(): Promise<void> {
    stopped = true;
    ready = false;
    server.health.setAll(ServingStatus.NOT_SERVING);
    identity.setServing(false);
    const t0 = Date.now();
    // Queued requests run now (batches no longer wait to fill); new ones are refused UNAVAILABLE, not executed.
    const drained = await Promise.race([queue.drain().then(() => true), sleep(config.graceMs).then(() => false)]);
    logger.info({ drained, inFlight: load.inFlight, queued: queue.queued, ms: Date.now() - t0 }, drained ? "requests drained" : "grace over with requests still in flight");
    await server.stop(Math.max(0, config.graceMs - (Date.now() - t0)));
    await identity.close();
    // A custom predictor gets its SIGTERM only now, after the calls it was answering ended.
    await backend?.close();
    await mesh.close();
  }

  if (c.kind !== "receive") {
    try {
      const b =
        c.kind === "onnx"
          ? await onnx(c.modelPath, c)
          : await startCustomBackend({
              command: c.command,
              args: c.args,
              modelName: config.name,
              startupTimeoutMs: c.startupTimeoutMs,
              env: options.env ?? process.env,
              logger,
              ...(options.signal ? { signal: options.signal } : {}),
              onExit: (exit) => options.onPredictorExit?.(exit),
            });
      await activate(b);
    } catch (err) {
      await stop();
      throw err;
    }
  }

  let stopping: Promise<void> | undefined;
  return {
    address,
    metricsAddress,
    ready: readyPromise,
    stop: () => (stopping ??= stop()),
  };
}
