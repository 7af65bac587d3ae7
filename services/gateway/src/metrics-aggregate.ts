/**
 * The aggregated /metrics view at the gateway: the Prometheus text of every process of the platform, merged into one
 * exposition. Each sample gets a `service` label; families with the same name from several processes are written as
 * one group with one HELP/TYPE (the text format requires a family's lines to be contiguous and its metadata unique).
 */
export function mergePrometheusTexts(parts: readonly { service: string; text: string }[]): string {
  const families = new Map<string, { help?: string; type?: string; samples: string[] }>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { samples: [] }));
    return f;
  };
  for (const { service, text } of parts) {
    let current = "";
    for (const line of text.split("\n")) {
      if (line === "") continue;
      const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (meta) {
        current = meta[2]!;
        const f = family(current);
        if (meta[1] === "HELP") f.help ??= line;
        else f.type ??= line;
        continue;
      }
      if (line.startsWith("#")) continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?(.*)$/.exec(line);
      if (!m) continue;
      const labels = m[2] ? `{service="${service}",${m[2].slice(1)}` : `{service="${service}"}`;
      family(current || m[1]!).samples.push(`${m[1]}${labels}${m[3]}`);
    }
  }
  let out = "";
  for (const f of families.values()) {
    if (f.samples.length === 0) continue;
    if (f.help) out += f.help + "\n";
    if (f.type) out += f.type + "\n";
    out += f.samples.join("\n") + "\n";
  }
  return out;
}
