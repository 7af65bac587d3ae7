import { Code, SwitchyardError, parseYamlDocuments, yamlToJs, type FieldViolation } from "@switchyard/core";
import { createRequire } from "node:module";
import type { Document, LineCounter as LineCounterType } from "yaml";
import type * as yamlModule from "yaml";
import type { z } from "zod";
import { UNENFORCED_ISTIO_FIELDS, istioSchemas, type DestinationRuleSpec, type VirtualServiceSpec } from "./istio-schema.js";
import { AUTHZ_API_VERSIONS, authzSchemas, UNENFORCED_AUTHZ_FIELDS, type AuthorizationPolicySpec } from "./policy-authz.js";
import { SWITCHYARD_API_VERSION, switchyardSchemas, type BulkheadPolicySpec, type RateLimitPolicySpec, type ResiliencePolicySpec } from "./switchyard-schema.js";

/** yaml is loaded on first parse (like zod): a service that never parses policies does not pay its memory. */
let yamlLib: typeof yamlModule | undefined;
const yaml = () => (yamlLib ??= createRequire(import.meta.url)("yaml") as typeof yamlModule);

/** Istio versions whose DestinationRule and VirtualService have the fields the mesh reads (identical in all three). */
export const ISTIO_API_VERSIONS = ["networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3"] as const;

/** Where a resource came from, for errors that span documents. */
export interface PolicyOrigin {
  /** The document's name in the config center, or a file name. */
  readonly source: string;
  /** 1-based line where the YAML document starts. */
  readonly line: number;
}

interface ResourceBase {
  readonly apiVersion: string;
  readonly metadata: { readonly name: string; readonly namespace?: string | undefined };
  readonly origin: PolicyOrigin;
}

export type PolicyResource =
  | (ResourceBase & { readonly kind: "DestinationRule"; readonly spec: DestinationRuleSpec })
  | (ResourceBase & { readonly kind: "VirtualService"; readonly spec: VirtualServiceSpec })
  | (ResourceBase & { readonly kind: "RateLimitPolicy"; readonly spec: RateLimitPolicySpec })
  | (ResourceBase & { readonly kind: "BulkheadPolicy"; readonly spec: BulkheadPolicySpec })
  | (ResourceBase & { readonly kind: "ResiliencePolicy"; readonly spec: ResiliencePolicySpec })
  | (ResourceBase & { readonly kind: "AuthorizationPolicy"; readonly spec: AuthorizationPolicySpec });

/** The validated resources of one or more YAML texts, in order. */
export interface MeshPolicies {
  readonly resources: readonly PolicyResource[];
}

type Kind = PolicyResource["kind"];
const KINDS: readonly Kind[] = ["DestinationRule", "VirtualService", "RateLimitPolicy", "BulkheadPolicy", "ResiliencePolicy", "AuthorizationPolicy"];
function specOf(kind: Kind): { apiVersions: readonly string[]; schema: z.ZodType } {
  const istio = istioSchemas();
  const own = switchyardSchemas();
  switch (kind) {
    case "DestinationRule":
      return { apiVersions: ISTIO_API_VERSIONS, schema: istio.DestinationRuleSpec };
    case "VirtualService":
      return { apiVersions: ISTIO_API_VERSIONS, schema: istio.VirtualServiceSpec };
    case "RateLimitPolicy":
      return { apiVersions: [SWITCHYARD_API_VERSION], schema: own.RateLimitPolicySpec };
    case "BulkheadPolicy":
      return { apiVersions: [SWITCHYARD_API_VERSION], schema: own.BulkheadPolicySpec };
    case "ResiliencePolicy":
      return { apiVersions: [SWITCHYARD_API_VERSION], schema: own.ResiliencePolicySpec };
    case "AuthorizationPolicy":
      return { apiVersions: AUTHZ_API_VERSIONS, schema: authzSchemas().AuthorizationPolicySpec };
  }
}
const ENVELOPE_KEYS = new Set(["apiVersion", "kind", "metadata", "spec"]);

type PathSeg = string | number;

function fieldName(path: readonly PathSeg[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

/** The source position of a path in a document (of the key itself when `key` is set), 1-based. */
function positionOf(doc: Document, lines: LineCounterType, path: readonly PathSeg[], key?: string): { line: number; column: number } | undefined {
  let offset: number | undefined;
  if (key !== undefined && path[path.length - 1] === key) path = path.slice(0, -1);
  let node: unknown = path.length === 0 ? doc.contents : doc.getIn(path, true);
  const { isMap, isScalar } = yaml();
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
    offset = isScalar(pair?.key) ? pair.key.range?.[0] : undefined;
  }
  if (offset === undefined) {
    while (offset === undefined && node !== undefined) {
      offset = (node as { range?: [number, number, number] }).range?.[0];
      if (offset === undefined && path.length > 0) node = doc.getIn((path = path.slice(0, -1)), true);
      else break;
    }
  }
  if (offset === undefined) return undefined;
  const p = lines.linePos(offset);
  return { line: p.line, column: p.col };
}

/**
 * Parses and validates mesh policies: one YAML text holding any number of documents (`---`), each an Istio
 * DestinationRule or VirtualService (`networking.istio.io/v1`) or one of the mesh's own kinds
 * (`mesh.switchyard.io/v1`: RateLimitPolicy, BulkheadPolicy, ResiliencePolicy). Every problem is reported at once as a
 * field violation with file:line:column; a field the mesh does not enforce is refused by name. Cross-document checks
 * (routes to subsets that exist, one rule per host) happen when a set is compiled (compileMeshPolicies).
 */
/** Offsets of keys that repeat an earlier key of their mapping (at most 50), in one pass over a bounded-depth tree. */
function duplicateKeys(root: unknown): number[] {
  const { isMap, isSeq, isScalar } = yaml();
  const out: number[] = [];
  const stack: unknown[] = [root];
  while (stack.length > 0 && out.length < 50) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        if (seen.has(key)) out.push((pair.key as { range?: [number, number, number] } | null)?.range?.[0] ?? 0);
        seen.add(key);
        stack.push(pair.value);
      }
    } else if (isSeq(node)) for (const item of node.items) stack.push(item);
  }
  return out;
}

export function parseMeshPolicies(yamlText: string, options: { source?: string } = {}): MeshPolicies {
  const source = options.source ?? "<policies>";
  const { LineCounter } = yaml();
  const lines = new LineCounter();
  // Size and nesting proven bounded before the (recursive) composer runs.
  // Duplicate keys are found below in one pass (the library's own check is quadratic in a mapping's size).
  const docs = parseYamlDocuments(yamlText, { what: source, file: source, lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const violations: FieldViolation[] = [];
  const resources: PolicyResource[] = [];
  const at = (doc: Document, path: readonly PathSeg[], key?: string) => {
    const p = positionOf(doc, lines, path, key);
    return p ? { file: source, line: p.line, column: p.column } : { file: source };
  };
  if (!Array.isArray(docs)) throw new SwitchyardError(Code.InvalidArgument, `${source}: not a YAML stream`);
  docs.forEach((doc, index) => {
    const prefix = docs.length > 1 ? `[${index}]` : "";
    for (const e of doc.errors) {
      const p = lines.linePos(e.pos[0]);
      violations.push({ field: prefix || "(document)", message: `YAML: ${e.message.split("\n")[0]}`, file: source, line: p.line, column: p.col });
    }
    if (doc.errors.length > 0 || doc.contents === null) return;
    for (const offset of duplicateKeys(doc.contents)) {
      const p = lines.linePos(offset);
      violations.push({ field: prefix || "(document)", message: "YAML: map keys must be unique", file: source, line: p.line, column: p.col, hint: "remove one of the two entries with this key" });
    }
    const value = yamlToJs(doc, source, source);
    const bad = (path: PathSeg[], message: string, extra: Partial<FieldViolation> = {}, key?: string): void => {
      violations.push({ field: `${prefix}${fieldName(path)}` || "(document)", message, ...extra, ...at(doc, path, key) });
    };
    if (typeof value !== "object" || value === null || Array.isArray(value)) return bad([], "a policy document must be a mapping with apiVersion, kind, metadata and spec");
    const o = value as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!ENVELOPE_KEYS.has(k)) bad([k], `unknown top-level field "${k}" (a policy has apiVersion, kind, metadata, spec)`, {}, k);
    const kind = o.kind as Kind;
    const entry = typeof kind === "string" && KINDS.includes(kind) ? specOf(kind) : undefined;
    if (!entry) return bad(["kind"], `kind must be one of ${KINDS.join(", ")}`, { got: String(o.kind) });
    if (typeof o.apiVersion !== "string" || !entry.apiVersions.includes(o.apiVersion)) {
      return bad(["apiVersion"], `${kind} takes apiVersion ${entry.apiVersions.join(" or ")}`, { got: String(o.apiVersion) });
    }
    const md = o.metadata as { name?: unknown; namespace?: unknown } | undefined;
    if (typeof md?.name !== "string" || md.name === "") bad(["metadata", "name"], "metadata.name is required");
    const result = entry.schema.safeParse(o.spec);
    if (!result.success) {
      for (const issue of result.error.issues) {
        const path = ["spec", ...(issue.path as PathSeg[])];
        if (issue.code === "unrecognized_keys") {
          for (const k of issue.keys) {
            const why = kind === "AuthorizationPolicy" ? UNENFORCED_AUTHZ_FIELDS[k] : UNENFORCED_ISTIO_FIELDS[k];
            bad([...path, k], why !== undefined ? `Istio's "${k}" is not enforced by the Switchyard mesh (${why}); it is refused rather than silently ignored` : `unknown field "${k}" in ${kind}`, { hint: "remove the field" }, k);
          }
        } else bad(path, issue.message);
      }
      return;
    }
    if (typeof md?.name !== "string") return;
    const metadata = { name: md.name, namespace: typeof md.namespace === "string" ? md.namespace : undefined };
    const line = doc.contents && "range" in doc.contents && doc.contents.range ? lines.linePos(doc.contents.range[0]).line : 1;
    resources.push({ apiVersion: o.apiVersion, kind, metadata, spec: result.data, origin: { source, line } } as PolicyResource);
  });
  if (violations.length > 0) {
    const first = violations[0]!;
    const more = violations.length > 1 ? ` (and ${violations.length - 1} more)` : "";
    throw new SwitchyardError(Code.InvalidArgument, `invalid mesh policy ${source}:${first.line ?? 0}:${first.column ?? 0}: ${first.field}: ${first.message}${more}`, { details: violations.slice(0, 50) });
  }
  return { resources };
}
