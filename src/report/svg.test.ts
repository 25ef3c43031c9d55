import { describe, expect, it } from "vitest";
import { autoScale, el, esc, fmtTick, legend, linearScale, logScale, niceTicks, polylinePoints } from "./svg.js";

describe("niceTicks", () => {
  it("picks 1-2-5 steps and widens the domain to the outer ticks", () => {
    expect(niceTicks(0, 60, 6)).toEqual({ ticks: [0, 10, 20, 30, 40, 50, 60], domain: [0, 60] });
    expect(niceTicks(0.13, 0.87, 4)).toEqual({ ticks: [0, 0.2, 0.4, 0.6, 0.8, 1], domain: [0, 1] });
    expect(niceTicks(-0.0175, 0.587, 5).ticks).toEqual([-0.2, 0, 0.2, 0.4, 0.6]);
    expect(niceTicks(3, 3).ticks).toEqual([2.6, 2.8, 3, 3.2, 3.4]); // a constant series gets ±10%
    expect(niceTicks(0, 0).domain).toEqual([-1, 1]);
    expect(niceTicks(Number.NaN, 1)).toEqual({ ticks: [0, 1], domain: [0, 1] });
  });
});

describe("scales", () => {
  it("linear maps the (nice) domain onto the range, inverted ranges included (SVG y grows down)", () => {
    const y = linearScale([0, 9.5], [200, 0]);
    expect(y.domain).toEqual([0, 10]);
    expect(y(0)).toBe(200);
    expect(y(10)).toBe(0);
    expect(y(2.5)).toBe(150);
  });

  it("log maps decades evenly, widened to whole decades, with 1-2-5 ticks over few decades", () => {
    const y = logScale([0.87, 25.4], [300, 0]);
    expect(y.domain).toEqual([0.1, 100]);
    expect(y(1)).toBeCloseTo(200, 10);
    expect(y(10)).toBeCloseTo(100, 10);
    expect(y.ticks).toEqual([0.1, 1, 10, 100]); // three decades: decades only
    expect(logScale([0.2, 8], [1, 0]).ticks).toEqual([0.1, 0.2, 0.5, 1, 2, 5, 10]);
    expect(logScale([1e-4, 10], [1, 0]).ticks).toEqual([1e-4, 1e-3, 0.01, 0.1, 1, 10]);
  });

  it("autoScale goes log only for positive values spanning more than 30x", () => {
    expect(autoScale(0.9, 25.4, [0, 1]).kind).toBe("linear");
    expect(autoScale(0.5, 25.4, [0, 1]).kind).toBe("log");
    expect(autoScale(0, 25.4, [0, 1]).kind).toBe("linear");
  });
});

describe("polylinePoints", () => {
  it("skips null, NaN and (on log scales) non-positive values and counts the rest", () => {
    const x = linearScale([0, 10], [0, 100]);
    const y = linearScale([0, 10], [100, 0]);
    expect(polylinePoints([1, 2, 3, 4], [5, null, Number.NaN, 10], x, y)).toEqual({ points: "10,50 40,0", count: 2 });
    const logY = logScale([1, 100], [100, 0]);
    expect(polylinePoints([1, 2], [0, 10], x, logY)).toEqual({ points: "20,50", count: 1 });
  });
});

describe("el / esc / fmtTick", () => {
  it("escapes text and attributes, rounds numbers, drops undefined attributes", () => {
    expect(esc(`a<b & "c" 'd'>`)).toBe("a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;");
    expect(el("rect", { x: 1.23456, y: undefined, "data-name": 'x"y' })).toBe('<rect x="1.23" data-name="x&quot;y"/>');
    expect(el("g", {}, "<a/>", "<b/>")).toBe("<g><a/><b/></g>");
  });

  it("formats ticks compactly", () => {
    expect([0, 0.003, 0.25, 12.5, 5000, 15000, 2_500_000, 0.0001, -0.2].map(fmtTick)).toEqual([
      "0",
      "0.003",
      "0.25",
      "12.5",
      "5000",
      "15k",
      "2.5M",
      "1e-4",
      "-0.2",
    ]);
  });
});

describe("legend", () => {
  it("lays entries out in rows that wrap at the width and reports the height used", () => {
    const one = legend([{ name: "run1", color: "#000" }], { x: 0, y: 0, width: 300 });
    expect(one.height).toBe(16);
    expect(one.svg).toContain('data-name="run1"');
    const many = legend(
      Array.from({ length: 8 }, (_, i) => ({ name: `a longer run name ${i}`, color: "#000" })),
      { x: 0, y: 0, width: 300 },
    );
    expect(many.height).toBe(8 * 16); // each ~170 px wide: one per row
    expect(many.svg.match(/class="legend-entry"/g)).toHaveLength(8);
    expect(legend([{ name: "b", color: "#f00", swatch: "band" }], { x: 0, y: 0, width: 300 }).svg).toContain("<rect");
    expect(legend([], { x: 0, y: 0, width: 300 }).height).toBe(0);
  });
});
