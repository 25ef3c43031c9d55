// The report's three chart kinds as SVG strings: line charts (raw + EMA-smoothed curves, mean ± std bands,
// several runs with a legend), a confusion-matrix heatmap, and horizontal bars (per-class F1). Data attributes
// on every mark (data-series, data-points, data-value) let tests read the rendered DOM.
import { emaSmooth } from "./smooth.js";
import {
  autoScale,
  el,
  esc,
  fmtCoord,
  fmtTick,
  legend,
  linearScale,
  logScale,
  polylinePoints,
  type LegendEntry,
  type Scale,
} from "./svg.js";

export interface LineSeries {
  name: string;
  color: string;
  xs: readonly number[];
  ys: readonly (number | null)[];
}

export interface Band {
  name: string;
  color: string;
  xs: readonly number[];
  mean: readonly (number | null)[];
  std: readonly (number | null)[];
}

export interface LineChartOptions {
  /** the metric (a TensorBoard tag such as train/loss): data-chart and the title */
  id: string;
  title?: string;
  series: readonly LineSeries[];
  bands?: readonly Band[];
  /** TensorBoard-style EMA weight; null = draw the raw curve only */
  smoothing: number | null;
  yScale?: "auto" | "linear" | "log";
  width?: number;
}

const MARGIN = { left: 58, right: 14, top: 30, bottom: 38 };
const PLOT_HEIGHT = 190;

function finiteValues(options: LineChartOptions): number[] {
  const out: number[] = [];
  const push = (v: number | null | undefined) => {
    if (v !== null && v !== undefined && Number.isFinite(v)) out.push(v);
  };
  for (const s of options.series) s.ys.forEach(push);
  for (const b of options.bands ?? []) b.mean.forEach((m, i) => push(m === null ? null : m + (b.std[i] ?? 0)));
  for (const b of options.bands ?? []) b.mean.forEach((m, i) => push(m === null ? null : m - (b.std[i] ?? 0)));
  return out;
}

function yScaleOf(options: LineChartOptions, range: [number, number]): Scale {
  const values = finiteValues(options);
  const max = values.length > 0 ? Math.max(...values) : 1;
  let min = values.length > 0 ? Math.min(...values) : 0;
  if (min < 0 && -min < 1e-3 * Math.abs(max)) min = 0; // float noise below a zero floor (e.g. a loss of -1e-9)
  const kind = options.yScale ?? "auto";
  const positive = values.filter((v) => v > 0);
  if (kind === "log" && positive.length > 0) return logScale([Math.min(...positive), max], range);
  return kind === "auto" ? autoScale(min, max, range) : linearScale([min, max], range);
}

function axes(x: Scale, y: Scale, box: { left: number; top: number; right: number; bottom: number }): string {
  const parts: string[] = [];
  for (const t of y.ticks) {
    const py = y(t);
    parts.push(el("line", { class: "grid", x1: box.left, x2: box.right, y1: py, y2: py }));
    parts.push(el("text", { class: "tick", x: box.left - 6, y: py + 4, "text-anchor": "end" }, esc(fmtTick(t))));
  }
  for (const t of x.ticks) {
    const px = x(t);
    parts.push(el("line", { class: "grid", x1: px, x2: px, y1: box.top, y2: box.bottom }));
    parts.push(el("text", { class: "tick", x: px, y: box.bottom + 15, "text-anchor": "middle" }, esc(fmtTick(t))));
  }
  parts.push(
    el("rect", { class: "frame", x: box.left, y: box.top, width: box.right - box.left, height: box.bottom - box.top }),
  );
  parts.push(
    el(
      "text",
      { class: "axis-label", x: (box.left + box.right) / 2, y: box.bottom + 32, "text-anchor": "middle" },
      "step",
    ),
  );
  if (y.kind === "log")
    parts.push(
      el("text", { class: "axis-label", x: box.right - 4, y: box.top + 12, "text-anchor": "end" }, "log scale"),
    );
  return parts.join("");
}

function bandPolygon(b: Band, x: Scale, y: Scale): string {
  const upper: string[] = [];
  const lower: string[] = [];
  b.xs.forEach((xv, i) => {
    const m = b.mean[i];
    if (m === null || m === undefined || !Number.isFinite(m)) return;
    const s = b.std[i] ?? 0;
    const lo = y.kind === "log" ? Math.max(m - s, y.domain[0]) : m - s;
    upper.push(`${fmtCoord(x(xv))},${fmtCoord(y(m + s))}`);
    lower.unshift(`${fmtCoord(x(xv))},${fmtCoord(y(lo))}`);
  });
  const line = polylinePoints(b.xs, b.mean, x, y);
  return el(
    "g",
    { class: "band", "data-series": b.name },
    el("polygon", {
      class: "std",
      points: [...upper, ...lower].join(" "),
      fill: b.color,
      "fill-opacity": 0.18,
      stroke: "none",
    }),
    el("polyline", {
      class: "mean",
      "data-series": b.name,
      "data-kind": "mean",
      "data-points": line.count,
      points: line.points,
      fill: "none",
      stroke: b.color,
      "stroke-width": 2,
    }),
    el("title", {}, esc(`${b.name}: mean ± std`)),
  );
}

function seriesMarks(s: LineSeries, x: Scale, y: Scale, smoothing: number | null): string {
  const raw = polylinePoints(s.xs, s.ys, x, y);
  const marks = [
    el("polyline", {
      class: "raw",
      "data-series": s.name,
      "data-kind": "raw",
      "data-points": raw.count,
      points: raw.points,
      fill: "none",
      stroke: s.color,
      "stroke-width": smoothing === null ? 2 : 1.2,
      "stroke-opacity": smoothing === null ? 1 : 0.3,
    }),
  ];
  if (smoothing !== null) {
    const sm = polylinePoints(s.xs, emaSmooth(s.ys, smoothing), x, y);
    marks.push(
      el("polyline", {
        class: "smoothed",
        "data-series": s.name,
        "data-kind": "smoothed",
        "data-points": sm.count,
        points: sm.points,
        fill: "none",
        stroke: s.color,
        "stroke-width": 2,
      }),
    );
  }
  if (raw.count === 1) {
    const [cx, cy] = raw.points.split(",").map(Number) as [number, number];
    marks.push(el("circle", { cx, cy, r: 3, fill: s.color }));
  }
  return el("g", { class: "series", "data-series": s.name }, ...marks, el("title", {}, esc(s.name)));
}

/** A line chart of steps → values: raw (faint) and smoothed curves per series, bands under them, a legend below. */
export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 400;
  const box = { left: MARGIN.left, top: MARGIN.top, right: width - MARGIN.right, bottom: MARGIN.top + PLOT_HEIGHT };
  const xsAll = [...options.series.flatMap((s) => s.xs), ...(options.bands ?? []).flatMap((b) => b.xs)];
  const x = linearScale([Math.min(0, ...xsAll), xsAll.length > 0 ? Math.max(...xsAll) : 1], [box.left, box.right], {
    ticks: 6,
  });
  const y = yScaleOf(options, [box.bottom, box.top]);
  const entries: LegendEntry[] = [
    ...(options.bands ?? []).map((b) => ({ name: `${b.name} (mean ± std)`, color: b.color, swatch: "band" as const })),
    ...options.series.map((s) => ({ name: s.name, color: s.color })),
  ];
  const key =
    entries.length > 1 || (options.bands ?? []).length > 0
      ? legend(entries, { x: box.left, y: box.bottom + 52, width: box.right - box.left })
      : { svg: "", height: 0 };
  const height = box.bottom + MARGIN.bottom + (key.height > 0 ? key.height + 10 : 0);
  const title = el("text", { class: "title", x: 10, y: 18 }, esc(options.title ?? options.id));
  return el(
    "svg",
    {
      class: "chart line-chart",
      "data-chart": options.id,
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-label": options.title ?? options.id,
    },
    title,
    axes(x, y, box),
    ...(options.bands ?? []).map((b) => bandPolygon(b, x, y)),
    ...options.series.map((s) => seriesMarks(s, x, y, options.smoothing)),
    key.svg,
  );
}

/** Light to dark blue for 0..1 (linear in RGB between #f7fbff and #08306b). */
export function blues(t: number): string {
  const c = Math.min(1, Math.max(0, t));
  const mix = (a: number, b: number) =>
    Math.round(a + (b - a) * c)
      .toString(16)
      .padStart(2, "0");
  return `#${mix(0xf7, 0x08)}${mix(0xfb, 0x30)}${mix(0xff, 0x6b)}`;
}

function shortLabel(label: string, max = 18): string {
  return label.length > max ? `${label.slice(0, max - 1)}…` : label;
}

/** A confusion matrix (rows = gold, columns = predicted): cells shaded by the row fraction, labelled by count. */
export function heatmap(options: {
  id: string;
  title: string;
  labels: readonly string[];
  values: readonly (readonly number[])[];
}): string {
  const k = options.labels.length;
  const cell = Math.max(22, Math.min(48, Math.floor(360 / Math.max(1, k))));
  const labelWidth = Math.min(130, 12 + 6.5 * Math.max(4, ...options.labels.map((l) => shortLabel(l).length)));
  const left = labelWidth + 20;
  const top = 40 + labelWidth * 0.7;
  const parts: string[] = [el("text", { class: "title", x: 10, y: 18 }, esc(options.title))];
  options.labels.forEach((label, i) => {
    const y = top + i * cell + cell / 2 + 4;
    parts.push(
      el(
        "text",
        { class: "tick", x: left - 6, y, "text-anchor": "end" },
        esc(shortLabel(label)),
        el("title", {}, esc(label)),
      ),
    );
    const cx = left + i * cell + cell / 2;
    parts.push(
      el(
        "text",
        { class: "tick", x: cx, y: top - 6, transform: `rotate(-40 ${fmtCoord(cx)} ${fmtCoord(top - 6)})` },
        esc(shortLabel(label)),
        el("title", {}, esc(label)),
      ),
    );
  });
  options.values.forEach((row, r) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((v, c) => {
      const frac = total > 0 ? v / total : 0;
      const x = left + c * cell;
      const y = top + r * cell;
      parts.push(
        el(
          "g",
          { class: "cell", "data-row": r, "data-col": c, "data-value": String(v) },
          el("rect", { x, y, width: cell - 1, height: cell - 1, fill: blues(frac) }),
          el(
            "text",
            {
              x: x + cell / 2,
              y: y + cell / 2 + 4,
              "text-anchor": "middle",
              style: `fill:${frac > 0.5 ? "#fff" : "#222"}`,
            },
            String(v),
          ), // style: the page's CSS would win over fill=
          el(
            "title",
            {},
            esc(
              `gold ${options.labels[r] ?? r} → predicted ${options.labels[c] ?? c}: ${v}${total > 0 ? ` (${(100 * frac).toFixed(1)}% of the row)` : ""}`,
            ),
          ),
        ),
      );
    });
  });
  parts.push(
    el(
      "text",
      {
        class: "axis-label",
        x: 10,
        y: top + (k * cell) / 2,
        transform: `rotate(-90 10 ${fmtCoord(top + (k * cell) / 2)})`,
        "text-anchor": "middle",
      },
      "gold",
    ),
  );
  parts.push(
    el(
      "text",
      { class: "axis-label", x: left + (k * cell) / 2, y: top + k * cell + 18, "text-anchor": "middle" },
      "predicted",
    ),
  );
  const width = Math.max(240, left + k * cell + 12 + labelWidth * 0.75); // room for the last rotated column label
  const height = top + k * cell + 28;
  return el(
    "svg",
    {
      class: "chart heatmap",
      "data-chart": options.id,
      "data-cells": k * k,
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-label": options.title,
    },
    ...parts,
  );
}

/** Horizontal bars of values in [0, 1] (per-class F1), one per label, with the value printed. */
export function barChart(options: {
  id: string;
  title: string;
  labels: readonly string[];
  values: readonly number[];
  color: string;
}): string {
  const row = 22;
  const labelWidth = Math.min(130, 12 + 6.5 * Math.max(4, ...options.labels.map((l) => shortLabel(l).length)));
  const plotWidth = 240;
  const top = 30;
  const x = linearScale([0, 1], [labelWidth, labelWidth + plotWidth]);
  const parts: string[] = [el("text", { class: "title", x: 10, y: 18 }, esc(options.title))];
  for (const t of x.ticks)
    parts.push(el("line", { class: "grid", x1: x(t), x2: x(t), y1: top, y2: top + row * options.labels.length }));
  options.labels.forEach((label, i) => {
    const v = options.values[i] ?? 0;
    const y = top + i * row;
    parts.push(
      el(
        "g",
        { class: "bar", "data-label": label, "data-value": String(v) },
        el(
          "text",
          { class: "tick", x: labelWidth - 6, y: y + row / 2 + 4, "text-anchor": "end" },
          esc(shortLabel(label)),
        ),
        el("rect", {
          x: x(0),
          y: y + 3,
          width: Math.max(0, x(Math.min(1, v)) - x(0)),
          height: row - 6,
          fill: options.color,
        }),
        el("text", { class: "value", x: x(Math.min(1, v)) + 4, y: y + row / 2 + 4 }, v.toFixed(3)),
        el("title", {}, esc(`${label}: ${v.toFixed(4)}`)),
      ),
    );
  });
  const bottom = top + row * options.labels.length;
  for (const t of x.ticks)
    parts.push(el("text", { class: "tick", x: x(t), y: bottom + 14, "text-anchor": "middle" }, esc(fmtTick(t))));
  const width = labelWidth + plotWidth + 50;
  const height = bottom + 24;
  return el(
    "svg",
    {
      class: "chart bars",
      "data-chart": options.id,
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-label": options.title,
    },
    ...parts,
  );
}
