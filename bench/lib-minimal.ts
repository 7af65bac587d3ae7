// The baseline of bench/jobs.ts's submission rate: the least a server can do for a submission with the same
// durability — a node:http server that parses the JSON body and inserts one row into SQLite (WAL, synchronous=NORMAL,
// the platform's settings), idempotent by request id, and answers after the commit. Run as its own process:
// `node --import tsx bench/lib-minimal.ts DBFILE` prints its port on stdout.
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import Database from "better-sqlite3";

const db = new Database(process.argv[2]!);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");
db.exec("create table if not exists jobs (uid text primary key, name text not null, manifest text not null, request_id text unique, created_at integer not null)");
const insert = db.prepare("insert into jobs (uid, name, manifest, request_id, created_at) values (?, ?, ?, ?, ?) on conflict(request_id) do nothing");

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { manifest: string; requestId: string };
      const name = (JSON.parse(body.manifest) as { metadata: { name: string } }).metadata.name;
      const uid = randomUUID();
      insert.run(uid, name, body.manifest, body.requestId, Date.now());
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ job: { metadata: { name, uid } } }));
    } catch (err) {
      res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ message: String(err) }));
    }
  });
});
server.listen(0, "127.0.0.1", () => {
  const a = server.address();
  process.stdout.write(`${typeof a === "object" && a ? a.port : 0}\n`);
});
