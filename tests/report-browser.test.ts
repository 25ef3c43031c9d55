// `tfew report` on real demo runs, rendered by headless Chromium with no network: the charts exist, every curve
// has one point per logged step as the browser parsed it (SVGPolylineElement.points), lines have a size on the
// page, and a screenshot is not blank. Skips (with a message) where no Chromium is installed.
// Spawns dist/ (`npm run build` first; `npm test` does).
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dumpDom, findChromium, screenshot } from "./helpers/chromium.js";
import { QUICK, requireBuild, runCli, scratch, type CliResult } from "./helpers/spawn-tfew.js";

const browser = findChromium();
if (browser === null)
  console.warn(
    "report-browser.test: skipped the browser checks: no chromium found (apt-get install chromium, or set CHROMIUM=/path/to/chrome)",
  );

// Added to a copy of the page only: records what the browser itself parsed and laid out.
const PROBE = `<script>
for (const p of document.querySelectorAll("polyline")) {
  p.setAttribute("data-browser-points", String(p.points.numberOfItems));
  const box = p.getBBox();
  p.setAttribute("data-browser-box", box.width + "x" + box.height);
}
for (const s of document.querySelectorAll("svg.chart")) s.setAttribute("data-browser-width", String(s.getBoundingClientRect().width));
document.body.setAttribute("data-probe", "done");
</script>`;

let work: string;
const STEPS = { a: 12, b: 9 };

function expectOk(r: CliResult): void {
  expect(r.code, `tfew failed:\n${r.stderr}`).toBe(0);
}

beforeAll(async () => {
  requireBuild();
  work = await scratch("report");
  const train = (name: string, steps: number, seed: number) =>
    runCli(
      [
        "train",
        "--backend",
        "wasm",
        "--out",
        join(work, name),
        ...QUICK,
        "--set",
        `train.steps=${steps}`,
        "--set",
        `seed=${seed}`,
      ],
      { cwd: work },
    );
  expectOk(await train("a", STEPS.a, 1));
  expectOk(await train("b", STEPS.b, 2));
  expectOk(await runCli(["eval", "--run", join(work, "a"), "--out", join(work, "a", "eval"), ...QUICK], { cwd: work }));
  const r = await runCli(["report", "a", "b", "--output", "report.html"], { cwd: work });
  expectOk(r);
  expect(r.stdout).toMatch(/^wrote report\.html: 2 runs, 10 charts, \d+ KiB/);
});

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe("tfew report (command line)", () => {
  it("fails in one line, without writing, on a folder with nothing to draw or an --output that is not a report", async () => {
    const missing = await runCli(["report", "nowhere", "--output", "x.html"], { cwd: work });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^tfew: error: report: nowhere is not a folder; give a run folder/);
    await writeFile(join(work, "mine.html"), "<p>my notes</p>");
    const clash = await runCli(["report", "a", "--output", "mine.html"], { cwd: work });
    expect(clash.stderr).toMatch(
      /^tfew: error: report: mine\.html exists and is not a tfew report; choose another --output/,
    );
    expect(await readFile(join(work, "mine.html"), "utf8")).toBe("<p>my notes</p>");
    const again = await runCli(["report", "a", "b", "--output", "report.html"], { cwd: work });
    expect(again.stderr).toMatch(/^tfew: error: report: report\.html already exists; give --overwrite/);
    expectOk(await runCli(["report", "a", "b", "--output", "report.html", "--overwrite"], { cwd: work })); // its own earlier report
  });
});

describe.skipIf(browser === null)("report.html in headless Chromium (no network)", () => {
  it("has every chart, and one point per logged step in each curve as the browser parsed it", async () => {
    const html = await readFile(join(work, "report.html"), "utf8");
    expect(html).not.toMatch(/<script|<link|src=|href=|url\(/); // self-contained
    await writeFile(join(work, "probe.html"), html.replace("</body>", `${PROBE}</body>`));
    const dom = dumpDom(browser as string, join(work, "probe.html"));
    expect(dom).toContain('data-probe="done"');
    const charts = [
      ...dom.matchAll(/<svg class="chart[^"]*" data-chart="([^"]+)"[^>]*data-browser-width="([\d.]+)"/g),
    ].map((m) => [m[1], Number(m[2])] as const);
    expect(charts.map(([id]) => id)).toEqual([
      "train/loss",
      "train/lm_loss",
      "train/ul_loss",
      "train/ln_loss",
      "train/lr",
      "train/grad_norm",
      "train/examples_per_s",
      "train/tokens_per_s",
      "eval/confusion",
      "eval/f1",
    ]);
    for (const [, width] of charts) expect(width).toBeGreaterThan(200);

    const lines = [...dom.matchAll(/<polyline ([^>]*)>/g)].map((m) =>
      Object.fromEntries([...(m[1] as string).matchAll(/([\w-]+)="([^"]*)"/g)].map((x) => [x[1], x[2]])),
    );
    const loss = lines.filter((l) => l.class === "raw" || l.class === "smoothed");
    expect(loss.length).toBe(8 * 2 * 2 - 2); // 8 charts × 2 runs × (raw + smoothed), but lr is not smoothed
    for (const l of loss) {
      expect(l["data-browser-points"]).toBe(l["data-points"]);
      expect(Number(l["data-points"])).toBe(STEPS[l["data-series"] as "a" | "b"]); // every logged step, both runs
      const [w, h] = (l["data-browser-box"] as string).split("x").map(Number) as [number, number];
      expect(w).toBeGreaterThan(50); // spans the plot horizontally
      expect(h).toBeGreaterThanOrEqual(0);
    }
    expect(dom.match(/class="legend-entry"/g)?.length).toBe(16); // two runs in each of the 8 training charts
    expect(dom).toMatch(/class="chart heatmap" data-chart="eval\/confusion" data-cells="9"/); // 3 demo labels
  });

  it("renders a screenshot that is not blank and shows the first run's line color", async () => {
    const png = join(work, "shot.png");
    screenshot(browser as string, join(work, "report.html"), png, { width: 1340, height: 1000 });
    const image = PNG.sync.read(await readFile(png));
    expect([image.width, image.height]).toEqual([1340, 1000]);
    const colors = new Map<number, number>();
    for (let i = 0; i < image.data.length; i += 4) {
      const rgb =
        ((image.data[i] as number) << 16) | ((image.data[i + 1] as number) << 8) | (image.data[i + 2] as number);
      colors.set(rgb, (colors.get(rgb) ?? 0) + 1);
    }
    const pixels = image.width * image.height;
    const background = Math.max(...colors.values());
    expect(colors.size).toBeGreaterThan(200); // text, lines, fills: many colors
    expect(1 - background / pixels).toBeGreaterThan(0.3); // most of the page is not the background color
    expect(colors.get(0x4e79a7) ?? 0).toBeGreaterThan(200); // run a's solid curves (palette color 1)
  });
});
