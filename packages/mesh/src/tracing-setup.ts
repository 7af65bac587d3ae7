import type { TracerProvider } from "@opentelemetry/api";
import type { MeshTracing } from "./tracing.js";

/**
 * Setting tracing up (the `@switchyard/mesh/tracing` sub-path): a MeshTracing from a TracerProvider, or from the
 * standard OpenTelemetry variables. The call path itself (tracing.ts) loads only the OpenTelemetry API, and only when
 * a span is made.
 */

export function createMeshTracing(options: { tracerProvider: TracerProvider }): MeshTracing {
  return { tracer: options.tracerProvider.getTracer("@switchyard/mesh") };
}

export interface EnvTracing {
  readonly tracing: MeshTracing;
  readonly provider: TracerProvider;
  shutdown(): Promise<void>;
}

/**
 * Tracing configured by the standard OpenTelemetry variables, for a service's composition root (libraries never read
 * `process.env`; the root passes it). Off unless `OTEL_TRACES_EXPORTER` is `otlp` or `console`, or an OTLP endpoint
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set; `OTEL_SDK_DISABLED=true` and
 * `OTEL_TRACES_EXPORTER=none` keep it off. The OTLP/HTTP exporter reads its own variables (endpoint, headers, timeout).
 * The SDK is loaded only when tracing is on; registering it installs the async context manager, so handlers' calls
 * continue their traces even without `parent`.
 */
export async function startTracingFromEnv(env: Readonly<Record<string, string | undefined>>, options: { serviceName: string }): Promise<EnvTracing | undefined> {
  if (env.OTEL_SDK_DISABLED?.toLowerCase() === "true") return undefined;
  const exporter = env.OTEL_TRACES_EXPORTER?.split(",")[0]?.trim().toLowerCase();
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (exporter === "none" || (exporter === undefined && endpoint === undefined)) return undefined;
  if (exporter !== undefined && exporter !== "otlp" && exporter !== "console") throw new Error(`OTEL_TRACES_EXPORTER=${exporter} is not supported (use otlp, console or none)`);
  const [{ NodeTracerProvider, BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor }, { resourceFromAttributes }] = await Promise.all([import("@opentelemetry/sdk-trace-node"), import("@opentelemetry/resources")]);
  const processor =
    exporter === "console"
      ? new SimpleSpanProcessor(new ConsoleSpanExporter())
      : new BatchSpanProcessor(new (await import("@opentelemetry/exporter-trace-otlp-http")).OTLPTraceExporter());
  const provider = new NodeTracerProvider({ resource: resourceFromAttributes({ "service.name": env.OTEL_SERVICE_NAME ?? options.serviceName }), spanProcessors: [processor] });
  provider.register();
  return { tracing: createMeshTracing({ tracerProvider: provider }), provider, shutdown: () => provider.shutdown() };
}
