import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { TestPlatform, suspendedJob } from "./test-harness.js";

// Roles × teams × operations, over REST and over gRPC, against the real jobs service behind the gateway. The jobs
// wait suspended, so no process runs. Statuses are compared in HTTP terms (gRPC codes mapped as the gateway maps them).

const HTTP_OF: Partial<Record<Code, number>> = { [Code.PermissionDenied]: 403, [Code.Unauthenticated]: 401, [Code.NotFound]: 404, [Code.InvalidArgument]: 400, [Code.AlreadyExists]: 409 };
type Op = "submit" | "get" | "logs" | "cancel";
const OPS: Op[] = ["submit", "get", "logs", "cancel"];
let seq = 0;

describe("authorization: roles × teams × operations over REST and gRPC", () => {
  let p: TestPlatform;
  const tokens: Record<string, string | undefined> = {};
  before(async () => {
    p = await TestPlatform.start();
    tokens["admin"] = p.adminToken;
    tokens["alice (member of a)"] = await p.token("alice", ["a"], "member");
    tokens["victor (viewer of a)"] = await p.token("victor", ["a"], "viewer");
    tokens["bob (member of b)"] = await p.token("bob", ["b"], "member");
    tokens["carol (member of a and b)"] = await p.token("carol", ["a", "b"], "member");
    tokens["no token"] = undefined;
    tokens["a forged token"] = "sy_eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJldmUiLCJyb2xlIjoiYWRtaW4ifQ.c2lnbmF0dXJl";
    for (const team of ["a", "b"]) assert.equal((await p.rest("POST", "/v1/jobs", { token: p.adminToken, body: { manifest: suspendedJob(`job-${team}`, team) } })).status, 200);
  });
  after(async () => {
    await p.stop();
  });

  async function viaRest(op: Op, token: string | undefined, team: string, name: string, withTeam: boolean): Promise<{ status: number; message: string }> {
    const q = withTeam ? `?team=${team}` : "";
    const r =
      op === "submit"
        ? await p.rest("POST", "/v1/jobs", { token, body: { manifest: suspendedJob(`s${++seq}`, team) } })
        : op === "get"
          ? await p.rest("GET", `/v1/jobs/${name}${q}`, { token })
          : op === "logs"
            ? await p.rest("GET", `/v1/jobs/${name}/logs${q}`, { token })
            : await p.rest("POST", `/v1/jobs/${name}:cancel`, { token, body: withTeam ? { team } : {} });
    return { status: r.status, message: (r.json as { message?: string } | undefined)?.message ?? "" };
  }

  async function viaGrpc(op: Op, token: string | undefined, team: string, name: string, withTeam: boolean): Promise<{ status: number; message: string }> {
    const jobs = p.clients(token, "grpc").jobs;
    const t = withTeam ? team : "";
    try {
      if (op === "submit") await jobs.submitJob({ manifest: suspendedJob(`s${++seq}`, team) });
      else if (op === "get") await jobs.getJob({ name, team: t });
      else if (op === "logs") for await (const _ of jobs.getLogs({ name, team: t })) void _;
      else await jobs.cancelJob({ name, team: t });
      return { status: 200, message: "" };
    } catch (err) {
      const e = ConnectError.from(err);
      return { status: HTTP_OF[e.code] ?? 500, message: e.rawMessage };
    }
  }

  /** What each caller may do to a job of `team`: 200, or the refusal. */
  function expected(caller: string, op: Op, team: string): number {
    if (caller === "no token" || caller === "a forged token") return 401;
    if (caller === "admin") return 200;
    const inTeam = caller.includes(`of ${team}`) || caller.includes(`of a and b`);
    const viewer = caller.includes("viewer");
    if (viewer && (op === "submit" || op === "cancel")) return 403;
    return inTeam ? 200 : 403;
  }

  for (const protocol of ["REST", "gRPC"] as const) {
    it(`decides every role × team × operation over ${protocol}`, async () => {
      const call = protocol === "REST" ? viaRest : viaGrpc;
      const got: string[] = [];
      const want: string[] = [];
      for (const caller of Object.keys(tokens)) {
        for (const team of ["a", "b"]) {
          for (const op of OPS) {
            const r = await call(op, tokens[caller], team, `job-${team}`, true);
            got.push(`${caller} ${op} in ${team}: ${r.status}`);
            want.push(`${caller} ${op} in ${team}: ${expected(caller, op, team)}`);
          }
        }
      }
      assert.deepEqual(got, want);
    });

    it(`does not reveal over ${protocol} whether another team's job exists`, async () => {
      const call = protocol === "REST" ? viaRest : viaGrpc;
      for (const op of ["get", "logs", "cancel"] as const) {
        for (const withTeam of [true, false]) {
          const real = await call(op, tokens["alice (member of a)"], "b", "job-b", withTeam);
          const ghost = await call(op, tokens["alice (member of a)"], "b", "no-such-job", withTeam);
          assert.equal(real.status, withTeam ? 403 : 404, `${op} ${withTeam}`);
          assert.deepEqual({ ...ghost, message: ghost.message.replace("no-such-job", "job-b") }, real, `${op} with team ${withTeam}`);
        }
        const viewer = await call(op, tokens["victor (viewer of a)"], "b", "no-such-job", false);
        assert.equal(viewer.status, op === "cancel" ? 403 : 404);
      }
    });
  }

  it("lists only the caller's teams' jobs; admins see every team", async () => {
    const teamsSeen = async (token: string | undefined) => {
      const rest = (await p.rest("GET", "/v1/jobs", { token })).json as { jobs: { metadata: { team: string } }[] };
      const grpc = await p.clients(token, "grpc").jobs.listJobs({});
      const fromRest = [...new Set(rest.jobs.map((j) => j.metadata.team))].sort();
      assert.deepEqual([...new Set(grpc.jobs.map((j) => j.metadata!.team))].sort(), fromRest);
      return fromRest.join(",");
    };
    assert.equal(await teamsSeen(tokens["admin"]), "a,b");
    assert.equal(await teamsSeen(tokens["alice (member of a)"]), "a");
    assert.equal(await teamsSeen(tokens["victor (viewer of a)"]), "a");
    assert.equal(await teamsSeen(tokens["bob (member of b)"]), "b");
    assert.equal(await teamsSeen(tokens["carol (member of a and b)"]), "a,b");
    assert.equal((await p.rest("GET", "/v1/jobs?team=b", { token: tokens["alice (member of a)"] })).status, 403);
    const limited = await p.clients(tokens["carol (member of a and b)"], "grpc").jobs.listJobs({ limit: 1 });
    assert.equal(limited.jobs.length, 1);
  });

  it("refuses a member's submission to another team with the field to fix", async () => {
    const r = await p.rest("POST", "/v1/jobs", { token: tokens["alice (member of a)"], body: { manifest: suspendedJob("x-team", "b") } });
    assert.equal(r.status, 403);
    const body = r.json as { details: { field: string; hint: string }[] };
    assert.equal(body.details[0]!.field, "metadata.team");
    assert.match(body.details[0]!.hint, /one of your teams/);
  });
});
