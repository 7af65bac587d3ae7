// A well-behaved caller in a process of its own (so a benchmark's load generator does not delay it on a shared event
// loop): `node --import tsx bench/lib-caller.ts URL TOKEN MS` calls ListJobs (Connect) and GET /v1/jobs (REST) one after
// another every 20 ms for MS milliseconds, then prints {latencies (ms, sorted), errors} as one JSON line.
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Jobs } from "@switchyard/api";

const [url, token, ms] = process.argv.slice(2) as [string, string, string];
const jobs = createClient(Jobs, createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${token}`), next(req))] }));
const until = Date.now() + Number(ms);
const latencies: number[] = [];
let errors = 0;
while (Date.now() < until) {
  const t0 = performance.now();
  try {
    await jobs.listJobs({ limit: 20 });
    await fetch(`${url}/v1/jobs?limit=5`, { headers: { authorization: `Bearer ${token}` } }).then((r) => (r.ok ? r.text() : Promise.reject(new Error(String(r.status)))));
    latencies.push(performance.now() - t0);
  } catch {
    errors++;
  }
  await new Promise((r) => setTimeout(r, 20));
}
process.stdout.write(JSON.stringify({ latencies: latencies.sort((a, b) => a - b), errors }) + "\n");
