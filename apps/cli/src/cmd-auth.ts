import { createInterface } from "node:readline";
import { toJson } from "@bufbuild/protobuf";
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { createClient, type Client } from "@connectrpc/connect";
import { AuditEventSchema, Auth, Platform, TokenSchema } from "@switchyard/api";
import type { Command } from "commander";
import { CliExit, connectTransport, EXIT, explain, resolveTarget, type GlobalOptions } from "./api.js";
import { configPath, readCliConfig, writeCliConfig } from "./cli-config.js";
import { parseFormat, table } from "./format.js";

interface AuthApi {
  auth: Client<typeof Auth>;
  platform: Client<typeof Platform>;
  server: string;
}

/** The Auth and Platform clients, through the transport every command uses (the CA file included). */
function connect(t: ReturnType<typeof resolveTarget>): AuthApi {
  const { server, transport } = connectTransport(t);
  return { auth: createClient(Auth, transport), platform: createClient(Platform, transport), server };
}

type Action = (g: GlobalOptions, ...args: never[]) => Promise<number | void>;

function run(cmd: Command, action: Action) {
  return async (...args: unknown[]) => {
    const g = cmd.optsWithGlobals() as GlobalOptions;
    try {
      process.exitCode = (await (action as (g: GlobalOptions, ...a: unknown[]) => Promise<number | void>)(g, ...args)) ?? EXIT.ok;
    } catch (err) {
      const e = explain(err, resolveTarget(g).server);
      process.stderr.write(`error: ${e.message}\n`);
      process.exitCode = e.code;
    }
  };
}

/** `30d`, `12h`, `90m`, `3600s` or plain seconds → seconds. */
export function parseTtl(text: string): number {
  const m = /^(\d+)\s*(s|m|h|d|w)?$/.exec(text.trim());
  if (!m) throw new CliExit(EXIT.usage, `--ttl "${text}" is not a duration: write e.g. 90m, 12h, 30d or 2w`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[(m[2] ?? "s") as "s"];
}

function when(ts: Timestamp | undefined): string {
  return ts ? timestampDate(ts).toISOString().replace(/\.\d+Z$/, "Z") : "-";
}

async function readTokenFromStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write("Token: ");
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    rl.close();
    return line.trim();
  }
  return "";
}

export function registerAuthCommands(program: Command): void {
  const login = program
    .command("login")
    .description("save a token (and the server) in the CLI config after checking it: --token TOKEN, or the token on stdin")
    .option("-o, --output <format>", "table|json", "table");
  login.action(
    run(login, async (g, o: { output?: string }) => {
      const { server } = resolveTarget(g);
      const token = g.token ?? process.env.SWITCHYARD_TOKEN ?? (await readTokenFromStdin());
      if (!token) throw new CliExit(EXIT.usage, "no token: pass --token TOKEN, set SWITCHYARD_TOKEN, or pipe it on stdin (get one from an admin: `switchyard token create`)");
      const api = connect({ ...resolveTarget(g), server, token });
      const me = await api.platform.whoAmI({});
      writeCliConfig({ ...readCliConfig(), server: api.server, token });
      if (parseFormat(o.output, ["table", "json"]) === "json") process.stdout.write(JSON.stringify({ server: api.server, user: me.user, role: me.role, teams: me.teams }) + "\n");
      else process.stdout.write(`logged in to ${api.server} as ${me.user} (${me.role}; teams: ${me.teams.join(", ") || "none"}); saved in ${configPath()}\n`);
    }),
  );

  const whoami = program.command("whoami").description("the user, role and teams of the token in use").option("-o, --output <format>", "table|json", "table");
  whoami.action(
    run(whoami, async (g, o: { output?: string }) => {
      const t = resolveTarget(g);
      const me = await connect(t).platform.whoAmI({});
      if (parseFormat(o.output, ["table", "json"]) === "json") process.stdout.write(JSON.stringify({ user: me.user, role: me.role, teams: me.teams }) + "\n");
      else process.stdout.write(`${me.user}\nrole:  ${me.role}\nteams: ${me.teams.join(", ") || "none"}\n`);
    }),
  );

  const token = program.command("token").description("create, list and revoke API tokens");
  const create = token
    .command("create")
    .description("issue a token for a user (admins only); prints the token on stdout. --team T adds the user to team T (comma-separated for several; a new user needs one)")
    .requiredOption("--user <user>", "the user (created when new)")
    .option("--role <role>", "admin | member | viewer (default: the user's role, member for a new user)")
    .option("--ttl <duration>", "lifetime, e.g. 12h, 30d (default 30d)")
    .option("--description <text>", "what the token is for")
    .option("-o, --output <format>", "table|json", "table");
  create.action(
    run(create, async (g, o: { user: string; role?: string; ttl?: string; description?: string; output?: string }) => {
      const t = resolveTarget(g);
      // --team is the program's global option (every command takes it), so it arrives with the globals.
      const teams = (g.team ?? "").split(",").map((x) => x.trim()).filter(Boolean);
      const res = await connect(t).auth.createToken({
        user: o.user,
        teams,
        role: o.role ?? "",
        ttlSeconds: BigInt(o.ttl ? parseTtl(o.ttl) : 0),
        description: o.description ?? "",
      });
      const info = res.info!;
      if (parseFormat(o.output, ["table", "json"]) === "json") {
        process.stdout.write(JSON.stringify({ token: res.token, info: toJson(TokenSchema, info) }) + "\n");
        return;
      }
      process.stdout.write(res.token + "\n");
      process.stderr.write(`token ${info.id} for ${info.user} (${info.role}; teams: ${info.teams.join(", ")}), expires ${when(info.expiresAt)}\n  use it: switchyard login --server ${t.server} --token <token>\n`);
    }),
  );

  const revoke = token
    .command("revoke")
    .argument("[token]", "the token's id (from `switchyard token list`) or the token itself")
    .option("--user <user>", "revoke every token of this user")
    .description("revoke tokens: refused from now on");
  revoke.action(
    run(revoke, async (g, which: string | undefined, o: { user?: string }) => {
      if (!which && !o.user) throw new CliExit(EXIT.usage, "say which token: `switchyard token revoke ID` (ids from `switchyard token list`), or --user USER");
      const t = resolveTarget(g);
      const isText = which !== undefined && which.split(".").length === 3;
      const res = await connect(t).auth.revokeToken({ id: !isText ? (which ?? "") : "", token: isText ? which : "", user: o.user ?? "" });
      process.stdout.write(res.revoked.length ? `revoked ${res.revoked.join(", ")}\n` : "nothing to revoke: already revoked\n");
    }),
  );

  const list = token
    .command("list")
    .description("tokens issued (admins: everyone's; others: their own)")
    .option("--user <user>", "only this user's")
    .option("--all", "include expired and revoked tokens")
    .option("-o, --output <format>", "table|json", "table");
  list.action(
    run(list, async (g, o: { user?: string; all?: boolean; output?: string }) => {
      const t = resolveTarget(g);
      const res = await connect(t).auth.listTokens({ user: o.user ?? "", includeInactive: Boolean(o.all) });
      if (parseFormat(o.output, ["table", "json"]) === "json") {
        process.stdout.write(JSON.stringify({ items: res.tokens.map((x) => toJson(TokenSchema, x)) }, null, 2) + "\n");
        return;
      }
      const rows = res.tokens.map((x) => [x.id, x.user, x.role, x.teams.join(","), when(x.expiresAt), x.revokedAt ? `revoked ${when(x.revokedAt)}` : "active", x.description]);
      process.stdout.write((rows.length ? table(["ID", "USER", "ROLE", "TEAMS", "EXPIRES", "STATE", "DESCRIPTION"], rows) : "no tokens") + "\n");
    }),
  );

  const users = program.command("users").description("users with their role and teams (admins only)");
  users.action(
    run(users, async (g) => {
      const t = resolveTarget(g);
      const res = await connect(t).auth.listUsers({});
      process.stdout.write(table(["USER", "ROLE", "TEAMS"], res.users.map((u) => [u.name, u.role, u.teams.join(",")])) + "\n");
    }),
  );

  const del = users
    .command("delete")
    .argument("<user>", "the user")
    .description("delete a user (admins only): their tokens are refused at once; their jobs stay with their teams");
  del.action(
    run(del, async (g, user: string) => {
      const t = resolveTarget(g);
      const res = await connect(t).auth.deleteUser({ user });
      process.stdout.write(`deleted ${user}${res.revoked.length ? `; revoked ${res.revoked.join(", ")}` : ""}\n`);
    }),
  );

  const leave = users
    .command("remove-team")
    .argument("<user>", "the user")
    .argument("<team>", "the team to take them out of")
    .description("take a user out of a team (admins only): their tokens that carry the team are refused at once");
  leave.action(
    run(leave, async (g, user: string, team: string) => {
      const t = resolveTarget(g);
      const res = await connect(t).auth.removeMembership({ user, team });
      process.stdout.write(`${user} is no longer in ${team} (teams: ${res.teams.join(", ")})${res.revoked.length ? `; revoked ${res.revoked.join(", ")}` : ""}\n`);
    }),
  );

  const audit = program
    .command("audit")
    .description("the audit log, newest first (admins only): calls that changed something, and calls refused for lack of rights")
    .option("--since <when>", "how far back: 30m, 12h, 7d, 2w, or an RFC 3339 time (default 24h)")
    .option("--user <user>", "only this user's calls")
    .option("--method <text>", "only methods whose name contains this, e.g. SubmitJob or Auth/")
    .option("--outcome <outcome>", "allowed | denied | failed")
    .option("--limit <n>", "at most this many (default 100, at most 1000)")
    .option("-o, --output <format>", "table|json", "table");
  audit.action(
    run(audit, async (g, o: { since?: string; user?: string; method?: string; outcome?: string; limit?: string; output?: string }) => {
      const limit = o.limit === undefined ? 0 : Number(o.limit);
      if (!Number.isSafeInteger(limit) || limit < 0) throw new CliExit(EXIT.usage, `--limit "${o.limit}" is not a number of events`);
      const t = resolveTarget(g);
      const res = await connect(t).platform.listAuditEvents({ since: o.since ?? "", user: o.user ?? "", method: o.method ?? "", outcome: o.outcome ?? "", limit });
      if (parseFormat(o.output, ["table", "json"]) === "json") {
        process.stdout.write(JSON.stringify({ items: res.events.map((e) => toJson(AuditEventSchema, e)) }, null, 2) + "\n");
        return;
      }
      const rows = res.events.map((e) => [when(e.time), e.user, e.method.replace(/^switchyard\.v1\./, ""), e.target, e.outcome + (e.code ? ` ${e.code}` : "")]);
      process.stdout.write((rows.length ? table(["TIME", "USER", "METHOD", "TARGET", "OUTCOME"], rows) : "no events") + "\n");
    }),
  );
}
