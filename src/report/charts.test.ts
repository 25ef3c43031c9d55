import { describe, expect, it } from "vitest";
import { barChart, blues, heatmap, lineChart } from "./charts.js";

/** The attributes of every `<tag ...>` whose attributes contain `has`. */
function tags(svg: string, tag: string, has = ""): Record<string, string>[] {
  return [...svg.matchAll(new RegExp(`<${tag}\\s([^>]*?)/?>`, "g"))]
    .map((m) => m[1] as string)
    .filter((a) => a.includes(has))
    .map((a) =>
      Object.fromEntries([...a.matchAll(/([\w-]+)="([^"]*)"/g)].map((x) => [x[1] as string, x[2] as string])),
    );
}

const steps = [1, 2, 3, 4, 5];

describe("lineChart", () => {
  const svg = lineChart({
    id: "train/loss",
    series: [
      { name: "run1", color: "#111", xs: steps, ys: [5, 4, Number.NaN, 2, 1] },
      { name: "run2", color: "#222", xs: steps, ys: [6, 5, 4, 3, 2] },
    ],
    smoothing: 0.6,
  });

  it("draws a raw and a smoothed polyline per series, with one point per finite value", () => {
    const lines = tags(svg, "polyline");
    expect(lines.map((l) => [l["data-series"], l["data-kind"], l["data-points"]])).toEqual([
      ["run1", "raw", "4"],
      ["run1", "smoothed", "4"],
      ["run2", "raw", "5"],
      ["run2", "smoothed", "5"],
    ]);
    for (const l of lines) expect((l.points as string).split(" ")).toHaveLength(Number(l["data-points"]));
    expect(svg).toMatch(/^<svg class="chart line-chart" data-chart="train\/loss"/);
  });

  it("puts later steps further right and larger values higher (smaller y)", () => {
    const raw = tags(svg, "polyline", 'data-series="run2" data-kind="raw"')[0] as Record<string, string>;
    const pts = (raw.points as string).split(" ").map((p) => p.split(",").map(Number) as [number, number]);
    for (let i = 1; i < pts.length; i++) {
      expect((pts[i] as [number, number])[0]).toBeGreaterThan((pts[i - 1] as [number, number])[0]);
      expect((pts[i] as [number, number])[1]).toBeGreaterThan((pts[i - 1] as [number, number])[1]); // falling values
    }
  });

  it("has a legend with one entry per series when there are several, none for one", () => {
    expect(tags(svg, "g", 'class="legend-entry"').map((g) => g["data-name"])).toEqual(["run1", "run2"]);
    const single = lineChart({
      id: "train/lr",
      series: [{ name: "r", color: "#000", xs: steps, ys: [1, 2, 3, 4, 5] }],
      smoothing: null,
    });
    expect(single).not.toContain("legend-entry");
    expect(tags(single, "polyline").map((l) => l["data-kind"])).toEqual(["raw"]); // no smoothing: raw only
  });

  it("draws mean ± std bands as a polygon under a mean line, and switches to log scale for wide positive ranges", () => {
    const banded = lineChart({
      id: "b",
      series: [],
      bands: [{ name: "task", color: "#0a0", xs: [1, 2, 3], mean: [100, 10, 1], std: [10, 1, 0.1] }],
      smoothing: null,
    });
    expect(tags(banded, "polyline", 'data-kind="mean"')[0]?.["data-points"]).toBe("3");
    expect((tags(banded, "polygon")[0]?.points as string).split(" ")).toHaveLength(6);
    expect(banded).toContain("log scale");
    expect(banded).toContain("task (mean ± std)");
  });
});

describe("heatmap", () => {
  it("has k² cells holding the counts, shaded by their share of the row", () => {
    const svg = heatmap({
      id: "eval/confusion",
      title: "confusion",
      labels: ["a", "b"],
      values: [
        [3, 1],
        [0, 2],
      ],
    });
    expect(svg).toContain('data-cells="4"');
    const cells = tags(svg, "g", 'class="cell"').map((c) => [c["data-row"], c["data-col"], c["data-value"]]);
    expect(cells).toEqual([
      ["0", "0", "3"],
      ["0", "1", "1"],
      ["1", "0", "0"],
      ["1", "1", "2"],
    ]);
    const fills = tags(svg, "rect").map((r) => r.fill);
    expect(fills).toEqual([blues(0.75), blues(0.25), blues(0), blues(1)]);
    expect(blues(0)).toBe("#f7fbff");
    expect(blues(1)).toBe("#08306b");
    expect(svg).toContain("gold a → predicted b: 1 (25.0% of the row)");
  });
});

describe("barChart", () => {
  it("draws one bar per label, its length proportional to the value", () => {
    const svg = barChart({ id: "eval/f1", title: "F1", labels: ["x", "y & z"], values: [0.5, 1], color: "#00f" });
    expect(tags(svg, "g", 'class="bar"').map((b) => [b["data-label"], b["data-value"]])).toEqual([
      ["x", "0.5"],
      ["y &amp; z", "1"],
    ]);
    const widths = tags(svg, "rect").map((r) => Number(r.width));
    expect(widths[1]).toBeCloseTo(2 * (widths[0] as number), 6);
  });
});
