import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseJobManifest } from "./job-manifest.js";
import { assertWholeSpec, violationsOf, where } from "./test-helpers.js";

const FULL = readFileSync(new URL("./testdata/pytorchjob-full.yaml", import.meta.url), "utf8");

/** The fixture with line `n` (1-based) replaced, so every other line keeps its number. */
function withLine(n: number, line: string, text = FULL): string {
  const lines = text.split("\n");
  assert.ok(lines[n - 1] !== undefined);
  lines[n - 1] = line;
  return lines.join("\n");
}

const pytorchJob = (replicaSpecs: string, extra = "") =>
  `apiVersion: kubeflow.org/v1\nkind: PyTorchJob\nmetadata:\n  name: pj\n${extra}spec:\n  pytorchReplicaSpecs:\n${replicaSpecs}\n`;

const replica = (role: string, container: string, more = "") =>
  `    ${role}:\n${more}      template:\n        spec:\n          containers:\n            - name: pytorch\n${container}`;

describe("Kubeflow PyTorchJob", () => {
  it("reads a realistic Master + 2 Workers job, with one warning for what it ignores", () => {
    const { spec, warnings, source } = parseJobManifest(FULL, { file: "resnet.yaml" });
    assert.equal(source, "kubeflow.org/v1/PyTorchJob");
    assertWholeSpec(spec);
    const resources = { gpus: 2, gpuMilli: 0, cpuMilli: 8000, memoryMb: 65536 };
    const role = { command: ["torchrun"], args: ["--nproc-per-node=2", "train.py", "--epochs", "90"], env: { NCCL_DEBUG: "INFO" }, workingDir: "/workspace", resources };
    assert.deepEqual(spec, {
      name: "resnet-ddp",
      team: "vision",
      labels: { project: "imagenet", "kueue.x-k8s.io/queue-name": "gpu-queue" },
      queue: "gpu-queue",
      priority: 1000,
      replicas: 3,
      ...role,
      restartPolicy: "OnFailure",
      backoffLimit: 4,
      activeDeadlineSeconds: 7200,
      ttlSecondsAfterFinished: 600,
      suspend: false,
      distributed: { framework: "pytorch", nprocPerNode: 2 },
      image: "pytorch/pytorch:2.3.0-cuda12.1-cudnn8-runtime",
      roles: [
        { name: "Master", replicas: 1, ...role },
        { name: "Worker", replicas: 2, ...role },
      ],
    });
    assert.equal(warnings.length, 1);
    const [warning] = warnings;
    for (const path of [
      "metadata.annotations",
      "spec.runPolicy.cleanPodPolicy",
      "spec.pytorchReplicaSpecs.Master.template.spec.nodeSelector",
      "spec.pytorchReplicaSpecs.Master.template.spec.tolerations",
      "spec.pytorchReplicaSpecs.Master.template.spec.volumes",
      "spec.pytorchReplicaSpecs.Master.template.spec.containers[0].imagePullPolicy",
      "spec.pytorchReplicaSpecs.Master.template.spec.containers[0].image,",
      "spec.pytorchReplicaSpecs.Worker.template.spec.volumes",
      "spec.pytorchReplicaSpecs.Worker.template.spec.containers[0].volumeMounts",
    ]) {
      assert.ok(warning?.includes(path), `the warning lists ${path}`);
    }
    assert.ok(!(warning ?? "").includes(".command"), "honoured fields are not listed");
  });

  it("rejects misspelt PodSpec and Container keys with a suggestion and their positions", () => {
    const text = withLine(79, "              imagePulPolicy: IfNotPresent", withLine(30, "          nodeSelecter:"));
    const details = violationsOf(text);
    assert.deepEqual(where(details), [
      "30:11 spec.pytorchReplicaSpecs.Master.template.spec.nodeSelecter",
      "79:15 spec.pytorchReplicaSpecs.Worker.template.spec.containers[0].imagePulPolicy",
    ]);
    assert.deepEqual(details.map((d) => d.hint), ["did you mean `nodeSelector`?", "did you mean `imagePullPolicy`?"]);
  });

  it("rejects a pytorch container without a command, saying this engine runs processes", () => {
    const details = violationsOf(withLine(44, "              # command: [torchrun]"));
    assert.deepEqual(where(details), ["41:15 spec.pytorchReplicaSpecs.Master.template.spec.containers[0].command"]);
    assert.equal(details[0]?.message, "this engine runs processes, not images: add `command` (the image's entrypoint) to container pytorch");
    assert.match(details[0]?.hint ?? "", /command: \["python"/);
    assert.deepEqual(where(violationsOf(withLine(44, "              command: []"))), ["44:24 spec.pytorchReplicaSpecs.Master.template.spec.containers[0].command"]);
  });

  it("rejects a replica without a container named pytorch, suggesting the rename", () => {
    const details = violationsOf(withLine(77, "            - name: trainer"));
    assert.deepEqual(where(details), ["76:11 spec.pytorchReplicaSpecs.Worker.template.spec.containers"]);
    assert.match(details[0]?.hint ?? "", /rename container `trainer` to `pytorch`/);
  });

  it("accepts every kind of PodSpec and Container field", () => {
    const container = [
      "              command: [python, train.py]",
      "              envFrom: [{configMapRef: {name: cfg}, prefix: CFG_}]",
      "              livenessProbe: {httpGet: {path: /healthz, port: 8080}, initialDelaySeconds: 5, periodSeconds: 10}",
      "              readinessProbe: {exec: {command: [cat, /tmp/ready]}}",
      "              startupProbe: {tcpSocket: {port: http}, failureThreshold: 30}",
      "              lifecycle: {preStop: {exec: {command: [sleep, '5']}}, postStart: {sleep: {seconds: 1}}}",
      "              securityContext: {runAsUser: 1000, capabilities: {drop: [ALL]}, seccompProfile: {type: RuntimeDefault}}",
      "              terminationMessagePolicy: FallbackToLogsOnError",
      "              stdin: false",
      "              tty: false",
      "              resizePolicy: [{resourceName: cpu, restartPolicy: NotRequired}]",
      "              volumeDevices: [{name: raw, devicePath: /dev/xvda}]",
      "            - name: sidecar",
      "              image: busybox",
    ].join("\n");
    const pod = [
      "          serviceAccountName: trainer",
      "          imagePullSecrets: [{name: regcred}]",
      "          securityContext: {fsGroup: 2000, sysctls: [{name: net.core.somaxconn, value: '1024'}]}",
      "          affinity:",
      "            nodeAffinity:",
      "              requiredDuringSchedulingIgnoredDuringExecution:",
      "                nodeSelectorTerms: [{matchExpressions: [{key: gpu, operator: In, values: [a100]}]}]",
      "            podAntiAffinity:",
      "              preferredDuringSchedulingIgnoredDuringExecution:",
      "                - weight: 100",
      "                  podAffinityTerm: {topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {app: x}}}",
      "          topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: ScheduleAnyway}]",
      "          initContainers: [{name: fetch, image: busybox, command: [wget, x]}]",
      "          hostAliases: [{ip: 10.0.0.1, hostnames: [data]}]",
      "          dnsPolicy: ClusterFirst",
      "          priorityClassName: high",
      "          terminationGracePeriodSeconds: 30",
      "          volumes:",
      "            - {name: data, persistentVolumeClaim: {claimName: imagenet}}",
      "            - {name: cfg, configMap: {name: cfg, items: [{key: a, path: a.yaml}]}}",
      "            - {name: ssh, secret: {secretName: ssh, defaultMode: 256}}",
      "            - {name: scratch, ephemeral: {volumeClaimTemplate: {spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}}}}",
      "            - {name: bucket, csi: {driver: gcsfuse.csi.storage.gke.io, volumeAttributes: {bucketName: b}}}",
      "            - {name: legacy, awsElasticBlockStore: {volumeID: vol-1}}",
    ].join("\n");
    const text = `apiVersion: kubeflow.org/v1\nkind: PyTorchJob\nmetadata:\n  name: pj\nspec:\n  pytorchReplicaSpecs:\n    Master:\n      template:\n        spec:\n${pod}\n          containers:\n            - name: pytorch\n${container}\n`;
    const { spec, warnings } = parseJobManifest(text);
    assert.deepEqual(spec.command, ["python", "train.py"]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? "", /containers\[1\]/);
    assert.match(warnings[0] ?? "", /initContainers/);
  });

  it("rejects a misspelt key deep inside affinity", () => {
    const text = pytorchJob(replica("Master", "              command: [x]\n"), "").replace(
      "          containers:",
      "          affinity: {nodeAffinity: {requiredDuringScheduling: {}}}\n          containers:",
    );
    const [d] = violationsOf(text);
    assert.equal(d?.field, "spec.pytorchReplicaSpecs.Master.template.spec.affinity.nodeAffinity.requiredDuringScheduling");
    assert.match(d?.hint ?? "", /did you mean `requiredDuringSchedulingIgnoredDuringExecution`\?/);
  });

  it("defaults to OnFailure with 3 retries and treats Always as OnFailure with a warning", () => {
    const plain = parseJobManifest(pytorchJob(replica("Master", "              command: [x]\n")));
    assert.deepEqual([plain.spec.restartPolicy, plain.spec.backoffLimit, plain.spec.replicas, plain.spec.roles], ["OnFailure", 3, 1, undefined]);
    assert.deepEqual(plain.spec.distributed, { framework: "pytorch", nprocPerNode: 1 });
    const always = parseJobManifest(pytorchJob(replica("Master", "              command: [x]\n", "      restartPolicy: Always\n")));
    assert.equal(always.spec.restartPolicy, "OnFailure");
    assert.match(always.warnings[0] ?? "", /^8:22: spec\.pytorchReplicaSpecs\.Master\.restartPolicy: Always is treated as OnFailure/);
  });

  it("runs a Worker-only job as identical replicas", () => {
    const { spec } = parseJobManifest(pytorchJob(replica("Worker", "              command: [x]\n", "      replicas: 4\n")));
    assert.deepEqual([spec.replicas, spec.roles], [4, undefined]);
  });

  it("refuses more than one Master", () => {
    const [d] = violationsOf(pytorchJob(replica("Master", "              command: [x]\n", "      replicas: 2\n")));
    assert.deepEqual([d?.field, d?.line, d?.column, d?.message], ["spec.pytorchReplicaSpecs.Master.replicas", 8, 17, "a PyTorchJob has exactly one Master"]);
  });

  it("warns about env valueFrom it cannot resolve and unmanaged resources, and uses requests when there are no limits", () => {
    const container = [
      "              command: [x]",
      "              env:",
      "                - {name: TOKEN, valueFrom: {configMapKeyRef: {name: s, key: t}}}",
      "                - {name: A, value: b}",
      "              resources:",
      "                limits: {ephemeral-storage: 10Gi, memory: 2Gi}",
      "                requests: {cpu: 250m, nvidia.com/gpu: 1}",
    ].join("\n");
    const { spec, warnings } = parseJobManifest(pytorchJob(replica("Master", `${container}\n`)));
    assert.deepEqual(spec.env, { A: "b" });
    assert.deepEqual(spec.resources, { gpus: 1, gpuMilli: 0, cpuMilli: 250, memoryMb: 2048 });
    assert.equal(warnings.length, 2);
    assert.match(warnings[0] ?? "", /env TOKEN uses valueFrom\.configMapKeyRef, which this engine cannot resolve/);
    assert.match(warnings[1] ?? "", /resource ephemeral-storage is not managed/);
  });

  it("schedules cpu and memory each by its request, else its limit, else asks for none (Kubernetes' meaning)", () => {
    const resources = (block: string) => parseJobManifest(pytorchJob(replica("Master", `              command: [x]\n${block}`))).spec.resources;
    const none = { gpus: 0, gpuMilli: 0, cpuMilli: 0, memoryMb: 0 };
    assert.deepEqual(resources("              resources: {limits: {cpu: 4, memory: 8Gi}, requests: {cpu: 500m, memory: 2Gi}}\n"), { ...none, cpuMilli: 500, memoryMb: 2048 }, "requests win over limits");
    assert.deepEqual(resources('              resources: {limits: {cpu: "2"}}\n'), { ...none, cpuMilli: 2000 }, "a limit alone stands in for the request; no memory declared is none");
    assert.deepEqual(resources("              resources: {limits: {cpu: 3}, requests: {memory: 1Gi}}\n"), { ...none, cpuMilli: 3000, memoryMb: 1024 }, "each resource on its own");
    assert.deepEqual(resources("              resources: {requests: {nvidia.com/gpu: 1}}\n"), { ...none, gpus: 1 }, "GPUs when asked, and nothing else made up");
    assert.deepEqual(resources("              resources: {}\n"), none);
    assert.deepEqual(resources(""), none, "no resources at all: BestEffort");
  });

  it("reads the upstream sendrecv example's shape (Master + 3 Workers, no resources) as replicas that request nothing", () => {
    const container = (role: string) => `    ${role}:\n      replicas: ${role === "Master" ? 1 : 3}\n      restartPolicy: OnFailure\n      template:\n        spec:\n          containers:\n            - name: pytorch\n              image: kubeflow/pytorch-dist-sendrecv-test:1.0\n              command: [python, /var/dist_sendrecv.py]\n`;
    const { spec } = parseJobManifest(pytorchJob(`${container("Master")}${container("Worker")}`));
    const none = { gpus: 0, gpuMilli: 0, cpuMilli: 0, memoryMb: 0 };
    assertWholeSpec(spec);
    assert.equal(spec.replicas, 4);
    assert.deepEqual(spec.resources, none);
    assert.deepEqual(spec.roles?.map((r) => [r.name, r.replicas, r.resources]), [["Master", 1, none], ["Worker", 3, none]]);
  });

  it("checks each request and limit at its own line, and refuses a request above its limit as Kubernetes does", () => {
    const bad = violationsOf(withLine(89, "                  cpu: -1", withLine(56, '                  cpu: "lots"')));
    assert.deepEqual(where(bad), [
      "56:24 spec.pytorchReplicaSpecs.Master.template.spec.containers[0].resources.limits.cpu",
      "89:24 spec.pytorchReplicaSpecs.Worker.template.spec.containers[0].resources.requests.cpu",
    ]);
    assert.deepEqual(bad.map((d) => d.message), ["is not a quantity", "is negative"]);
    // Limits and requests side by side; every line below keeps its number.
    const both = (limits: string, requests: string) =>
      withLine(57, "                # (cpu and memory above)", withLine(56, "                # (limits and requests)", withLine(55, `                requests: ${requests}`, withLine(54, `                limits: ${limits}`))));
    const above = violationsOf(both('{nvidia.com/gpu: 2, cpu: "8", memory: 64Gi}', '{cpu: "12", memory: 64Gi}'));
    assert.deepEqual(where(above), ["55:33 spec.pytorchReplicaSpecs.Master.template.spec.containers[0].resources.requests.cpu"]);
    assert.match(above[0]?.message ?? "", /CPU request is above its limit \("8"\)/);
    assert.equal(above[0]?.got, '"12"');
    // A bad request is reported where a limit is given too (it is what the replica would be scheduled by).
    assert.deepEqual(where(violationsOf(both("{cpu: 2, memory: 4Gi}", "{memory: 4Gj}"))), ["55:36 spec.pytorchReplicaSpecs.Master.template.spec.containers[0].resources.requests.memory"]);
    assert.deepEqual(parseJobManifest(both("{cpu: 2, memory: 4Gi}", "{cpu: 1500m, memory: 4Gi}")).spec.roles?.[0]?.resources, { gpus: 0, gpuMilli: 0, cpuMilli: 1500, memoryMb: 4096 });
  });

  it("maps priority classes, schedulingPolicy.queue and elastic nProcPerNode", () => {
    const run = (priorityClass: string) =>
      parseJobManifest(
        pytorchJob(replica("Master", "              command: [x]\n              resources: {limits: {nvidia.com/gpu: 4}}\n"), "")
          .replace("spec:\n", `spec:\n  runPolicy: {schedulingPolicy: {queue: research, priorityClass: "${priorityClass}"}}\n  elasticPolicy: {nProcPerNode: 3}\n`),
      );
    assert.deepEqual([run("high").spec.priority, run("low").spec.priority, run("250").spec.priority], [1000, -100, 250]);
    const unknown = run("gold");
    assert.equal(unknown.spec.priority, 0);
    assert.ok(unknown.warnings.some((w) => w.includes('priority class "gold" is not known')));
    assert.equal(unknown.spec.queue, "research");
    assert.deepEqual(unknown.spec.distributed, { framework: "pytorch", nprocPerNode: 3 });
  });

  it("resolves nprocPerNode auto to the GPUs of a replica", () => {
    const text = pytorchJob(replica("Master", "              command: [x]\n              resources: {limits: {nvidia.com/gpu: 4}}\n")).replace("spec:\n", "spec:\n  nprocPerNode: auto\n");
    assert.deepEqual(parseJobManifest(text).spec.distributed, { framework: "pytorch", nprocPerNode: 4 });
  });
});
