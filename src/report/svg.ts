// A small SVG writer: escaping, elements, linear and log scales with "nice" ticks (1-2-5 × 10^k, as d3 and
// TensorBoard's axes do), polylines that skip missing values, and a legend. Pure string building, no DOM.

/** Escapes text and attribute values for XML/HTML. */
export function esc(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

export type Attrs = Readonly<Record<string, string | number | undefined>>;

/** `<tag a="1">children</tag>` (self-closing without children); undefined attributes are left out. */
export function el(tag: string, attrs: Attrs, ...children: string[]): string {
  const parts = Object.entries(attrs)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([k, v]) => ` ${k}="${esc(typeof v === "number" ? fmtCoord(v) : v)}"`);
  return children.length === 0
    ? `<${tag}${parts.join("")}/>`
    : `<${tag}${parts.join("")}>${children.join("")}</${tag}>`;
}

/** Coordinates to 2 decimals (sub-pixel is plenty; keeps files small). */
export function fmtCoord(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** A tick label: 4 significant digits, k / M for large values, exponent for tiny ones. */
export function fmtTick(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  if (a < 1e-3) return v.toExponential(0);
  return String(Number(v.toPrecision(4)));
}

/** The 1-2-5 × 10^k step nearest above `raw`. */
function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  return (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10) * power;
}

/** About `count` evenly spaced round ticks covering [min, max], and the domain widened to the outer ticks. */
export function niceTicks(min: number, max: number, count = 5): { ticks: number[]; domain: [number, number] } {
  if (!(Number.isFinite(min) && Number.isFinite(max))) return { ticks: [0, 1], domain: [0, 1] };
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    [min, max] = [min - pad, max + pad];
  }
  const step = niceStep((max - min) / Math.max(1, count));
  const lo = Math.floor(min / step + 1e-9) * step;
  const hi = Math.ceil(max / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let i = 0; lo + i * step <= hi + step * 1e-9; i++) ticks.push(Number((lo + i * step).toPrecision(12)));
  return { ticks, domain: [ticks[0] as number, ticks.at(-1) as number] };
}

export interface Scale {
  (v: number): number;
  readonly kind: "linear" | "log";
  readonly domain: readonly [number, number];
  readonly ticks: readonly number[];
}

/** Maps [domain] onto [range] linearly; `nice` widens the domain to round ticks. */
export function linearScale(
  domain: readonly [number, number],
  range: readonly [number, number],
  options: { nice?: boolean; ticks?: number } = {},
): Scale {
  const nice = niceTicks(domain[0], domain[1], options.ticks ?? 5);
  const [d0, d1] = options.nice === false && domain[0] !== domain[1] ? domain : nice.domain;
  const ticks = options.nice === false ? nice.ticks.filter((t) => t >= d0 && t <= d1) : nice.ticks;
  const f = (v: number) => range[0] + ((v - d0) / (d1 - d0)) * (range[1] - range[0]);
  return Object.assign(f, { kind: "linear" as const, domain: [d0, d1] as const, ticks });
}

/** Maps positive [domain] onto [range] by log10, widened to whole decades; ticks at 1, 2, 5 × 10^k when few decades. */
export function logScale(domain: readonly [number, number], range: readonly [number, number]): Scale {
  const e0 = Math.floor(Math.log10(domain[0]));
  const e1 = Math.max(e0 + 1, Math.ceil(Math.log10(domain[1])));
  const ticks: number[] = [];
  for (let e = e0; e <= e1; e++)
    for (const m of e1 - e0 <= 2 ? [1, 2, 5] : [1])
      if (e < e1 || m === 1) ticks.push(Number((m * 10 ** e).toPrecision(12)));
  const f = (v: number) => range[0] + ((Math.log10(v) - e0) / (e1 - e0)) * (range[1] - range[0]);
  return Object.assign(f, { kind: "log" as const, domain: [10 ** e0, 10 ** e1] as const, ticks });
}

/** A log scale when every value is positive and they span more than `ratio` (losses falling fast); else linear. */
export function autoScale(min: number, max: number, range: readonly [number, number], ratio = 30): Scale {
  return min > 0 && max / min > ratio ? logScale([min, max], range) : linearScale([min, max], range);
}

/**
 * SVG `points` of the finite (x, y) pairs; NaN / Infinity / null values are skipped (the line joins across
 * them, as TensorBoard's does). `count` is the number of points drawn.
 */
export function polylinePoints(
  xs: readonly number[],
  ys: readonly (number | null)[],
  x: Scale,
  y: Scale,
): { points: string; count: number } {
  const parts: string[] = [];
  xs.forEach((xv, i) => {
    const yv = ys[i];
    if (
      yv === null ||
      yv === undefined ||
      !Number.isFinite(yv) ||
      !Number.isFinite(xv) ||
      (y.kind === "log" && yv <= 0)
    )
      return;
    parts.push(`${fmtCoord(x(xv))},${fmtCoord(y(yv))}`);
  });
  return { points: parts.join(" "), count: parts.length };
}

export interface LegendEntry {
  name: string;
  color: string;
  /** a filled swatch (bands) rather than a line */
  swatch?: "line" | "band";
}

/** Legend rows from (x, y), wrapping at `width`; returns the SVG and the height it took. */
export function legend(
  entries: readonly LegendEntry[],
  at: { x: number; y: number; width: number },
): { svg: string; height: number } {
  const row = 16;
  const parts: string[] = [];
  let cx = at.x;
  let cy = at.y;
  for (const e of entries) {
    const label = e.name.length > 40 ? `${e.name.slice(0, 39)}…` : e.name;
    const w = 24 + label.length * 6.2 + 12;
    if (cx > at.x && cx + w > at.x + at.width) [cx, cy] = [at.x, cy + row];
    const mark =
      e.swatch === "band"
        ? el("rect", { x: cx, y: cy - 5, width: 18, height: 10, fill: e.color, "fill-opacity": 0.25, stroke: e.color })
        : el("line", { x1: cx, y1: cy, x2: cx + 18, y2: cy, stroke: e.color, "stroke-width": 2.5 });
    parts.push(
      el(
        "g",
        { class: "legend-entry", "data-name": e.name },
        mark,
        el("text", { x: cx + 24, y: cy + 4 }, esc(label)),
        el("title", {}, esc(e.name)),
      ),
    );
    cx += w;
  }
  return { svg: el("g", { class: "legend" }, ...parts), height: entries.length === 0 ? 0 : cy - at.y + row };
}

/** Ten distinct colors (Tableau 10), reused in order. */
export const PALETTE = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
] as const;

export function color(i: number): string {
  return PALETTE[i % PALETTE.length] as string;
}
