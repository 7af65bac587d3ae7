import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, SwitchyardError } from "@switchyard/core";
import { DEFAULT_USERS_MAPPING, lookupAccount, parseUsersMapping, resolveJobAccount } from "./job-users.js";

describe("users.yaml: which Unix account runs a job", () => {
  it("maps platform users to accounts by name or uid/gid, and the rest to the default", () => {
    const m = parseUsersMapping("default: nobody\nusers:\n  alice: daemon\n  bob: {uid: 5001, gid: 5002}\n");
    assert.deepEqual(resolveJobAccount(m, "alice"), { name: "daemon", uid: 1, gid: 1, home: "/usr/sbin" });
    assert.deepEqual(resolveJobAccount(m, "bob"), { uid: 5001, gid: 5002 });
    assert.equal(resolveJobAccount(m, "carol").uid, 65534);
    assert.equal(resolveJobAccount(DEFAULT_USERS_MAPPING, "").name, "nobody", "without users.yaml: nobody");
  });

  it("never maps a job to root, to a missing account, or (with an empty default) an unmapped user", () => {
    const refused = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => e instanceof SwitchyardError && e.code === Code.FailedPrecondition && re.test(e.message));
    refused(() => resolveJobAccount(parseUsersMapping("users: {mallory: root}\n"), "mallory"), /uid\/gid 0/);
    refused(() => resolveJobAccount(parseUsersMapping("users: {x: no-such-account-here}\n"), "x"), /does not exist/);
    refused(() => resolveJobAccount(parseUsersMapping("default: \"\"\n"), "eve"), /no Unix account runs the jobs of platform user "eve"/);
    assert.equal(lookupAccount("no-such-account-here"), undefined);
  });

  it("refuses a malformed file with the line and column of each problem", () => {
    assert.throws(
      () => parseUsersMapping("default: nobody\nusers:\n  alice: {uid: 0, gid: 0}\ngroups: []\n", "/etc/sy/users.yaml"),
      (e: unknown) => {
        assert.ok(e instanceof SwitchyardError && e.code === Code.InvalidArgument);
        assert.deepEqual(e.details.map((d) => [d.field, d.line]), [["users.alice", 3], ["groups", 4]]);
        assert.match(e.message, /^\/etc\/sy\/users.yaml: 3:/);
        return true;
      },
    );
  });
});
