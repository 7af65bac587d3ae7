import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";

/** A bad flag: main prints the message and the usage text, and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The model server's configuration: its flags (it is a job's command) and the few variables a job is given. */
export interface ModelServerConfig {
  /** The model's name: requests must name it (`model_name`). */
  name: string;
  /** The revision it serves (`model_version`; empty in a request means this one). */
  revision: string;
  /** The Unix socket of gRPC (plaintext: the directory it is in is the protection). */
  socketPath: string;
  /** The Unix socket of Prometheus' `/metrics`: `<socketPath>.metrics`. */
  metricsSocketPath: string;
  /**
   * What runs the model: ONNX Runtime in process on a file (`onnx`) or on the bytes the serving service sends over
   * ModelServer.LoadModel (`receive`: neither --model nor --custom), or a custom predictor's REST on a loopback port.
   */
  backend:
    | { kind: "onnx"; modelPath: string; intraOpThreads: number; gpu: boolean }
    | { kind: "receive"; maxModelBytes: number; intraOpThreads: number; gpu: boolean }
    | { kind: "custom"; command: string; args: string[]; startupTimeoutMs: number };
  /** > 1: dynamic batching (Triton's meaning); 0 or 1: requests run one by one. */
  maxBatchSize: number;
  maxQueueDelayMs: number;
  preferredBatchSizes: number[];
  /** Requests that may wait (queued for a batch or a free slot); beyond it RESOURCE_EXHAUSTED at once. */
  maxQueueSize: number;
  /** A request that waited this long in the queue is refused (RESOURCE_EXHAUSTED); undefined: no limit. */
  queueTimeoutMs: number | undefined;
  /** Without batching, requests running at once (0: unlimited). */
  containerConcurrency: number;
  /** On SIGTERM, how long in-flight and queued requests may take to finish. */
  graceMs: number;
  /** Largest message received or sent over gRPC. */
  maxMessageBytes: number;
  logLevel: string;
  otelEnv: Readonly<Record<string, string | undefined>>;
}

// sun_path holds 108 bytes including the terminating NUL.
export const MAX_SOCKET_PATH_BYTES = 107;
const METRICS_SUFFIX = ".metrics";

export const USAGE = `usage: model-server --name NAME [--revision N] [--socket PATH] [--model PATH.onnx | --custom -- CMD ARGS...] [options]

  --name NAME                 the model's name (required)
  --revision N                the revision served (default 1)
  --socket PATH               where gRPC is served (default: serve.sock beside $SWITCHYARD_OUTPUT_DIR);
                              Prometheus metrics on PATH.metrics
  --model PATH.onnx           serve an ONNX model with ONNX Runtime
  --custom -- CMD ARGS...     start a custom predictor (env PORT) and bridge to its Open Inference Protocol REST
                              (neither: serve on the socket and wait for the ONNX model over ModelServer.LoadModel)
  --max-model-bytes N         the largest model LoadModel takes (default 2147483648)
  --startup-timeout-ms N      how long a custom predictor may take to answer /v2/health/ready (default 60000)
  --max-batch-size N          > 1: dynamic batching up to N rows (the model's first dimension must be dynamic)
  --max-queue-delay-us N      how long the oldest request waits for a batch to fill (default 0)
  --preferred-batch-sizes L   batch sizes sent as soon as they form, e.g. 8,16
  --max-queue-size N          requests that may wait (default 1024); beyond it RESOURCE_EXHAUSTED
  --queue-timeout-us N        a request waiting longer is refused with RESOURCE_EXHAUSTED (default: no limit)
  --container-concurrency N   without batching, requests running at once (default 0: unlimited)
  --intra-op-threads N        ONNX Runtime threads per inference (default 1)
  --gpu                       use ONNX Runtime's CUDA execution provider
  --grace-ms N                on SIGTERM, time for in-flight and queued requests to finish (default 20000)
  --max-message-bytes N       largest gRPC message (default 67108864)

env: SWITCHYARD_OUTPUT_DIR (the job's output directory), SWITCHYARD_LOG_LEVEL, OTEL_*`;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** The longest a timer can wait (Node's setTimeout takes at most 2^31 - 1 ms), in microseconds. */
const MAX_TIMER_US = (2 ** 31 - 1) * 1000;

function integer(flag: string, raw: string | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (raw.trim() === "" || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new UsageError(`--${flag} must be an integer${max === Number.MAX_SAFE_INTEGER ? ` ≥ ${min}` : ` in [${min}, ${max}]`}, got ${JSON.stringify(raw)}`);
  }
  return v;
}

/**
 * Reads the flags (argv without node and the script) and the job's environment into a checked configuration;
 * a bad flag throws UsageError saying which and what it takes.
 */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ModelServerConfig {
  // `--custom -- CMD ARGS...`: everything after the `--` that follows --custom is the predictor's command line.
  const customAt = argv.indexOf("--custom");
  let own = argv.slice();
  let command: string[] | undefined;
  if (customAt >= 0) {
    if (argv[customAt + 1] !== "--" || argv.length <= customAt + 2) throw new UsageError("--custom takes the predictor's command after a --: --custom -- python3 predictor.py");
    command = argv.slice(customAt + 2);
    own = argv.slice(0, customAt);
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: own,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: "boolean" },
        gpu: { type: "boolean" },
        ...Object.fromEntries(
          ["name", "revision", "socket", "model", "startup-timeout-ms", "max-batch-size", "max-queue-delay-us", "preferred-batch-sizes", "max-queue-size", "queue-timeout-us", "container-concurrency", "intra-op-threads", "grace-ms", "max-message-bytes", "max-model-bytes"].map((k) => [k, { type: "string" as const }]),
        ),
      },
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ""));
  }
  if (values.help) throw new UsageError("");
  const str = (k: string) => values[k] as string | undefined;

  const name = str("name");
  if (name === undefined) throw new UsageError("--name is required: the model's name, which requests must give");
  if (!NAME.test(name)) throw new UsageError(`--name must be 1–128 letters, digits, '_', '.' or '-' (starting with a letter or digit), got ${JSON.stringify(name)}`);
  const revision = str("revision") ?? "1";
  if (!NAME.test(revision)) throw new UsageError(`--revision must be letters, digits, '_', '.' or '-', got ${JSON.stringify(revision)}`);

  let socketPath = str("socket");
  if (socketPath === undefined) {
    const out = env.SWITCHYARD_OUTPUT_DIR;
    if (!out) throw new UsageError("--socket is required when SWITCHYARD_OUTPUT_DIR is not set (the default is serve.sock in the job's directory)");
    socketPath = join(dirname(resolve(out)), "serve.sock");
  }
  socketPath = resolve(socketPath);
  const longest = Buffer.byteLength(socketPath + METRICS_SUFFIX);
  if (longest > MAX_SOCKET_PATH_BYTES) {
    throw new UsageError(
      `--socket ${socketPath} is too long: a Unix socket address holds at most ${MAX_SOCKET_PATH_BYTES} bytes, and the metrics socket beside it (${METRICS_SUFFIX}) would take ${longest}; pass a shorter --socket`,
    );
  }

  const model = str("model");
  if (model !== undefined && command !== undefined) throw new UsageError("give --model PATH.onnx or --custom -- CMD ARGS..., not both");
  if (model === "") throw new UsageError("--model needs the path of an .onnx file");
  if (str("max-model-bytes") !== undefined && (model !== undefined || command !== undefined)) throw new UsageError("--max-model-bytes is for a model sent over LoadModel (neither --model nor --custom)");
  if (command !== undefined && values.gpu) throw new UsageError("--gpu is for ONNX models (--model); a custom predictor uses the GPU itself");
  if (command !== undefined && str("intra-op-threads") !== undefined) throw new UsageError("--intra-op-threads is for ONNX models (--model)");
  if (command === undefined && str("startup-timeout-ms") !== undefined) throw new UsageError("--startup-timeout-ms is for custom predictors (--custom)");

  const maxBatchSize = integer("max-batch-size", str("max-batch-size"), 0, 0, 1 << 20);
  // Without batching (--max-batch-size 0 or 1) the delay and preferred sizes mean nothing and are ignored, as Triton does.
  const preferred = str("preferred-batch-sizes");
  const preferredBatchSizes = preferred === undefined ? [] : preferred.split(",").map((s) => integer("preferred-batch-sizes", s.trim(), 0, 1, Math.max(1, maxBatchSize)));
  const intraOpThreads = integer("intra-op-threads", str("intra-op-threads"), 1, 1, 1024);
  const queueTimeoutUs = integer("queue-timeout-us", str("queue-timeout-us"), 0, 0, MAX_TIMER_US);

  return {
    name,
    revision,
    socketPath,
    metricsSocketPath: socketPath + METRICS_SUFFIX,
    backend:
      command !== undefined
        ? { kind: "custom", command: command[0]!, args: command.slice(1), startupTimeoutMs: integer("startup-timeout-ms", str("startup-timeout-ms"), 60_000, 1) }
        : model !== undefined
          ? { kind: "onnx", modelPath: resolve(model), intraOpThreads, gpu: values.gpu === true }
          : { kind: "receive", maxModelBytes: integer("max-model-bytes", str("max-model-bytes"), 2 * 1024 ** 3, 1), intraOpThreads, gpu: values.gpu === true },
    maxBatchSize,
    maxQueueDelayMs: integer("max-queue-delay-us", str("max-queue-delay-us"), 0, 0, MAX_TIMER_US) / 1000,
    preferredBatchSizes: [...new Set(preferredBatchSizes)].sort((a, b) => a - b),
    maxQueueSize: integer("max-queue-size", str("max-queue-size"), 1024, 1),
    queueTimeoutMs: queueTimeoutUs > 0 ? queueTimeoutUs / 1000 : undefined,
    containerConcurrency: integer("container-concurrency", str("container-concurrency"), 0, 0),
    graceMs: integer("grace-ms", str("grace-ms"), 20_000, 0),
    maxMessageBytes: integer("max-message-bytes", str("max-message-bytes"), 64 * 1024 * 1024, 1024, 2 ** 31 - 1),
    logLevel: env.SWITCHYARD_LOG_LEVEL ?? "info",
    otelEnv: Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith("OTEL_"))),
  };
}
