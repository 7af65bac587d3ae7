// The hostile mix of bench/hostile.ts, in a process of its own (run at nice 10, as the platform runs its jobs, so the
// load generator's own CPU does not count as the platform's slowness on a 2-core machine):
// `node --import tsx bench/lib-attacker.ts URL VIEWER_TOKEN MS PARTS` prints {bombsSent, uploadsSent, closedByServer}.
import { connect } from "node:net";

const ATTACKER = "127.0.0.2";

async function bombs(url: string, token: string, untilMs: number): Promise<number> {
  let sent = 0;
  const bodies = [
    "[".repeat(2000),
    '{"a":'.repeat(3000),
    ["a: &a [x, x, x, x, x, x, x, x, x, x]", ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(", ")}]`)].join("\n"),
    `apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: big}\nspec:\n  command: [sh]\n  env:\n${Array.from({ length: 20_000 }, (_, i) => `    V${i}: "${"x".repeat(30)}"`).join("\n")}\n`,
  ];
  while (Date.now() < untilMs) {
    await Promise.all(
      bodies.map((manifest) => fetch(`${url}/v1/jobs:validate`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ manifest }) }).then((r) => r.text(), () => "")),
    );
    sent += bodies.length;
  }
  return sent;
}

/** Streams `mb` MB of junk without a token; returns when the server answers or closes. */
function upload(url: string, path: string, contentType: string, mb: number): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const s = connect({ host: hostname, port: Number(port), localAddress: ATTACKER });
    const chunk = Buffer.alloc(64 * 1024, 120);
    let sent = 0;
    const pump = () => {
      while (sent < mb * 1024 * 1024) {
        sent += chunk.length;
        if (!s.write(chunk)) return void s.once("drain", pump);
      }
    };
    s.once("connect", () => {
      s.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: ${contentType}\r\nContent-Length: ${mb * 1024 * 1024}\r\n\r\n`);
      pump();
    });
    s.once("data", () => s.destroy());
    s.once("close", () => resolve());
    s.once("error", () => resolve());
  });
}

async function uploads(url: string, untilMs: number): Promise<number> {
  let n = 0;
  while (Date.now() < untilMs) {
    await Promise.all([
      upload(url, "/v1/jobs", "application/json", 200),
      upload(url, "/switchyard.v1.Jobs/SubmitJob", "application/json", 200),
      upload(url, "/switchyard.v1.Jobs/SubmitJob", "application/proto", 200),
      upload(url, "/switchyard.v1.Jobs/ValidateJob", "application/json", 200),
    ]);
    n += 4;
  }
  return n;
}

/** Idle sockets, trickling headers and HTTP/2 prefaces that never finish: held as long as the server lets them be. */
function connections(url: string, each: number, untilMs: number): Promise<{ closedByServer: number }> {
  const { hostname, port } = new URL(url);
  let closedByServer = 0;
  const all: Promise<void>[] = [];
  for (let i = 0; i < each; i++) {
    for (const kind of ["idle", "slowloris", "h2"] as const) {
      all.push(
        new Promise((resolve) => {
          const s = connect({ host: hostname, port: Number(port), localAddress: ATTACKER });
          let timer: NodeJS.Timeout | undefined;
          const done = () => {
            if (timer) clearInterval(timer);
            resolve();
          };
          s.once("connect", () => {
            if (kind === "slowloris") {
              s.write("GET /v1/jobs HTTP/1.1\r\nHost: x\r\n");
              timer = setInterval(() => s.write("X-a: b\r\n"), 1000);
            } else if (kind === "h2") s.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
          });
          s.once("close", () => {
            if (Date.now() < untilMs) closedByServer++;
            done();
          });
          s.once("error", () => undefined);
          setTimeout(() => s.destroy(), Math.max(0, untilMs - Date.now()));
        }),
      );
    }
  }
  return Promise.all(all).then(() => ({ closedByServer }));
}


const [url, token, ms, parts] = process.argv.slice(2) as [string, string, string, string];
const PARTS = new Set(parts.split(","));
const until = Date.now() + Number(ms);
const [bombsSent, uploadsSent, conns] = await Promise.all([
  PARTS.has("bombs") ? bombs(url, token, until) : 0,
  PARTS.has("uploads") ? uploads(url, until) : 0,
  PARTS.has("connections") ? connections(url, 150, until) : { closedByServer: 0 },
]);
process.stdout.write(JSON.stringify({ bombsSent, uploadsSent, closedByServer: conns.closedByServer }) + "\n");
