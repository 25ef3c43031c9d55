// The Kubernetes engine without a cluster: the Indexed Job manifest (validated against batch/v1 by
// kubernetes-models, a devDependency, read back from job.yaml), bad settings, and a missing kubectl.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Job } from "kubernetes-models/batch/v1/Job";
import YAML from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { TfewError } from "../errors.js";
import { jobManifest, podSweepDir, writeKubernetesJob } from "./kubernetes.js";
import { loadSweepFile, type KubernetesSettings } from "./schema.js";
import { prepareSweepDir } from "./sweep-dir.js";

const work = mkdtempSync(join(tmpdir(), "tfew-k8s-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const K8S =
  'kubernetes: {image: "tfew:cuda12", namespace: research, gpus: 1, cpu: "8", memory: 32Gi, runs_volume_claim: tfew-runs, hf_volume_claim: hf-cache}';

async function prepared(name: string, k8sLine = K8S) {
  const file = join(work, `${name}.yaml`);
  writeFileSync(
    file,
    [
      "grid:",
      "  data.path: [raft:ade_corpus_v2, raft:overruling]",
      "  seed: [1, 2, 3, 4, 5]",
      "engine: kubernetes",
      k8sLine,
      "max_parallel: 3",
    ].join("\n"),
  );
  const loaded = loadSweepFile(file);
  const { plan } = await prepareSweepDir(join(work, name), loaded, { cwd: work });
  return { dir: join(work, name), plan, k8s: loaded.sweep.kubernetes };
}

describe("jobManifest", () => {
  it("is a valid Indexed Job: N completions, parallelism, image, GPU limits, both claims, the cell command", async () => {
    const { dir, plan, k8s } = await prepared("ok");
    const { file } = await writeKubernetesJob(dir, plan, { k8s, maxParallel: 3, apply: false });
    const written = YAML.parse(readFileSync(file, "utf8")) as Job;
    const job = new Job(written);
    expect(() => job.validate()).not.toThrow(); // the written file, read back, passes the batch/v1 schema
    expect(job.apiVersion).toBe("batch/v1");
    expect(job.kind).toBe("Job");
    expect(job.metadata?.name).toBe(`tfew-sweep-${plan.sweep_sha256.slice(0, 12)}`);
    expect(job.metadata?.namespace).toBe("research");
    const spec = job.spec;
    expect(spec?.completionMode).toBe("Indexed");
    expect(spec?.completions).toBe(10);
    expect(spec?.parallelism).toBe(3);
    expect(spec?.backoffLimitPerIndex).toBe(1);
    const pod = spec?.template.spec;
    expect(pod?.restartPolicy).toBe("Never");
    const container = pod?.containers[0];
    expect(container?.image).toBe("tfew:cuda12");
    expect(container?.command).toEqual(["tfew", "sweep", "cell", "/runs/ok", "$(JOB_COMPLETION_INDEX)"]);
    expect(container?.resources?.limits).toEqual({ "nvidia.com/gpu": "1", cpu: "8", memory: "32Gi" });
    expect(pod?.volumes).toEqual([
      { name: "runs", persistentVolumeClaim: { claimName: "tfew-runs" } },
      { name: "hf-cache", persistentVolumeClaim: { claimName: "hf-cache" } },
    ]);
    expect(container?.volumeMounts).toEqual([
      { name: "runs", mountPath: "/runs" },
      { name: "hf-cache", mountPath: "/root/.cache/huggingface" },
    ]);
    expect(container?.env).toContainEqual({ name: "HF_HOME", value: "/root/.cache/huggingface" });
    expect(container?.env).toContainEqual({
      name: "JOB_COMPLETION_INDEX",
      valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } },
    });
  });

  it("leaves out the GPU limit and the cache claim when not asked for", async () => {
    const { dir, plan, k8s } = await prepared("cpu", "kubernetes: {image: tfew, gpus: 0, runs_volume_claim: runs}");
    const job = jobManifest({ sweepDir: dir, plan, k8s, maxParallel: null });
    expect(() => new Job(job).validate()).not.toThrow(); // the plain object is a valid batch/v1 Job too
    expect(job.spec?.parallelism).toBe(10);
    expect(job.spec?.template.spec?.containers[0]?.resources?.limits).toEqual({});
    expect(job.spec?.template.spec?.volumes).toHaveLength(1);
  });

  it("refuses names and quantities Kubernetes would reject, in one line", async () => {
    const { dir, plan, k8s } = await prepared("bad");
    const bad: [Partial<KubernetesSettings>, string][] = [
      [{ namespace: "Research_1" }, 'kubernetes.namespace "Research_1" is not a valid Kubernetes name'],
      [{ runs_volume_claim: "Runs!" }, 'kubernetes.runs_volume_claim "Runs!" is not a valid Kubernetes name'],
      [{ memory: "32 GB" }, 'kubernetes.memory "32 GB" is not a Kubernetes quantity'],
    ];
    for (const [change, message] of bad) {
      expect(() => jobManifest({ sweepDir: dir, plan, k8s: { ...k8s, ...change }, maxParallel: null })).toThrow(
        message,
      );
    }
  });
});

describe("podSweepDir", () => {
  it("keeps a folder under the mount, else puts its name under the mount", async () => {
    const { k8s } = await prepared("paths");
    expect(podSweepDir("/runs/sweeps/a", k8s)).toBe("/runs/sweeps/a");
    expect(podSweepDir("/home/me/sweeps/a", k8s)).toBe("/runs/a");
  });
});

describe("writeKubernetesJob --apply", () => {
  it("says in one line that kubectl is missing", async () => {
    const { dir, plan, k8s } = await prepared("nokubectl");
    const path = process.env.PATH;
    process.env.PATH = join(work, "empty-bin");
    try {
      const error = await writeKubernetesJob(dir, plan, { k8s, maxParallel: null, apply: true }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(TfewError);
      expect((error as Error).message).toMatch(
        /^kubectl not found on PATH; install kubectl and point it at your cluster/,
      );
    } finally {
      process.env.PATH = path;
    }
  });
});
