import { createRequire } from "node:module";
import type * as zod from "zod";
import { istioSchemas } from "./istio-schema.js";

/**
 * The mesh's own kinds (`apiVersion: mesh.switchyard.io/v1`) for what Istio has no form for: per-caller rate limits,
 * per-method server bulkheads, and the client's circuit breaker, retry budget and backoff. Written in Istio's style:
 * `spec.host` names the service, durations are strings, unknown fields are refused.
 */
export const SWITCHYARD_API_VERSION = "mesh.switchyard.io/v1";

function build(z: typeof zod) {
  const { Duration, GrpcStatusName } = istioSchemas();
  /** A method selector: `*`, a method name (`SubmitJob`), or a gRPC path (`/switchyard.v1.Jobs/SubmitJob`). */
  const MethodSelector = z.string().regex(/^(\*|[A-Za-z_][A-Za-z0-9_]*|\/[A-Za-z0-9_.]+\/[A-Za-z_][A-Za-z0-9_]*)$/, {
    message: "expected *, a method name (SubmitJob) or a gRPC path (/switchyard.v1.Jobs/SubmitJob)",
  });

  const TokenBucket = z.strictObject({
    maxTokens: z.number().int().min(1),
    tokensPerFill: z.number().int().min(1).optional(),
    fillInterval: Duration,
  });

  const RateLimitPolicySpec = z.strictObject({
    host: z.string().min(1),
    limits: z
      .array(
        z.strictObject({
          methods: z.array(MethodSelector).min(1).optional(),
          /** Whose bucket a call takes from: the verified user (`caller`), their team, the calling service, or one shared (`none`). */
          per: z.enum(["caller", "team", "service", "none"]).optional(),
          tokenBucket: TokenBucket,
        }),
      )
      .min(1),
  });

  const BulkheadPolicySpec = z.strictObject({
    host: z.string().min(1),
    methods: z
      .array(
        z.strictObject({
          method: MethodSelector,
          maxConcurrent: z.number().int().min(1),
          maxQueue: z.number().int().min(0).optional(),
          maxQueueWait: Duration.optional(),
        }),
      )
      .min(1),
  });

  const ResiliencePolicySpec = z.strictObject({
    host: z.string().min(1),
    /** Applies to one subset of the host (a destination); without it, to every subset without its own. */
    subset: z.string().min(1).optional(),
    circuitBreaker: z
      .strictObject({
        consecutiveFailures: z.number().int().min(0).optional(),
        failureRatio: z.number().min(0).max(1).optional(),
        minimumCalls: z.number().int().min(1).optional(),
        window: Duration.optional(),
        openTime: Duration.optional(),
        halfOpenCalls: z.number().int().min(1).optional(),
        failureCodes: z.array(GrpcStatusName).min(1).optional(),
      })
      .optional(),
    retryBudget: z
      .strictObject({ percent: z.number().min(0).max(100).optional(), minRetriesPerSecond: z.number().min(0).optional(), window: Duration.optional() })
      .optional(),
    /** Client-side adaptive throttling (SRE book): while the host refuses for overload, refuse locally beyond K requests per accept. */
    adaptiveThrottling: z.strictObject({ requestsPerAccept: z.number().min(1).optional(), window: Duration.optional() }).optional(),
    /** Envoy's retry backoff: full jitter between 0 and min(maxInterval, baseInterval·2^(n−1)); defaults 25 ms and 250 ms. */
    retryBackoff: z.strictObject({ baseInterval: Duration.optional(), maxInterval: Duration.optional() }).optional(),
  });
  return { RateLimitPolicySpec, BulkheadPolicySpec, ResiliencePolicySpec };
}

type Schemas = ReturnType<typeof build>;
let built: Schemas | undefined;

/** The schemas of the mesh's own kinds (built on first call, like istioSchemas). */
export function switchyardSchemas(): Schemas {
  return (built ??= build(createRequire(import.meta.url)("zod") as typeof zod));
}

export type RateLimitPolicySpec = zod.infer<Schemas["RateLimitPolicySpec"]>;
export type BulkheadPolicySpec = zod.infer<Schemas["BulkheadPolicySpec"]>;
export type ResiliencePolicySpec = zod.infer<Schemas["ResiliencePolicySpec"]>;
