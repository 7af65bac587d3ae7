import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, SwitchyardError } from "@switchyard/core";
import { parsePostgresLocation, postgresUrlWithDatabase, redactPostgresUrl } from "./postgres-url.js";
import { storeOptionsFor } from "./store-url.js";

const invalid = (re: RegExp) => (e: unknown) => e instanceof SwitchyardError && e.code === Code.InvalidArgument && re.test(e.message);

describe("choosing a service's store by SWITCHYARD_DB / --db", () => {
  it("keeps the service's own SQLite file when nothing, or sqlite, is asked for", () => {
    for (const db of [undefined, "", "  ", "sqlite"]) assert.deepEqual(storeOptionsFor(db, "jobs", "/data/jobs/jobs.db"), { driver: "sqlite", location: "/data/jobs/jobs.db", schema: "jobs" });
  });

  it("takes another SQLite file by an absolute sqlite:/// URL, and refuses a relative one", () => {
    assert.deepEqual(storeOptionsFor("sqlite:///srv/db/jobs%20x.db", "jobs", "/d"), { driver: "sqlite", location: "/srv/db/jobs x.db", schema: "jobs" });
    assert.throws(() => storeOptionsFor("sqlite://jobs.db", "jobs", "/d"), invalid(/SWITCHYARD_DB \/ --db "sqlite:\/\/jobs.db": a sqlite:\/\/ URL names an absolute file path/));
  });

  it("puts each service in its own schema of a postgres database, whichever scheme spelling", () => {
    for (const url of ["postgres://u:p@db.example:5433/switchyard?pool=4", "postgresql://u@/switchyard?host=/run/pg"]) {
      assert.deepEqual(storeOptionsFor(url, "serving", "/d"), { driver: "postgres", location: url, schema: "serving" });
    }
  });

  it("refuses anything else naming the setting and the accepted forms, never showing a password", () => {
    assert.throws(() => storeOptionsFor("mysql://u:p@h/db", "jobs", "/d"), invalid(/SWITCHYARD_DB \/ --db "mysql:\/\/u:\*\*\*@h\/db": is neither sqlite nor .* Accepted: unset or "sqlite".*sqlite:\/\/\/ABSOLUTE\/PATH.db.*postgres:\/\/USER:PASSWORD@HOST:PORT\/DATABASE/));
    assert.throws(() => storeOptionsFor("postgres://u:hunter2@h/db?pool=0", "jobs", "/d"), (e: unknown) => {
      assert.ok(invalid(/pool=0 is not a number of connections from 1 to 100/)(e));
      assert.ok(!(e as Error).message.includes("hunter2"), (e as Error).message);
      return true;
    });
    assert.throws(() => storeOptionsFor("postgres://u:hunter2@h:port/db", "jobs", "/d"), (e: unknown) => invalid(/host "h:port" is not HOST or HOST:PORT/)(e) && !(e as Error).message.includes("hunter2"));
  });
});

describe("postgres:// locations", () => {
  it("takes Switchyard's pool parameter out and keeps every other as written", () => {
    const where = parsePostgresLocation("postgres://ann:s%40cret@db:5432/sy?sslmode=require&pool=3&application_name=x");
    assert.equal(where.poolSize, 3);
    assert.equal(where.connectionString, "postgres://ann:s%40cret@db:5432/sy?sslmode=require&application_name=x");
    assert.equal(where.libpqUrl, "postgres://ann@db:5432/sy?sslmode=require&application_name=x", "libpq gets no password on its command line");
    assert.equal(where.password, "s@cret");
    assert.equal(where.redacted, "postgres://ann:***@db:5432/sy?sslmode=require&pool=3&application_name=x");
  });

  it("reads a unix socket directory from ?host= and defaults to one connection", () => {
    const where = parsePostgresLocation("postgres://postgres@/switchyard?host=/tmp/pg/sock");
    assert.deepEqual([where.poolSize, where.connectionString, where.password], [1, "postgres://postgres@/switchyard?host=/tmp/pg/sock", undefined]);
  });

  it("hides a password with a stray @ or / in it, rather than reading it as the host", () => {
    assert.equal(redactPostgresUrl("postgres://u:p@ss@h/db"), "postgres://u:***@h/db");
    assert.equal(parsePostgresLocation("postgres://u:p@ss@h/db").password, "p@ss");
    assert.throws(() => parsePostgresLocation("postgres://u:pa/ss@h/db"), (e: unknown) => invalid(/the password has a '\/' in it: percent-encode it/)(e) && !(e as Error).message.includes("pa/ss"));
    assert.equal(redactPostgresUrl("user:pw@host/db"), "(a location that is not a URL)");
    assert.throws(() => storeOptionsFor("jobs.db", "jobs", "/d"), invalid(/--db "jobs.db": is neither sqlite/));
  });

  it("names another database on the same server, keeping credentials and parameters", () => {
    assert.equal(postgresUrlWithDatabase("postgres://u:p%40@/switchyard?host=/tmp/pg/sock&pool=2", "other"), "postgres://u:p%40@/other?host=/tmp/pg/sock&pool=2");
    assert.equal(postgresUrlWithDatabase("postgresql://h:5432", "x"), "postgresql://h:5432/x");
  });

  it("hides a password given as a parameter too", () => {
    assert.equal(redactPostgresUrl("postgres://u@h/db?password=hunter2&x=1"), "postgres://u@h/db?password=***&x=1");
    const where = parsePostgresLocation("postgres://u@h/db?password=hunter2");
    assert.deepEqual([where.password, where.libpqUrl], ["hunter2", "postgres://u@h/db"]);
  });

  it("refuses what is not a postgres URL, saying what is wrong", () => {
    assert.throws(() => parsePostgresLocation("http://h/db"), invalid(/does not start with postgres:\/\/ or postgresql:\/\//));
    assert.throws(() => parsePostgresLocation("postgres://h/a/b"), invalid(/the database "a\/b" has a '\/' in it/));
    assert.throws(() => parsePostgresLocation("postgres://u:p@h/db%zz"), invalid(/% that is not a %XX escape/));
  });
});
