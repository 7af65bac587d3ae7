// Delegation (grants.ts, user-token.ts "on behalf of", identity.ts): what a grant delegate may do for a user, and
// what a delegate that oversteps, forges or replays gets. Real keys and certificates from one CA; calls are judged as
// a server judges them (the verifier, then verifiedCaller on the context the server chain builds).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Code, SwitchyardError } from "@switchyard/core";
import type { WorkloadIdentity } from "./credentials.js";
import { GrantBook, grantCovers, grantDocument, newGrant, parseGrant, type Grant } from "./grants.js";
import { verifiedCaller } from "./identity.js";
import { dataDirIdentity } from "./platform-identity.js";
import { serviceId } from "./spiffe.js";
import type { CallContext } from "./types.js";
import { UserTokenMinter, verifierFor, type EndUser, type UserTokenVerifier, type VerifiedUser } from "./user-token.js";

const TD = "switchyard.local";
const JOBS = serviceId(TD, "jobs");
const SERVING = serviceId(TD, "serving");
const alice: EndUser = { user: "alice", teams: ["vision"], role: "member" };
const code = (c: Code, pattern: RegExp) => (e: unknown) => e instanceof SwitchyardError && e.code === c && pattern.test(e.message);

/** The context a server builds for a verified call (server-chain.ts): the calling service and the verified user. */
function ctxOf(service: string, user: VerifiedUser | undefined, method = "/switchyard.v1.Jobs/SubmitJob"): CallContext {
  return { metadata: {}, signal: new AbortController().signal, deadlineMs: undefined, method, peer: "test", callerService: service, ...(user ? { user } : {}) };
}

const servingGrant = (over: Partial<Grant> = {}): Grant => ({
  ...newGrant({ user: "alice", teams: ["vision"], role: "member", delegate: "serving", team: "vision", label: { key: "serving.switchyard.io/deployment", value: "iris" } }, 1000),
  ...over,
});

describe("delegation grants", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-grants-"));
  let gateway: WorkloadIdentity;
  let serving: WorkloadIdentity;
  let jobs: WorkloadIdentity;
  let experiments: WorkloadIdentity;
  let verifier: UserTokenVerifier;

  before(async () => {
    gateway = dataDirIdentity(dir, "gateway");
    serving = dataDirIdentity(dir, "serving");
    jobs = dataDirIdentity(dir, "jobs");
    experiments = dataDirIdentity(dir, "experiments");
    await Promise.all([gateway.ready, serving.ready, jobs.ready, experiments.ready]);
    verifier = verifierFor(jobs);
  });
  after(() => {
    for (const i of [gateway, serving, jobs, experiments]) i.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("are documents whose name is derived from their content, and anything else is refused", () => {
    const g = servingGrant();
    const doc = grantDocument(g);
    assert.deepEqual(parseGrant(doc.name, doc.content), g);
    assert.equal(newGrant(g, 5).id, g.id, "one grant per user, delegate and scope, whenever recorded");
    assert.throws(() => parseGrant(`${doc.name.slice(0, -1)}0`, doc.content), /not the one its content gives/);
    const widened = JSON.stringify({ ...JSON.parse(doc.content), team: "finance" });
    assert.throws(() => parseGrant(doc.name, widened), /not the one its content gives/, "a grant edited to another team no longer matches its name");
    assert.throws(() => parseGrant(doc.name, JSON.stringify({ ...JSON.parse(doc.content), role: "root" })), /role/);
    assert.throws(() => parseGrant(doc.name, "{"), /not JSON/);
    assert.throws(() => parseGrant(doc.name, "x".repeat(5000)), /more than 4096/);
  });

  it("count as unknown before the first snapshot and while their watch is broken, until a snapshot comes again", () => {
    const book = new GrantBook();
    assert.match(book.unavailable ?? "", /not been read/);
    const g = servingGrant();
    book.replace([{ name: g.id, content: grantDocument(g).content }]);
    assert.equal(book.unavailable, undefined);
    book.setStale("the grants watch to control is broken");
    assert.match(book.unavailable ?? "", /watch .* is broken/, "a revocation could be missed meanwhile: calls under grants wait");
    book.replace([]);
    assert.equal(book.unavailable, undefined, "the reconnected watch's first snapshot is the current state");
    assert.deepEqual(book.forUser("serving", "alice"), [], "and it has the revocation");
  });

  it("cover only jobs of their team that carry their label", () => {
    const g = servingGrant();
    assert.equal(grantCovers([g], "vision", { "serving.switchyard.io/deployment": "iris" }), g);
    assert.equal(grantCovers([g], "vision", { "serving.switchyard.io/deployment": "other" }), undefined);
    assert.equal(grantCovers([g], "finance", { "serving.switchyard.io/deployment": "iris" }), undefined);
    assert.equal(grantCovers([g], "vision", {}), undefined);
  });

  it("let a delegate act for a user who is not calling only under a live grant, as the grant names the user", () => {
    // serving mints its own token for alice, claiming more than she has: the grant's teams and role are what count.
    const token = new UserTokenMinter(serving).token({ user: "alice", teams: ["vision", "finance"], role: "admin" }, JOBS);
    const v = verifier.verify(token, JOBS);
    const book = new GrantBook();
    // As the server chain attaches them (server-chain.ts verifyUser).
    const under = (b: GrantBook): VerifiedUser => ({ ...v, delegation: b.unavailable === undefined ? { grants: b.forUser("serving", "alice") } : { unavailable: b.unavailable } });
    assert.throws(() => verifiedCaller(ctxOf("serving", under(book)), { honoursGrants: true }), code(Code.Unavailable, /not been read/), "before the first snapshot: retry, not refuse");
    book.replace([]);
    assert.throws(() => verifiedCaller(ctxOf("serving", under(book)), { honoursGrants: true }), code(Code.PermissionDenied, /none is live/));
    const g = servingGrant();
    book.replace([{ name: g.id, content: grantDocument(g).content }, { name: "serving-forged", content: grantDocument(g).content }]);
    const c = verifiedCaller(ctxOf("serving", under(book)), { honoursGrants: true });
    assert.equal(c.kind, "user");
    assert.ok(c.kind === "user");
    assert.deepEqual([c.user, c.teams, c.role, c.via, c.grants?.length], ["alice", ["vision"], "member", "serving", 1], "the forged document is skipped; the token's claims are not believed");
    assert.throws(() => verifiedCaller(ctxOf("serving", under(book), "/switchyard.v1.Jobs/CancelJob")), code(Code.PermissionDenied, /only while alice is calling/), "a method that does not check grants refuses calls under them");
    assert.throws(() => verifiedCaller(ctxOf("serving", { ...v, delegation: undefined }), { honoursGrants: true }), code(Code.Unavailable, /does not read grants/));
    // A grant to serving is no grant to experiments, and a token serving minted is not experiments' to use.
    assert.throws(() => verifiedCaller(ctxOf("experiments", under(book)), { honoursGrants: true }), code(Code.Unauthenticated, /not by the experiments/));
    // Revoked: the next call is refused.
    book.replace([]);
    assert.throws(() => verifiedCaller(ctxOf("serving", under(book)), { honoursGrants: true }), code(Code.PermissionDenied, /none is live/));
  });

  it("let a delegate pass on the user it is serving now, with the gateway's token as the proof", () => {
    const fromGateway = new UserTokenMinter(gateway).token(alice, SERVING);
    const received = verifierFor(serving).verify(fromGateway, SERVING);
    const onward = new UserTokenMinter(serving).token({ ...alice, teams: ["vision", "finance"] }, JOBS, undefined, received.token);
    const v = verifier.verify(onward, JOBS);
    assert.equal(v.onBehalfOf, serviceId(TD, "gateway"));
    assert.deepEqual(v.teams, ["vision"], "the user as the gateway vouched, not as the delegate claims");
    const c = verifiedCaller(ctxOf("serving", v, "/switchyard.v1.Jobs/ReadArtifact"), { acceptsOnBehalfOf: true });
    assert.ok(c.kind === "user" && c.grants === undefined && c.user === "alice");
    // Only where the method takes it: the proof is good for minutes, not for everything alice may do.
    assert.throws(() => verifiedCaller(ctxOf("serving", v, "/switchyard.v1.Jobs/CancelJob")), code(Code.PermissionDenied, /does not act for alice here, even while alice is calling/));
  });

  it("refuse a proof replayed from elsewhere, of someone else, nested, or not from the gateway", () => {
    const minter = new UserTokenMinter(serving);
    // The gateway's token for jobs (not for serving) cannot become serving's proof.
    const forJobs = new UserTokenMinter(gateway).token(alice, JOBS);
    assert.throws(() => verifier.verify(minter.token(alice, JOBS, undefined, forJobs), JOBS), code(Code.Unauthenticated, /on-behalf-of user token is not valid: it was minted for .*jobs, not for .*serving/));
    // A proof for bob does not let serving speak for alice.
    const bobs = new UserTokenMinter(gateway).token({ user: "bob", teams: ["vision"], role: "admin" }, SERVING);
    assert.throws(() => verifier.verify(minter.token(alice, JOBS, undefined, bobs), JOBS), code(Code.Unauthenticated, /speaks for alice with a proof for bob/));
    // One level only.
    const inner = new UserTokenMinter(gateway).token(alice, SERVING);
    const middle = new UserTokenMinter(jobs).token(alice, SERVING, undefined, new UserTokenMinter(gateway).token(alice, JOBS));
    assert.throws(() => verifier.verify(minter.token(alice, JOBS, undefined, middle), JOBS), code(Code.Unauthenticated, /another token inside/));
    assert.ok(verifier.verify(minter.token(alice, JOBS, undefined, inner), JOBS).onBehalfOf);
    // A proof minted by another delegate (not the gateway) speaks for nobody.
    const fromExperiments = new UserTokenMinter(experiments).token(alice, SERVING);
    const v = verifier.verify(minter.token(alice, JOBS, undefined, fromExperiments), JOBS);
    assert.throws(() => verifiedCaller(ctxOf("serving", v), { acceptsOnBehalfOf: true }), code(Code.Unauthenticated, /does not speak for users/));
  });
});
