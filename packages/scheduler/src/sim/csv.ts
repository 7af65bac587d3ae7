import { Violations, closest } from "../yaml-source.js";

export interface CsvTable {
  readonly file: string;
  readonly columns: readonly string[];
  /** One record per data line, with its 1-based line number. */
  readonly rows: readonly { line: number; get(column: string): string }[];
}

function splitLine(line: string): string[] {
  if (!line.includes('"')) return line.split(",").map((x) => x.trim());
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') [cur, i] = [cur + '"', i + 1];
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      out.push(cur.trim());
      cur = "";
    } else cur += c;
  }
  out.push(cur.trim());
  return out;
}

/**
 * Parses CSV text with a header line. Every column must be known (`required` or `optional`) and every required
 * one present; problems are reported with the file and line, and a hint, as one InvalidArgument.
 */
export function parseCsv(text: string, file: string, required: readonly string[], optional: readonly string[], format: string): CsvTable {
  const v = new Violations(undefined, file);
  const lines = text.split(/\r?\n/);
  const headerAt = lines.findIndex((l) => l.trim() !== "" && !l.startsWith("#"));
  if (headerAt < 0) {
    v.add("(file)", `the file is empty`, { expected: `a ${format} CSV with the header ${required.join(",")}`, hint: "check the path, or the --format" });
    throw v.error(`cannot read ${file}`);
  }
  const columns = splitLine(lines[headerAt]!);
  const known = [...required, ...optional];
  for (const c of columns) {
    if (!known.includes(c)) {
      const near = closest(c, known);
      const column = lines[headerAt]!.indexOf(c) + 1;
      v.list.push({ field: c, message: `unknown column "${c}" for the ${format} format`, file, line: headerAt + 1, column, expected: known.join(","), hint: near !== undefined ? `did you mean ${near}? or is this another format?` : "is this another format? (--format)" });
    }
  }
  for (const c of required) if (!columns.includes(c)) v.list.push({ field: c, message: `missing column "${c}"`, file, line: headerAt + 1, column: 1, expected: required.join(","), hint: `the ${format} format needs ${required.join(", ")}` });
  v.throwIfAny(`cannot read ${file} as ${format}`);
  const index = new Map(columns.map((c, i) => [c, i]));
  const rows: { line: number; get(column: string): string }[] = [];
  for (let i = headerAt + 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.trim() === "" || l.startsWith("#")) continue;
    const cells = splitLine(l);
    if (cells.length !== columns.length) {
      v.list.push({ field: "(line)", message: `expected ${columns.length} fields, found ${cells.length}`, file, line: i + 1, hint: "a field with a comma must be quoted" });
      if (v.list.length >= 10) break;
      continue;
    }
    rows.push({ line: i + 1, get: (c) => cells[index.get(c) ?? -1] ?? "" });
  }
  v.throwIfAny(`cannot read ${file} as ${format}`);
  if (rows.length === 0) {
    v.list.push({ field: "(file)", message: "the file has a header but no rows", file, line: headerAt + 1 });
    throw v.error(`cannot read ${file}`);
  }
  return { file, columns, rows };
}

/** Reads numeric cells, collecting errors with positions. */
export class CellReader {
  readonly v: Violations;
  constructor(readonly file: string) {
    this.v = new Violations(undefined, file);
  }

  number(row: { line: number; get(c: string): string }, column: string, opts: { default?: number; min?: number; integer?: boolean } = {}): number {
    const raw = row.get(column);
    if (raw === "") {
      if (opts.default !== undefined) return opts.default;
      this.fail(row.line, column, "is empty", raw, "a number");
      return NaN;
    }
    const x = Number(raw);
    if (!Number.isFinite(x) || (opts.integer === true && !Number.isInteger(x)) || (opts.min !== undefined && x < opts.min)) {
      this.fail(row.line, column, "is not a valid value", raw, `${opts.integer === true ? "an integer" : "a number"}${opts.min !== undefined ? ` ≥ ${opts.min}` : ""}`);
      return NaN;
    }
    return x;
  }

  /** A yes/no cell: `1`/`true`/`yes`, `0`/`false`/`no`, or empty (no). */
  flag(row: { line: number; get(c: string): string }, column: string): boolean {
    const raw = row.get(column).toLowerCase();
    if (raw === "" || raw === "0" || raw === "false" || raw === "no") return false;
    if (raw === "1" || raw === "true" || raw === "yes") return true;
    this.fail(row.line, column, "is not a valid value", row.get(column), "1, true or yes; 0, false, no or empty");
    return false;
  }

  private fail(line: number, column: string, message: string, got: string, expected: string): void {
    if (this.v.list.length < 20) this.v.list.push({ field: column, message: `${column} ${message}`, file: this.file, line, expected, got: JSON.stringify(got) });
  }

  done(what: string): void {
    this.v.throwIfAny(what);
  }
}
