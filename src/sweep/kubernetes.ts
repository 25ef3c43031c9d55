// The Kubernetes engine: DIR/job.yaml, an Indexed Job whose pod I runs `tfew sweep cell DIR I` (the image, GPU
// limits, the runs and HF-cache claims), written as a plain object of the batch/v1 fields it uses; names and
// quantities are checked here, and kubernetes.test.ts checks the written file against the whole batch/v1 schema
// (kubernetes-models, a devDependency: the schema check does not ship). `kubectl apply -f` only when asked.
import { isAbsolute, join, posix, relative } from "node:path";
import YAML from "yaml";
import { TfewError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import type { KubernetesSettings } from "./schema.js";
import { runCommand } from "./spawn.js";
import type { SweepPlan } from "./sweep-dir.js";

export const JOB_FILE = "job.yaml";

type Labels = Record<string, string>;
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef: { fieldPath: string } };
}

/** The batch/v1 Job fields tfew writes (kubernetes.test.ts builds kubernetes-models' Job from it and validates). */
export interface IndexedJob {
  apiVersion: "batch/v1";
  kind: "Job";
  metadata: { name: string; namespace: string; labels: Labels };
  spec: {
    completionMode: "Indexed";
    completions: number;
    parallelism: number;
    backoffLimitPerIndex: number;
    template: {
      metadata: { labels: Labels };
      spec: {
        restartPolicy: "Never";
        volumes: { name: string; persistentVolumeClaim: { claimName: string } }[];
        containers: {
          name: string;
          image: string;
          workingDir: string;
          command: string[];
          env: EnvVar[];
          resources: { limits: Record<string, string>; requests: Record<string, string> };
          volumeMounts: { name: string; mountPath: string }[];
        }[];
      };
    };
  };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][0-9]+)?$/;

/** The sweep folder as the pods see it: DIR itself when it lies under runs_mount, else runs_mount/<basename>. */
export function podSweepDir(sweepDir: string, k8s: KubernetesSettings): string {
  const inside = relative(k8s.runs_mount, sweepDir);
  if (isAbsolute(sweepDir) && !inside.startsWith("..") && !isAbsolute(inside)) return sweepDir;
  return posix.join(
    k8s.runs_mount,
    sweepDir
      .split(/[\\/]/)
      .filter((p) => p !== "")
      .at(-1) ?? "sweep",
  );
}

function checkNames(k8s: KubernetesSettings): void {
  const names: [string, string | null, RegExp][] = [
    ["kubernetes.namespace", k8s.namespace, DNS_LABEL],
    ["kubernetes.runs_volume_claim", k8s.runs_volume_claim, DNS_SUBDOMAIN],
    ["kubernetes.hf_volume_claim", k8s.hf_volume_claim, DNS_SUBDOMAIN],
  ];
  for (const [key, value, pattern] of names) {
    if (value !== null && !pattern.test(value))
      throw new TfewError(
        `${key} ${JSON.stringify(value)} is not a valid Kubernetes name (lower-case letters, digits and -)`,
      );
  }
  for (const [key, value] of [
    ["kubernetes.cpu", k8s.cpu],
    ["kubernetes.memory", k8s.memory],
  ] as const) {
    if (value !== null && !QUANTITY.test(value))
      throw new TfewError(`${key} ${JSON.stringify(value)} is not a Kubernetes quantity, e.g. "8", "500m", "32Gi"`);
  }
}

/** The Indexed Job for the sweep; throws one line naming a setting Kubernetes would reject. */
export function jobManifest(options: {
  sweepDir: string;
  plan: SweepPlan;
  k8s: KubernetesSettings;
  maxParallel: number | null;
}): IndexedJob {
  const { plan, k8s } = options;
  checkNames(k8s);
  const n = plan.cells.length;
  const dir = podSweepDir(options.sweepDir, k8s);
  const labels = { "app.kubernetes.io/name": "tfew", "tfew/sweep": plan.sweep_sha256.slice(0, 12) };
  const amounts: Record<string, string> = {
    ...(k8s.gpus > 0 ? { "nvidia.com/gpu": String(k8s.gpus) } : {}),
    ...(k8s.cpu !== null ? { cpu: k8s.cpu } : {}),
    ...(k8s.memory !== null ? { memory: k8s.memory } : {}),
  };
  const volumes = [{ name: "runs", persistentVolumeClaim: { claimName: k8s.runs_volume_claim ?? "" } }];
  const mounts = [{ name: "runs", mountPath: k8s.runs_mount }];
  const env: EnvVar[] = [
    {
      name: "JOB_COMPLETION_INDEX",
      valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } },
    },
  ];
  if (k8s.hf_volume_claim !== null) {
    volumes.push({ name: "hf-cache", persistentVolumeClaim: { claimName: k8s.hf_volume_claim } });
    mounts.push({ name: "hf-cache", mountPath: k8s.hf_mount });
    env.push({ name: "HF_HOME", value: k8s.hf_mount });
  }
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: `tfew-sweep-${plan.sweep_sha256.slice(0, 12)}`, namespace: k8s.namespace, labels },
    spec: {
      completionMode: "Indexed",
      completions: n,
      parallelism: Math.min(n, options.maxParallel ?? n),
      backoffLimitPerIndex: 1, // a failing cell fails its index only (one retry resumes it); the others still run
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          volumes,
          containers: [
            {
              name: "cell",
              image: k8s.image ?? "",
              workingDir: k8s.runs_mount,
              // $(VAR) is expanded by Kubernetes from the container's env: no shell needed in the image
              command: [...k8s.tfew_command, "sweep", "cell", dir, "$(JOB_COMPLETION_INDEX)"],
              env,
              resources: { limits: amounts, requests: amounts },
              volumeMounts: mounts,
            },
          ],
        },
      },
    },
  };
}

/** Writes DIR/job.yaml; with `apply`, runs `kubectl apply -f` on it. */
export async function writeKubernetesJob(
  sweepDir: string,
  plan: SweepPlan,
  options: { k8s: KubernetesSettings; maxParallel: number | null; apply: boolean },
): Promise<{ file: string; podDir: string; applied: string | null }> {
  const job = jobManifest({ sweepDir, plan, k8s: options.k8s, maxParallel: options.maxParallel });
  const file = join(sweepDir, JOB_FILE);
  const header = `# tfew sweep of ${plan.sweep_file}: ${plan.cells.length} cells as one Indexed Job (pod I runs cell I).\n`;
  await writeFileAtomic(file, header + YAML.stringify(job, { lineWidth: 0, aliasDuplicateObjects: false }));
  const podDir = podSweepDir(sweepDir, options.k8s);
  if (!options.apply) return { file, podDir, applied: null };
  const r = await runCommand("kubectl", ["apply", "-f", file], {
    hint: `install kubectl and point it at your cluster, or apply ${file} another way (without --apply)`,
  });
  if (r.code !== 0) {
    const why = (r.stderr.trim().split("\n").at(-1) ?? "").trim() || `exit code ${r.code}`;
    throw new TfewError(`kubectl apply -f ${file} failed: ${why}`);
  }
  return { file, podDir, applied: r.stdout.trim() };
}
