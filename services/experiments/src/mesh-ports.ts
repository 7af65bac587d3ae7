/**
 * The ports (ports.ts) on the mesh: the jobs service through a governed client (mutual TLS; a trial is submitted as
 * the experiment's owner, whose user token the jobs service accepts from this service only under the owner's grant),
 * everything else — reading trials' state, metrics and output, cancelling — as this service itself.
 */
import type { Jobs } from "@switchyard/api";
import { Code, SwitchyardError } from "@switchyard/core";
import type { MeshClient } from "@switchyard/mesh";
import type { JobSeries, JobsPort, TrialJob } from "./ports.js";

const isNotFound = (err: unknown) => err instanceof SwitchyardError && err.code === Code.NotFound;

export function jobsPort(client: MeshClient<typeof Jobs>): JobsPort {
  const toJob = (j: { metadata?: { uid: string; name: string }; status?: { phase: string; message: string } }): TrialJob => ({
    uid: j.metadata?.uid ?? "",
    name: j.metadata?.name ?? "",
    phase: j.status?.phase ?? "",
    message: j.status?.message ?? "",
  });
  return {
    async submit(manifest, requestId, owner, baseDir) {
      const r = await client.submitJob({ manifest, requestId, fileName: "trial.yaml", baseDir }, { user: owner, timeoutMs: 30_000 });
      return toJob(r.job!);
    },
    async get(uid, team) {
      try {
        return toJob(await client.getJob({ name: uid, team }, { timeoutMs: 5000 }));
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async cancel(uid, team) {
      try {
        await client.cancelJob({ name: uid, team }, { timeoutMs: 10_000 });
      } catch (err) {
        if (!isNotFound(err) && !(err instanceof SwitchyardError && err.code === Code.FailedPrecondition)) throw err;
      }
    },
    async remove(uid, team) {
      try {
        await client.deleteJob({ name: uid, team, purge: true }, { timeoutMs: 10_000 });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },
    async metrics(uid, team, names): Promise<JobSeries[]> {
      const r = await client.getMetrics({ name: uid, team, names: [...names], maxPoints: 10_000 }, { timeoutMs: 10_000 });
      return r.series.map((s) => ({ name: s.name, points: s.points.map((p) => ({ step: Number(p.stepTo || p.step), value: p.value })), latest: s.latest, min: s.min, max: s.max }));
    },
    async logs(uid, team, maxBytes) {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of client.getLogs({ name: uid, team }, { timeoutMs: 30_000 })) {
        chunks.push(Buffer.from(c.data));
        size += c.data.byteLength;
        // Keep the end: the last lines hold the last reports.
        while (size > maxBytes && chunks.length > 1) size -= chunks.shift()!.byteLength;
      }
      const all = Buffer.concat(chunks);
      return all.subarray(Math.max(0, all.length - maxBytes)).toString("utf8");
    },
    async artifact(uid, team, path, maxBytes) {
      const chunks: Buffer[] = [];
      let size = 0;
      try {
        for await (const c of client.readArtifact({ name: uid, team, path }, { timeoutMs: 30_000 })) {
          size += c.data.byteLength;
          if (size > maxBytes) throw new SwitchyardError(Code.ResourceExhausted, `the metrics file ${path} is larger than ${maxBytes} bytes`);
          chunks.push(Buffer.from(c.data));
        }
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
      return Buffer.concat(chunks).toString("utf8");
    },
  };
}
