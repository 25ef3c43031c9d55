// The report page: one self-contained HTML document (inline CSS and SVG, no script, no network) with the runs'
// curves under their TensorBoard tags, eval confusion matrices and per-class F1, and per-sweep tables and bands.
import { TRAIN_TAGS } from "../monitor/event-writer.js";
import { barChart, heatmap, lineChart, type Band, type LineSeries } from "./charts.js";
import type { EvalResult, GroupData, MetricsRow, ReportInputs, RunData } from "./load.js";
import { DEFAULT_SMOOTHING, meanStd } from "./smooth.js";
import { color, esc } from "./svg.js";

interface ChartSpec {
  field: string;
  title: string;
  smooth: boolean;
  yScale: "auto" | "linear";
}

/** The training charts, in page order; each is drawn when some run logged its field. */
const TRAIN_CHARTS: readonly ChartSpec[] = [
  { field: "loss", title: "total loss (LM + UL + LN)", smooth: true, yScale: "auto" },
  { field: "lm_loss", title: "LM loss", smooth: true, yScale: "auto" },
  { field: "ul_loss", title: "unlikelihood loss", smooth: true, yScale: "auto" },
  { field: "ln_loss", title: "length-normalized loss", smooth: true, yScale: "auto" },
  { field: "lr", title: "learning rate", smooth: false, yScale: "linear" },
  { field: "grad_norm", title: "gradient norm (before clipping)", smooth: true, yScale: "auto" },
  { field: "examples_per_s", title: "examples / s", smooth: true, yScale: "linear" },
  { field: "tokens_per_s", title: "tokens / s", smooth: true, yScale: "linear" },
  { field: "gpu_util_pct", title: "GPU utilization, %", smooth: true, yScale: "linear" },
  { field: "gpu_mem_mib", title: "GPU memory used, MiB", smooth: false, yScale: "linear" },
  { field: "mfu", title: "model FLOPs utilization", smooth: true, yScale: "linear" },
];

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; background: #f6f7f9; color: #1d2330; }
main { max-width: 1520px; margin: 0 auto; padding: 18px 24px 40px; }
h1 { font-size: 22px; margin: 4px 0; } h2 { font-size: 18px; margin: 26px 0 8px; border-bottom: 1px solid #d8dce3; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 16px 0 6px; } .meta { color: #5b6472; margin: 0 0 10px; }
table { border-collapse: collapse; background: #fff; font-size: 13px; margin: 6px 0 10px; }
th, td { border: 1px solid #d8dce3; padding: 4px 9px; text-align: left; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #eef1f5; } .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; } figure { margin: 0; background: #fff; border: 1px solid #d8dce3; border-radius: 6px; padding: 4px; }
svg text { font: 11px system-ui, sans-serif; fill: #2b3340; } svg .title { font-size: 13px; font-weight: 600; } svg .note { font-weight: 400; fill: #7a8392; }
svg .grid { stroke: #eceff3; } svg .frame { fill: none; stroke: #a9b0bb; } svg .tick { fill: #5b6472; } svg .axis-label { fill: #7a8392; }
`;

const fmt = (v: unknown, digits = 4) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : "–");

function series(runs: readonly RunData[], field: string, colorOf: (i: number) => string): LineSeries[] {
  return runs
    .map((run, i) => ({
      name: run.name,
      color: colorOf(i),
      xs: run.rows.map((r) => r.step),
      ys: run.rows.map((r) => r[field] ?? null),
    }))
    .filter((s) => s.ys.some((v) => v !== null && Number.isFinite(v)));
}

function figure(svg: string): string {
  return `<figure>${svg}</figure>`;
}

/** The training charts of these runs overlaid (one color per run). */
function trainingCharts(runs: readonly RunData[], smoothing: number): string[] {
  const out: string[] = [];
  for (const spec of TRAIN_CHARTS) {
    const lines = series(runs, spec.field, color);
    if (lines.length === 0) continue;
    const tag = TRAIN_TAGS[spec.field] ?? spec.field;
    out.push(
      figure(
        lineChart({
          id: tag,
          title: `${tag} · ${spec.title}`,
          series: lines,
          smoothing: spec.smooth ? smoothing : null,
          yScale: spec.yScale,
        }),
      ),
    );
  }
  return out;
}

function evalBlock(e: EvalResult, name: string, i: number): string {
  const head = `<h3>${esc(name)}${e.task ? ` · ${esc(e.task)}` : ""}${e.split ? ` (${esc(e.split)}${e.n !== null ? `, n=${e.n}` : ""})` : ""}: accuracy ${fmt(e.accuracy)}, macro-F1 ${fmt(e.macro_f1)}</h3>`;
  const labels = e.per_class.map((c) => c.label);
  const charts = [
    ...(e.confusion !== null
      ? [figure(heatmap({ id: "eval/confusion", title: "confusion matrix (rows: gold)", labels, values: e.confusion }))]
      : []),
    figure(
      barChart({ id: "eval/f1", title: "F1 per class", labels, values: e.per_class.map((c) => c.f1), color: color(i) }),
    ),
  ];
  return `<section class="eval" data-file="${esc(e.file)}">${head}<div class="charts">${charts.join("")}</div></section>`;
}

/** A task as a table cell: a folder or file path by its last part (the full path on hover), a hub task as it is. */
function taskCell(task: string | null): string {
  if (task === null) return "<td>–</td>";
  const short =
    task.includes("/") && !/^[a-z]+:/.test(task) ? (task.replace(/\/+$/, "").split("/").at(-1) ?? task) : task;
  return `<td title="${esc(task)}">${esc(short)}</td>`;
}

function runsTable(runs: readonly RunData[], colorOf: (i: number) => string, tasks?: readonly string[]): string {
  const rows = runs.map((r, i) => {
    const s = r.summary ?? {};
    const e = r.evals[0];
    const last = r.rows.at(-1);
    return `<tr><td><span class="swatch" style="background:${colorOf(i)}"></span>${esc(r.name)}</td>${taskCell(tasks?.[i] ?? r.task)}<td class="num">${r.seed ?? "–"}</td><td class="num">${last?.step ?? 0}</td><td class="num">${fmt(s.first_loss)} → ${fmt(s.final_loss ?? last?.loss)}</td><td class="num">${fmt(s.examples_per_s, 1)}</td><td>${esc(String(s.device ?? s.backend ?? "–"))}</td><td class="num">${fmt(e?.accuracy)}</td><td class="num">${fmt(e?.macro_f1)}</td></tr>`;
  });
  return `<table class="runs"><tr><th>run</th><th>task</th><th>seed</th><th>steps</th><th>loss first → final</th><th>examples/s</th><th>device</th><th>eval accuracy</th><th>macro-F1</th></tr>${rows.join("")}</table>`;
}

/** Per task: mean ± std across cells of a field at the steps every cell of that task logged. */
export function taskBands(group: GroupData, field: string, colorOf: (i: number) => string): Band[] {
  const tasks = [...new Set(group.cells.map((c) => c.task))];
  return tasks.map((task, t) => {
    const cells = group.cells.filter((c) => c.task === task);
    const bySteps = cells.map((c) => new Map(c.run.rows.map((r: MetricsRow) => [r.step, r[field] ?? null])));
    const steps = [...(bySteps[0]?.keys() ?? [])].filter((s) => bySteps.every((m) => m.has(s))).sort((a, b) => a - b);
    const { mean, std } = meanStd(bySteps.map((m) => steps.map((s) => m.get(s) ?? null)));
    return {
      name: `${task} (${cells.length} run${cells.length === 1 ? "" : "s"})`,
      color: colorOf(t),
      xs: steps,
      mean,
      std,
    };
  });
}

function evalSummaryTable(group: GroupData): string {
  const tasks = [...new Set(group.cells.map((c) => c.task))];
  const rows = tasks.flatMap((task) => {
    const evals = group.cells
      .filter((c) => c.task === task)
      .map((c) => c.run.evals[0])
      .filter((e): e is EvalResult => e !== undefined);
    if (evals.length === 0) return [];
    const acc = meanStd(evals.map((e) => [e.accuracy]));
    const f1 = meanStd(evals.map((e) => [e.macro_f1]));
    return [
      `<tr><td>${esc(task)}</td><td class="num">${evals.length}</td><td class="num">${fmt(acc.mean[0])} ± ${fmt(acc.std[0])}</td><td class="num">${fmt(f1.mean[0])} ± ${fmt(f1.std[0])}</td></tr>`,
    ];
  });
  return rows.length === 0
    ? ""
    : `<table class="tasks"><tr><th>task</th><th>evaluated runs</th><th>accuracy (mean ± std)</th><th>macro-F1 (mean ± std)</th></tr>${rows.join("")}</table>`;
}

function groupSection(group: GroupData, smoothing: number): string {
  const runs = group.cells.map((c) => c.run);
  const charts: string[] = [];
  const lines = series(runs, "loss", color);
  if (lines.length > 0) {
    charts.push(
      figure(
        lineChart({
          id: "train/loss",
          title: "train/loss · one line per run",
          series: lines,
          smoothing,
          yScale: "auto",
        }),
      ),
    );
    charts.push(
      figure(
        lineChart({
          id: "train/loss-bands",
          title: "train/loss · mean ± std per task",
          series: [],
          bands: taskBands(group, "loss", color),
          smoothing: null,
          yScale: "auto",
        }),
      ),
    );
  }
  const speed = series(runs, "examples_per_s", color);
  if (speed.length > 0)
    charts.push(
      figure(
        lineChart({
          id: "train/examples_per_s",
          title: "train/examples_per_s · one line per run",
          series: speed,
          smoothing,
          yScale: "linear",
        }),
      ),
    );
  return `<section class="group" data-kind="${group.kind}" data-cells="${group.cells.length}"><h2>${group.kind === "sweep" ? "Sweep" : "Runs in"} ${esc(group.name)} (${group.cells.length} run${group.cells.length === 1 ? "" : "s"})</h2>
<p class="meta">${esc(group.dir)}</p>${evalSummaryTable(group)}${runsTable(
    runs,
    color,
    group.cells.map((c) => c.task),
  )}<div class="charts">${charts.join("")}</div></section>`;
}

export interface PageOptions {
  generatedAt: Date;
  /** TensorBoard-style EMA weight for the smoothed curves (default 0.6, TensorBoard's default) */
  smoothing?: number;
}

/** The whole HTML document. */
export function renderPage(inputs: ReportInputs, options: PageOptions): string {
  const smoothing = options.smoothing ?? DEFAULT_SMOOTHING;
  const parts: string[] = [];
  if (inputs.runs.length > 0) {
    parts.push(
      `<h2>Training</h2>${runsTable(inputs.runs, color)}<div class="charts">${trainingCharts(inputs.runs, smoothing).join("")}</div>`,
    );
  }
  const evals = [
    ...inputs.runs.flatMap((r) => r.evals.map((e) => ({ e, name: r.name }))),
    ...inputs.evals.map((e) => ({ e, name: e.file })),
  ];
  if (evals.length > 0)
    parts.push(`<h2>Evaluation</h2>${evals.map(({ e, name }, i) => evalBlock(e, name, i)).join("")}`);
  for (const group of inputs.groups) parts.push(groupSection(group, smoothing));
  const count = inputs.runs.length + inputs.groups.reduce((n, g) => n + g.cells.length, 0);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="generator" content="tfew report"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>tfew report</title><style>${STYLE}</style></head>
<body><main data-runs="${count}"><h1>tfew report</h1>
<p class="meta">${count} run${count === 1 ? "" : "s"} · generated ${esc(options.generatedAt.toISOString())} · faint lines raw, solid lines smoothed (EMA ${smoothing}, as TensorBoard)</p>
${parts.join("\n")}
</main></body></html>
`;
}
