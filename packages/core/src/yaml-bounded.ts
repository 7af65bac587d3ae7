/**
 * YAML parsing with its nesting proven bounded before anything recursive runs. The `yaml` package works in stages:
 * its lexer and parser build a concrete syntax tree with an explicit stack (no recursion: 100,000 `[` parse fine), and
 * its composer turns that tree into nodes by recursion (where 2,000 `[` exhausted the stack and, with it, the process).
 * Here the tree's depth is measured iteratively and the composer runs only when it is within `maxDepth`. `yaml` is
 * loaded on first use, so a process that parses no YAML does not pay for it.
 */
import { createRequire } from "node:module";
import type * as YamlModule from "yaml";
import type { CST, Document, DocumentOptions, LineCounter, ParseOptions, SchemaOptions } from "yaml";
import { Code, SwitchyardError } from "./errors.js";
import { DEFAULT_TEXT_BOUNDS, checkTextBounds, tooDeep, type TextBounds } from "./text-bounds.js";

let lib: typeof YamlModule | undefined;
const yaml = () => (lib ??= createRequire(import.meta.url)("yaml") as typeof YamlModule);

export type BoundedYamlOptions = ParseOptions &
  DocumentOptions &
  SchemaOptions & {
    /** What the text is, for messages: "the manifest", "queues.yaml". */
    what: string;
    file?: string;
    bounds?: TextBounds;
    lineCounter?: LineCounter;
  };

/** The deepest collection nesting of a syntax tree, and the offset where it is reached; walked with an explicit stack. */
export function syntaxTreeDepth(tokens: readonly CST.Token[]): { depth: number; offset: number } {
  let max = 0;
  let offset = 0;
  const stack: [CST.Token, number][] = tokens.map((t) => [t, 0]);
  while (stack.length > 0) {
    const [t, d] = stack.pop()!;
    if (t.type === "document") {
      if (t.value) stack.push([t.value, d]);
      continue;
    }
    if (t.type !== "block-map" && t.type !== "block-seq" && t.type !== "flow-collection") continue;
    if (d + 1 > max) (max = d + 1), (offset = t.offset);
    for (const item of t.items as { key?: CST.Token | null; value?: CST.Token | null }[]) {
      if (item.key) stack.push([item.key, d + 1]);
      if (item.value) stack.push([item.value, d + 1]);
    }
  }
  return { depth: max, offset };
}

function boundedTokens(source: string, o: BoundedYamlOptions): CST.Token[] {
  const bounds = o.bounds ?? DEFAULT_TEXT_BOUNDS;
  // Size, and a fast lexical estimate of the nesting (rejects bombs in milliseconds)…
  checkTextBounds(source, o.what, bounds, o.file);
  // …then the exact depth, on the iterative parser's tree, before the recursive composer sees it.
  const tokens = Array.from(new (yaml().Parser)(o.lineCounter?.addNewLine).parse(source));
  const { depth, offset } = syntaxTreeDepth(tokens);
  if (depth > bounds.maxDepth) {
    const line = source.slice(0, offset).split("\n").length;
    throw tooDeep(o.what, bounds.maxDepth, line, o.file);
  }
  return tokens;
}

/** `yaml`'s parseDocument (one document; a second is an error on the first), with bounded size and nesting. */
export function parseYamlDocument(source: string, o: BoundedYamlOptions): Document.Parsed {
  const tokens = boundedTokens(source, o);
  const { Composer, YAMLParseError } = yaml();
  let doc: Document.Parsed | undefined;
  for (const d of new Composer(o).compose(tokens, true, source.length)) {
    if (!doc) doc = d;
    else {
      doc.errors.push(new YAMLParseError(d.range.slice(0, 2) as [number, number], "MULTIPLE_DOCS", "Source contains multiple documents; please use YAML.parseAllDocuments()"));
      break;
    }
  }
  return doc!;
}

/** `yaml`'s parseAllDocuments, with bounded size and nesting. */
export function parseYamlDocuments(source: string, o: BoundedYamlOptions): Document.Parsed[] {
  const tokens = boundedTokens(source, o);
  return Array.from(new (yaml().Composer)(o).compose(tokens));
}

/**
 * A parsed document as plain values. The `yaml` package refuses alias expansions that would multiply the document
 * ("billion laughs") by throwing; that is the caller's mistake, said as one: INVALID_ARGUMENT with the fix.
 */
export function yamlToJs(doc: Document.Parsed | Document, what: string, file?: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new SwitchyardError(Code.InvalidArgument, `${what}: ${message}; write the document out without deep or repeated *alias references`, {
      details: [{ field: "(document)", message, hint: "write the document out without deep or repeated *alias references", ...(file ? { file } : {}) }],
      cause: err,
    });
  }
}
