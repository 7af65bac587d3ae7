import { createRequire } from "node:module";
import type * as OtelApi from "@opentelemetry/api";
import type * as OtelCore from "@opentelemetry/core";
import type { Context, Span, TextMapGetter, TextMapSetter, Tracer } from "@opentelemetry/api";
import type { CallContext } from "./types.js";

/**
 * The OpenTelemetry API and the W3C propagator, loaded when a span is first made: with tracing off (the default) a
 * process only passes traceparent through and does not load them. The API keeps its registrations on a global, so
 * this instance sees the provider and context manager an SDK registered through any other.
 */
let otelLib: { api: typeof OtelApi; w3c: OtelCore.W3CTraceContextPropagator } | undefined;
function otel(): { api: typeof OtelApi; w3c: OtelCore.W3CTraceContextPropagator } {
  if (otelLib === undefined) {
    const require = createRequire(import.meta.url);
    const core = require("@opentelemetry/core") as typeof OtelCore;
    otelLib = { api: require("@opentelemetry/api") as typeof OtelApi, w3c: new core.W3CTraceContextPropagator() };
  }
  return otelLib;
}

/** The active OpenTelemetry context (only called when tracing is on). */
export const activeContext = (): Context => otel().api.context.active();

/** Runs `fn` with `ctx` as the active context (AsyncLocalStorage when the SDK registered its context manager). */
export function withContext<T>(ctx: Context, fn: () => T): T {
  return otel().api.context.with(ctx, fn);
}

/**
 * Spans for the mesh's calls, from any OpenTelemetry TracerProvider (the SDK's, or a test's in-memory one): made by
 * `createMeshTracing` (`@switchyard/mesh/tracing`, tracing-setup.ts).
 */
export interface MeshTracing {
  readonly tracer: Tracer;
}

/** W3C trace context (traceparent, tracestate) is always what goes on the wire, whatever the global propagator. */
const setter: TextMapSetter<Record<string, string>> = { set: (c, k, v) => void (c[k] = v) };
const getter: TextMapGetter<Readonly<Record<string, string>>> = { get: (c, k) => c[k], keys: (c) => Object.keys(c) };

/** The OpenTelemetry context of a served call, so that `parent: ctx` continues its trace without async context. */
const serverContexts = new WeakMap<CallContext, Context>();

export function bindServerContext(ctx: CallContext, otel: Context): void {
  serverContexts.set(ctx, otel);
}

/**
 * Starts the client span of a call and writes its traceparent into `headers`. The parent is the served call given as
 * `parent`, else the active context. Without tracing, a parent's traceparent is passed through unchanged, so a trace
 * begun elsewhere is not cut by a hop that does not record spans.
 */
export function startClientSpan(tracing: MeshTracing | undefined, active: () => Context, name: string, headers: Record<string, string>, parent: CallContext | undefined, attributes: Record<string, string>): Span | undefined {
  if (tracing === undefined) {
    const tp = parent?.metadata["traceparent"];
    if (tp !== undefined) {
      headers["traceparent"] = tp;
      const ts = parent?.metadata["tracestate"];
      if (ts !== undefined) headers["tracestate"] = ts;
    }
    return undefined;
  }
  const { api, w3c } = otel();
  let parentCtx = parent ? serverContexts.get(parent) : undefined;
  if (parentCtx === undefined) parentCtx = parent?.metadata["traceparent"] !== undefined ? w3c.extract(api.ROOT_CONTEXT, parent.metadata, getter) : active();
  const span = tracing.tracer.startSpan(name, { kind: api.SpanKind.CLIENT, attributes: { "rpc.system": "grpc", ...attributes } }, parentCtx);
  w3c.inject(api.trace.setSpan(parentCtx, span), headers, setter);
  return span;
}

/** Starts the server span of a call from the traceparent it carries; returns the context to run the handler in. */
export function startServerSpan(tracing: MeshTracing, name: string, headers: Readonly<Record<string, string>>, attributes: Record<string, string>): { span: Span; context: Context } {
  const { api, w3c } = otel();
  const parentCtx = w3c.extract(api.ROOT_CONTEXT, headers, getter);
  const span = tracing.tracer.startSpan(name, { kind: api.SpanKind.SERVER, attributes: { "rpc.system": "grpc", ...attributes } }, parentCtx);
  return { span, context: api.trace.setSpan(parentCtx, span) };
}

export function endSpan(span: Span | undefined, code: number, message?: string): void {
  if (span === undefined) return;
  span.setAttribute("rpc.grpc.status_code", code);
  if (code !== 0) span.setStatus({ code: otel().api.SpanStatusCode.ERROR, ...(message !== undefined ? { message } : {}) });
  span.end();
}
