/**
 * `redactManifest`: a manifest with every inline secret value (`{value: ..., secret: true}`, in either env form,
 * in the job's env or a role's) replaced by `"(secret)"` — what the jobs service keeps and shows as "the manifest as
 * submitted". Edited in the YAML concrete syntax tree, so everything else (comments, layout, quoting, JSON) is
 * byte-for-byte the submitted text.
 */
import { CST, Composer, Parser, isAlias, isNode, isScalar, visit } from "yaml";
import type { Document, Node as YamlNode, Pair } from "yaml";
import { Code, SwitchyardError } from "@switchyard/core";
import { REDACTED } from "./job-to-manifest.js";

function keyIs(pair: Pair, name: string): boolean {
  return isScalar(pair.key) && pair.key.value === name;
}

function resolved(node: unknown, doc: Document): unknown {
  return isAlias(node) ? node.resolve(doc) : node;
}

/** The nodes holding inline secret values: `value` next to `secret: true` in any mapping (aliases followed). */
function secretValueNodes(doc: Document): YamlNode[] {
  const out: YamlNode[] = [];
  visit(doc, {
    Map(_, map) {
      const secret = map.items.find((p) => keyIs(p, "secret"));
      const flag = secret === undefined ? undefined : resolved(secret.value, doc);
      if (!isScalar(flag) || flag.value !== true) return;
      const value = map.items.find((p) => keyIs(p, "value"))?.value;
      // An alias's own token is `*name`: the value is where the anchor is, which is what must be blanked.
      const target = resolved(value, doc);
      if (isNode(target)) out.push(target);
    },
  });
  return out;
}

/**
 * The manifest (YAML or JSON) with every inline secret value replaced by `"(secret)"`; a manifest without inline
 * secrets comes back unchanged. Throws InvalidArgument for text that is not one YAML document (such a manifest is
 * refused by `parseJobManifest` before anything would store it).
 */
export function redactManifest(text: string): string {
  const tokens = [...new Parser().parse(text)];
  const docs = [...new Composer({ keepSourceTokens: true, uniqueKeys: true, merge: false }).compose(tokens)];
  if (docs.length > 1 || docs.some((d) => d.errors.length > 0)) {
    throw new SwitchyardError(Code.InvalidArgument, "the manifest is not one YAML document, so its secret values cannot be found: fix it first (`switchyard validate FILE` shows where)");
  }
  let changed = false;
  for (const doc of docs) {
    for (const node of secretValueNodes(doc)) {
      if (node.srcToken === undefined) continue;
      CST.setScalarValue(node.srcToken, REDACTED, { type: "QUOTE_DOUBLE" });
      changed = true;
    }
  }
  return changed ? tokens.map((t) => CST.stringify(t)).join("") : text;
}
