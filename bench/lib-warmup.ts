// Calls every method of every service behind the gateway (Jobs, Queues, Secrets, Auth, Platform, ConfigCenter) with
// real arguments, over Connect and REST, so the memory measured afterwards is that of a platform whose every code path
// (its manifest worker, log and artifact streams, metrics store, config watch…) has run at least once.
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Auth, ConfigCenter, Jobs, Platform, Queues, Secrets } from "@switchyard/api";
import type { DescService } from "@bufbuild/protobuf";

const JOB = `apiVersion: switchyard/v1
kind: Job
metadata: {name: warmup}
spec:
  command: [/bin/sh, -c, 'echo loss=0.5; echo accuracy=0.9; mkdir -p "$SWITCHYARD_OUTPUT_DIR"; echo w > "$SWITCHYARD_OUTPUT_DIR/model.txt"']
  resources: {cpu: 10m}
`;

/** Every method that was called, by `Service.Method`; the caller checks it covers each service's whole descriptor. */
export async function warmUpEveryMethod(url: string, token: string): Promise<string[]> {
  const transport = createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${token}`), next(req))] });
  const called: string[] = [];
  const client = <S extends DescService>(s: S): Client<S> => createClient(s, transport);
  const step = async (name: string, f: () => Promise<unknown>) => {
    called.push(name);
    await f();
  };
  const drain = async (it: AsyncIterable<unknown>) => {
    for await (const _ of it);
  };

  const jobs = client(Jobs);
  await step("Jobs.ValidateJob", () => jobs.validateJob({ manifest: JOB }));
  const submitted = await jobs.submitJob({ manifest: JOB, generateName: true });
  called.push("Jobs.SubmitJob");
  const name = submitted.job!.metadata!.name;
  await step("Jobs.GetLogs", () => drain(jobs.getLogs({ name, follow: true })));
  await step("Jobs.GetJob", () => jobs.getJob({ name }));
  await step("Jobs.ListJobs", () => jobs.listJobs({ limit: 100 }));
  await step("Jobs.DescribeJob", () => jobs.describeJob({ name }));
  await step("Jobs.GetMetrics", () => jobs.getMetrics({ name }));
  await step("Jobs.ListArtifacts", () => jobs.listArtifacts({ name }));
  await step("Jobs.ReadArtifact", () => drain(jobs.readArtifact({ name, path: "model.txt" })));
  await step("Jobs.ListGpus", () => jobs.listGpus({}));
  await step("Jobs.CollectGarbage", () => jobs.collectGarbage({ dryRun: true }));
  let again = "";
  await step("Jobs.RerunJob", async () => {
    again = (await jobs.rerunJob({ name, generateName: true })).job!.metadata!.name;
  });
  // The rerun may have finished already: a finished job's cancel is refused (FailedPrecondition), which is fine here.
  await step("Jobs.CancelJob", () =>
    jobs.cancelJob({ name: again }).catch((e: unknown) => {
      if (ConnectError.from(e).code !== Code.FailedPrecondition) throw e;
    }),
  );

  const queues = client(Queues);
  const current = await queues.listQueues({});
  called.push("Queues.ListQueues");
  await step("Queues.GetUsage", () => queues.getUsage({}));
  // The queues that are there, applied again: the parser, validation and the store run, and quotas stay as they were.
  const yaml = current.queues.length === 0 ? "queues: []\n" : `queues:\n${current.queues.map((q) => `  - name: ${q.name}\n    team: ${q.team}\n    resources: {${q.resources.map((r) => `${r.name}: {nominalQuota: ${r.nominalQuota}}`).join(", ")}}\n`).join("")}`;
  await step("Queues.ApplyQueues", () => queues.applyQueues({ yaml }));

  const secrets = client(Secrets);
  await step("Secrets.CreateSecret", () => secrets.createSecret({ name: "warmup", values: { k: "v" } }));
  await step("Secrets.ListSecrets", () => secrets.listSecrets({}));
  await step("Secrets.DeleteSecret", () => secrets.deleteSecret({ name: "warmup" }));

  const auth = client(Auth);
  const created = await auth.createToken({ user: "warmup", teams: ["default"], role: "member", ttlSeconds: 60n });
  called.push("Auth.CreateToken");
  await step("Auth.ListTokens", () => auth.listTokens({ user: "warmup" }));
  await step("Auth.ListUsers", () => auth.listUsers({}));
  await step("Auth.RevokeToken", () => auth.revokeToken({ token: created.token }));
  await auth.createToken({ user: "warmup", teams: ["warmup-extra"], ttlSeconds: 60n });
  await step("Auth.RemoveMembership", () => auth.removeMembership({ user: "warmup", team: "warmup-extra" }));
  await step("Auth.DeleteUser", () => auth.deleteUser({ user: "warmup" }));

  const platform = client(Platform);
  await step("Platform.WhoAmI", () => platform.whoAmI({}));
  await step("Platform.GetStatus", () => platform.getStatus({}));
  await step("Platform.ListAuditEvents", () => platform.listAuditEvents({ since: "1h" }));

  const config = client(ConfigCenter);
  const watch = new AbortController();
  const watching = drain(config.watchDocuments({ namespace: "warmup" }, { signal: watch.signal })).catch(() => undefined);
  called.push("ConfigCenter.WatchDocuments");
  await step("ConfigCenter.PutDocuments", () => config.putDocuments({ documents: [{ namespace: "warmup", kind: "Note", name: "n", content: "a: 1\n" }] }));
  await step("ConfigCenter.ListDocuments", () => config.listDocuments({ namespace: "warmup" }));
  await step("ConfigCenter.DeleteDocument", () => config.deleteDocument({ namespace: "warmup", kind: "Note", name: "n" }));
  watch.abort();
  await watching;

  // REST, through the transcoder, for the same reads.
  const headers = { authorization: `Bearer ${token}` };
  for (const path of ["/v1/jobs?limit=10", `/v1/jobs/${name}`, `/v1/jobs/${name}/logs?alt=media`, "/v1/queues"]) {
    const r = await fetch(url + path, { headers });
    await r.arrayBuffer();
    if (!r.ok) throw new Error(`warm-up: GET ${path} answered ${r.status}`);
  }

  // Last: the warm-up job's end of life.
  await step("Jobs.DeleteJob", () => jobs.deleteJob({ name }));

  const missing = [Jobs, Queues, Secrets, Auth, Platform, ConfigCenter].flatMap((s) => s.methods.map((m) => `${s.name}.${m.name}`)).filter((m) => !called.includes(m));
  if (missing.length) throw new Error(`warm-up did not call ${missing.join(", ")}`);
  return called;
}
