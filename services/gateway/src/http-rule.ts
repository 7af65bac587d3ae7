import { getOption, hasOption, type DescField, type DescMessage, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { http, type HttpRule } from "@switchyard/api";

/** One piece of a compiled path template: a literal segment, one segment (`*`), or the rest of the path (`**`). */
type Piece = { kind: "literal"; value: string } | { kind: "one" } | { kind: "rest" };

/** A variable of a path template: the request field it sets and the pieces it spans. */
export interface PathVariable {
  /** Dotted proto field path, e.g. `name` or `job.name`. */
  readonly fieldPath: string;
  readonly fields: readonly DescField[];
  readonly from: number;
  readonly to: number;
}

/** A REST route, compiled from one `google.api.http` binding of a method. */
export interface HttpRoute {
  readonly service: DescService;
  readonly method: DescMethod;
  readonly httpMethod: string;
  /** The template as annotated, e.g. `/v1/jobs/{name}:cancel`. */
  readonly template: string;
  /** The template in OpenAPI's form: `{path=**}` becomes `{path}`. */
  readonly openApiPath: string;
  readonly pieces: readonly Piece[];
  readonly verb: string | undefined;
  readonly variables: readonly PathVariable[];
  /** "" (no body), "*" (the whole request) or a top-level request field name. */
  readonly body: string;
  readonly bodyField: DescField | undefined;
  /** "" (the whole response) or a top-level response field name. */
  readonly responseBody: string;
  readonly responseBodyField: DescField | undefined;
}

export class HttpRuleError extends Error {}

/** The fields a dotted path names in `message`, each a singular message field but the last. */
export function resolveFieldPath(message: DescMessage, path: string): DescField[] | undefined {
  const out: DescField[] = [];
  let m: DescMessage | undefined = message;
  for (const name of path.split(".")) {
    const f: DescField | undefined = m?.fields.find((x) => x.name === name || x.jsonName === name);
    if (!f) return undefined;
    out.push(f);
    m = f.fieldKind === "message" ? f.message : undefined;
  }
  return out;
}

function compileTemplate(template: string, input: DescMessage, where: string): { pieces: Piece[]; verb: string | undefined; variables: PathVariable[]; openApiPath: string } {
  if (!template.startsWith("/")) throw new HttpRuleError(`${where}: path template "${template}" must start with "/"`);
  let path = template;
  let verb: string | undefined;
  const colon = path.indexOf(":", Math.max(path.lastIndexOf("/"), path.lastIndexOf("}")));
  if (colon >= 0) {
    verb = path.slice(colon + 1);
    path = path.slice(0, colon);
  }
  const pieces: Piece[] = [];
  const variables: PathVariable[] = [];
  let openApiPath = "";
  // Split on "/" outside braces.
  const segs: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of path.slice(1)) {
    if (ch === "{") depth++;
    if (ch === "}") depth--;
    if (ch === "/" && depth === 0) {
      segs.push(cur);
      cur = "";
    } else cur += ch;
  }
  segs.push(cur);
  for (const seg of segs) {
    const v = /^\{([A-Za-z_][\w.]*)(?:=(.+))?\}$/.exec(seg);
    if (v) {
      const fieldPath = v[1]!;
      const fields = resolveFieldPath(input, fieldPath);
      const leaf = fields?.[fields.length - 1];
      if (!fields || !leaf || leaf.fieldKind !== "scalar") throw new HttpRuleError(`${where}: path variable {${fieldPath}} is not a scalar field of ${input.typeName}`);
      const from = pieces.length;
      for (const sub of (v[2] ?? "*").split("/")) pieces.push(sub === "*" ? { kind: "one" } : sub === "**" ? { kind: "rest" } : { kind: "literal", value: sub });
      variables.push({ fieldPath, fields, from, to: pieces.length });
      openApiPath += `/{${fieldPath}}`;
    } else if (seg === "*" || seg === "**") {
      pieces.push(seg === "*" ? { kind: "one" } : { kind: "rest" });
      openApiPath += `/${seg}`;
    } else if (/^[^{}*]+$/.test(seg)) {
      pieces.push({ kind: "literal", value: seg });
      openApiPath += `/${seg}`;
    } else throw new HttpRuleError(`${where}: cannot parse segment "${seg}" of "${template}"`);
  }
  const restAt = pieces.findIndex((p) => p.kind === "rest");
  if (restAt >= 0 && restAt !== pieces.length - 1) throw new HttpRuleError(`${where}: "**" must be the last segment of "${template}"`);
  return { pieces, verb, variables, openApiPath: openApiPath + (verb ? `:${verb}` : "") };
}

function compileRule(service: DescService, method: DescMethod, rule: HttpRule): HttpRoute {
  const where = `${service.typeName}.${method.name}`;
  const p = rule.pattern;
  if (p.case === undefined) throw new HttpRuleError(`${where}: google.api.http has no pattern`);
  const httpMethod = p.case === "custom" ? p.value.kind.toUpperCase() : p.case.toUpperCase();
  const template = p.case === "custom" ? p.value.path : p.value;
  const compiled = compileTemplate(template, method.input, where);
  let bodyField: DescField | undefined;
  if (rule.body && rule.body !== "*") {
    bodyField = method.input.fields.find((f) => f.name === rule.body);
    if (!bodyField) throw new HttpRuleError(`${where}: body "${rule.body}" is not a field of ${method.input.typeName}`);
  }
  let responseBodyField: DescField | undefined;
  if (rule.responseBody) {
    responseBodyField = method.output.fields.find((f) => f.name === rule.responseBody);
    if (!responseBodyField) throw new HttpRuleError(`${where}: response_body "${rule.responseBody}" is not a field of ${method.output.typeName}`);
  }
  return { service, method, httpMethod, template, ...compiled, body: rule.body, bodyField, responseBody: rule.responseBody, responseBodyField };
}

/** Every REST route the services' `google.api.http` annotations declare (additional bindings included). */
export function collectRoutes(services: readonly DescService[]): HttpRoute[] {
  const routes: HttpRoute[] = [];
  for (const service of services) {
    for (const method of service.methods) {
      if (method.methodKind !== "unary" && method.methodKind !== "server_streaming") continue;
      if (!hasOption(method, http)) continue;
      const rule = getOption(method, http);
      routes.push(compileRule(service, method, rule));
      for (const extra of rule.additionalBindings) routes.push(compileRule(service, method, extra));
    }
  }
  return routes;
}

/** A route and the path variables its template captured (decoded). */
export interface RouteMatch {
  route: HttpRoute;
  vars: Map<PathVariable, string>;
}

function literalCount(r: HttpRoute): number {
  return r.pieces.filter((p) => p.kind === "literal").length;
}

/** Matches request paths to routes; the most specific template wins (custom verb, then more literal segments). */
export class RouteTable {
  private readonly routes: HttpRoute[];

  constructor(routes: readonly HttpRoute[]) {
    this.routes = [...routes].sort((a, b) => Number(b.verb !== undefined) - Number(a.verb !== undefined) || literalCount(b) - literalCount(a) || a.pieces.length - b.pieces.length);
  }

  all(): readonly HttpRoute[] {
    return this.routes;
  }

  /**
   * The route for `httpMethod` and the raw (still percent-encoded) path, or the HTTP methods the path does take.
   * Throws URIError when a segment's percent-encoding is malformed.
   */
  match(httpMethod: string, rawPath: string): RouteMatch | { allowed: string[] } {
    const allowed = new Set<string>();
    for (const route of this.routes) {
      let path = rawPath;
      if (route.verb !== undefined) {
        if (!path.endsWith(`:${route.verb}`)) continue;
        path = path.slice(0, -route.verb.length - 1);
      }
      const vars = matchPieces(route, path);
      if (!vars) continue;
      if (route.httpMethod !== httpMethod) {
        allowed.add(route.httpMethod);
        continue;
      }
      return { route, vars };
    }
    return { allowed: [...allowed].sort() };
  }
}

function matchPieces(route: HttpRoute, path: string): Map<PathVariable, string> | undefined {
  if (!path.startsWith("/")) return undefined;
  const segs = path.slice(1).split("/");
  const pieces = route.pieces;
  const ends: number[] = []; // ends[i]: index in segs after piece i
  let s = 0;
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i]!;
    if (p.kind === "rest") {
      if (s >= segs.length || segs.slice(s).some((x) => x === "")) return undefined;
      s = segs.length;
    } else {
      const seg = segs[s];
      if (seg === undefined) return undefined;
      if (p.kind === "literal" ? seg !== p.value : seg === "") return undefined;
      s++;
    }
    ends.push(s);
  }
  if (s !== segs.length) return undefined;
  const vars = new Map<PathVariable, string>();
  for (const v of route.variables) {
    const start = v.from === 0 ? 0 : ends[v.from - 1]!;
    const end = ends[v.to - 1]!;
    vars.set(v, segs.slice(start, end).map((x) => decodeURIComponent(x)).join("/"));
  }
  return vars;
}
