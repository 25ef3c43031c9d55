// bench:compare's result as markdown: one column per PyTorch side and algorithm, each with tfew's ratio
// (> 1: tfew faster, i.e. PyTorch time ÷ tfew time), peak RSS and GFLOP/s, then the kernel profiles.
import { profileTable, type KernelProfile } from "./profile.js";

type Json = Record<string, unknown>;
const fmt = (v: unknown, d = 2) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(d) : "—");
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const at = (o: unknown, ...keys: string[]): unknown =>
  keys.reduce<unknown>((x, k) => (typeof x === "object" && x !== null ? (x as Json)[k] : undefined), o);

export function compareTable(r: Json): string {
  const torch = Object.entries((r.torch ?? {}) as Json).filter(([, v]) => typeof v === "object") as [string, Json][];
  const columns = torch.flatMap(([label, v]) => [
    { label: `${label}, tfew's algorithm`, data: v.same },
    { label: `${label}, t-few's algorithm`, data: v.t_few },
  ]);
  const head = ["measure", `tfew (${String(r.backend)})`, ...columns.flatMap((c) => [c.label, "ratio"])];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  const tfewStep = num(at(r, "tfew", "train", "s_per_step"));
  lines.push(
    row(
      "train s/step (batch 8 × 256, 2 choices)",
      tfewStep,
      (d) => num(at(d, "train", "s_per_step")),
      (t, x) => x / t, // PyTorch s/step ÷ tfew s/step
    ),
  );
  for (const c of Object.keys((at(r, "tfew", "eval") ?? {}) as Json)) {
    const mine = num(at(r, "tfew", "eval", c, "examples_per_s"));
    lines.push(
      row(
        `eval examples/s, ${c} choices`,
        mine,
        (d) => num(at(d, "eval", c, "examples_per_s")),
        (t, x) => t / x, // tfew examples/s ÷ PyTorch examples/s
      ),
    );
  }
  const rss = (label: string, mine: unknown, theirs: (d: unknown) => number | null) =>
    `| ${label} | ${fmt(mine, 0)} | ${columns.map((c) => `${fmt(theirs(c.data), 0)} | `).join("")}`;
  lines.push(
    rss("peak RSS MiB after training", at(r, "tfew", "peak_rss_mb", "train"), (d) =>
      num(at(d, "train", "peak_rss_mb")),
    ),
  );
  lines.push(
    rss("peak RSS MiB, training + eval", at(r, "tfew", "peak_rss_mb", "train_and_eval"), (d) =>
      num(at(d, "peak_rss_mb")),
    ),
  );
  const gflops = [
    `train ${fmt(at(r, "tfew", "train", "gflops_per_s"), 1)}`,
    ...Object.keys((at(r, "tfew", "eval") ?? {}) as Json).map(
      (c) => `eval ${c} ${fmt(at(r, "tfew", "eval", c, "gflops_per_s"), 1)}`,
    ),
  ];
  const profiles = ((r.profiles ?? []) as KernelProfile[]).map(profileTable).join("\n");
  return `\n${lines.join("\n")}\n\nratio > 1: tfew faster. tfew GFLOP/s (counted matmul FLOPs ÷ time): ${gflops.join(", ")}\n\n${profiles}`;

  function row(
    label: string,
    mine: number | null,
    theirs: (d: unknown) => number | null,
    ratio: (t: number, x: number) => number,
  ) {
    const cells = columns.map((c) => {
      const x = theirs(c.data);
      return `${fmt(x)} | ${mine !== null && x !== null ? fmt(ratio(mine, x)) : "—"}`;
    });
    return `| ${label} | ${fmt(mine)} | ${cells.join(" | ")} |`;
  }
}
