import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { toJson } from "@bufbuild/protobuf";
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { SecretSchema } from "@switchyard/api";
import type { Command } from "commander";
import { CliExit, EXIT } from "./exit.js";
import { withApi } from "./cmd-jobs.js";
import { age, parseFormat, table } from "./format.js";

const collect = (v: string, all: string[]) => [...all, v];

/** Reads all of stdin (a value given as `--from-literal KEY=-`). */
async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write("Value (end with Ctrl-D): ");
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The secret's values from `--from-literal KEY=VALUE` (VALUE `-`: read from stdin, one trailing newline dropped) and
 * `--from-file KEY=PATH` (or just PATH: the key is the file's name; the content as it is). No message ever repeats
 * a value or an argument that might hold one.
 */
export async function collectSecretValues(literals: readonly string[], files: readonly string[], stdin: () => Promise<string> = readStdin): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  const put = (key: string, value: string, flag: string) => {
    if (Object.hasOwn(values, key)) throw new CliExit(EXIT.usage, `key "${key}" is given twice (${flag}): give each key once`);
    values[key] = value;
  };
  let stdinUsed = false;
  for (const [i, arg] of literals.entries()) {
    const eq = arg.indexOf("=");
    if (eq <= 0) throw new CliExit(EXIT.usage, `--from-literal #${i + 1} is not KEY=VALUE (${eq === 0 ? "the key is empty" : "no '='"}): e.g. --from-literal api-key=…, or api-key=- to read the value from stdin`);
    const key = arg.slice(0, eq);
    let value = arg.slice(eq + 1);
    if (value === "-") {
      if (stdinUsed) throw new CliExit(EXIT.usage, `only one value can come from stdin (--from-literal ${key}=-): use --from-file KEY=PATH for the others`);
      stdinUsed = true;
      value = (await stdin()).replace(/\r?\n$/, "");
    }
    put(key, value, "--from-literal");
  }
  for (const arg of files) {
    const eq = arg.indexOf("=");
    const key = eq > 0 ? arg.slice(0, eq) : basename(arg);
    const path = eq > 0 ? arg.slice(eq + 1) : arg;
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new CliExit(EXIT.usage, `cannot read ${path} (--from-file ${key}): ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      throw new CliExit(EXIT.usage, `${path} (--from-file ${key}) is not UTF-8 text, which an environment variable needs: base64-encode it and decode it in the job`);
    }
    put(key, text, "--from-file");
  }
  if (Object.keys(values).length === 0) throw new CliExit(EXIT.usage, "a secret needs at least one key: --from-literal KEY=VALUE (KEY=- reads stdin) or --from-file KEY=PATH");
  return values;
}

function when(ts: Timestamp | undefined): string {
  return ts ? timestampDate(ts).toISOString().replace(/\.\d+Z$/, "Z") : "-";
}

/** `switchyard secrets create|list|delete`: each team's secrets, which jobs read into environment variables. */
export function registerSecretCommands(program: Command): void {
  const secrets = program
    .command("secrets")
    .description("each team's secrets (API keys, passwords) that jobs read into env variables; values are encrypted at rest and never shown");

  const create = secrets
    .command("create")
    .argument("<name>", "the secret's name (lowercase letters, digits, '-' and '.')")
    .description("create a secret, or replace all of its keys (--team TEAM: the owning team; default: your only team)")
    .option("--from-literal <key=value>", "a key and its value (repeatable); KEY=- reads the value from stdin, which keeps it out of `ps` and shell history", collect, [])
    .option("--from-file <key=path>", "a key and a file holding its value (repeatable); PATH alone: the key is the file's name", collect, []);
  create.action(
    withApi(create, async (api, g, name: string, o: { fromLiteral: string[]; fromFile: string[] }) => {
      const values = await collectSecretValues(o.fromLiteral, o.fromFile);
      const res = await api.secrets.createSecret({ name, team: g.team ?? "", values });
      const s = res.secret!;
      process.stdout.write(`secret/${s.name} ${res.created ? "created" : "replaced"} in team ${s.team} (keys: ${s.keys.join(", ")})\n`);
    }),
  );

  const list = secrets
    .command("list")
    .alias("ls")
    .description("secrets with their keys and who wrote them last (never their values)")
    .option("-o, --output <format>", "table|json", "table");
  list.action(
    withApi(list, async (api, g, o: { output?: string }) => {
      const res = await api.secrets.listSecrets({ team: g.team ?? "" });
      if (parseFormat(o.output, ["table", "json"]) === "json") {
        process.stdout.write(JSON.stringify({ items: res.secrets.map((s) => toJson(SecretSchema, s)) }, null, 2) + "\n");
        return;
      }
      const rows = res.secrets.map((s) => [s.name, s.team, s.keys.join(","), when(s.updatedAt), s.updatedBy || "-", age(s.createdAt)]);
      process.stdout.write((rows.length ? table(["NAME", "TEAM", "KEYS", "UPDATED", "BY", "AGE"], rows) : "no secrets") + "\n");
    }),
  );

  const del = secrets
    .command("delete")
    .alias("rm")
    .argument("<name>", "the secret's name")
    .description("delete a secret and all of its keys (jobs that read it fail to start until it is created again)")
    .option("--ignore-not-found", "exit 0 when there is no such secret");
  del.action(
    withApi(del, async (api, g, name: string, o: { ignoreNotFound?: boolean }) => {
      const res = await api.secrets.deleteSecret({ name, team: g.team ?? "" });
      const where = g.team ? ` in team ${g.team}` : "";
      if (res.deleted) {
        process.stdout.write(`secret/${name} deleted${where}\n`);
        return EXIT.ok;
      }
      process.stderr.write(`secret/${name} not found${where}: nothing deleted\n`);
      return o.ignoreNotFound ? EXIT.ok : EXIT.usage;
    }),
  );
}
