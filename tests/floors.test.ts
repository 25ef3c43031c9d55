// The rooms-and-floors map of CONTRIBUTING.md checked against the imports of every non-test .ts file in src/:
// rooms import only lower floors, no two rooms or files import each other in a circle, every room is on the map.
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SRC = join(ROOT, "src");

interface Import {
  from: string; // importing file, relative to the repository ("src/adapters/ia3.ts")
  specifier: string; // as written ("../model/layers.js")
  to: string; // imported file, relative to the repository ("src/model/layers.ts")
}

/** Floor of each room from CONTRIBUTING.md's map: "floor N  room/ ..." and continuation rows "         room/ ...". */
function parseFloors(markdown: string): Map<string, number> {
  const section = markdown.split(/^## /m).find((part) => part.startsWith("Architecture"));
  const block = section?.match(/```\n([\s\S]*?)```/)?.[1];
  if (block === undefined) throw new Error("CONTRIBUTING.md: no code block under '## Architecture'");
  const floors = new Map<string, number>();
  let floor: number | undefined;
  for (const line of block.split("\n")) {
    const row = line.match(/^(?:floor (\d+)\s+| {9})([a-z][\w-]*(?:\/|\.ts))(?:\s|$)/);
    if (row === null) continue;
    if (row[1] !== undefined) floor = Number(row[1]);
    const room = (row[2] as string).replace(/\/$/, "");
    if (floor === undefined) throw new Error(`CONTRIBUTING.md: room ${room} before any "floor N"`);
    if (floors.has(room)) throw new Error(`CONTRIBUTING.md: room ${room} is on the map twice`);
    floors.set(room, floor);
  }
  return floors;
}

/** Every non-test .ts file under src/, relative to the repository. */
function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [relative(ROOT, path)] : [];
  });
}

// Static imports and re-exports (type-only ones included), side-effect imports, and import("literal").
const NAMES = String.raw`(?:type\s+)?(?:[\w$]+\s*,?\s*)?(?:\{[^}]*\}|\*(?:\s+as\s+[\w$]+)?)?`;
const FROM = new RegExp(String.raw`^[ \t]*(?:import|export)\s+${NAMES}\s*from\s*["']([^"']+)["']`, "gm");
const BARE = /^[ \t]*import\s*["']([^"']+)["']/gm;
const DYNAMIC = /\bimport\(\s*["']([^"']+)["']\s*\)/g;
const IMPORT_LINE = /^[ \t]*import\b(?!\s*\()/gm;

/** The relative imports of one file, resolved to .ts files; throws on an import statement the patterns miss. */
function importsOf(file: string): Import[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const found = [...text.matchAll(FROM), ...text.matchAll(BARE)];
  const starts = new Set(found.map((m) => m.index));
  for (const m of text.matchAll(IMPORT_LINE)) {
    if (!starts.has(m.index)) throw new Error(`${file}: cannot read the import ${text.slice(m.index, m.index + 60)}`);
  }
  return [...found, ...text.matchAll(DYNAMIC)]
    .map((m) => m[1] as string)
    .filter((specifier) => specifier.startsWith("."))
    .map((specifier) => {
      const to = relative(ROOT, resolve(ROOT, dirname(file), specifier)).replace(/\.js$/, ".ts");
      return { from: file, specifier, to };
    });
}

/** The room of a file under src/: its first folder, or the file's own name for a loose file (errors.ts). */
function roomOf(file: string): string | undefined {
  const parts = file.split(sep);
  return parts[0] === "src" ? parts[1] : undefined;
}

/** One circle per strongly connected component with more than one node (Tarjan), written a → b → a. */
function findCycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const components: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node) as number);
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) as number, low.get(next) as number));
      } else if (stack.includes(next)) {
        low.set(node, Math.min(low.get(node) as number, index.get(next) as number));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let top: string;
    do {
      top = stack.pop() as string;
      component.push(top);
    } while (top !== node);
    if (component.length > 1) components.push(component);
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return components.map((component) => circleIn(graph, new Set(component)));
}

/** A shortest path from the component's first node (sorted) back to itself, inside the component. */
function circleIn(graph: ReadonlyMap<string, ReadonlySet<string>>, members: ReadonlySet<string>): string[] {
  const start = [...members].sort()[0] as string;
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift() as string;
    for (const next of [...(graph.get(node) ?? [])].sort()) {
      if (!members.has(next)) continue;
      if (next === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(previous.get(path[0] as string) as string);
        return [...path, start];
      }
      if (!previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  return [...members];
}

function addEdge(graph: Map<string, Set<string>>, from: string, to: string): void {
  if (!graph.has(from)) graph.set(from, new Set());
  if (!graph.has(to)) graph.set(to, new Set());
  graph.get(from)?.add(to);
}

const floors = parseFloors(readFileSync(join(ROOT, "CONTRIBUTING.md"), "utf8"));
const files = sourceFiles();
const imports = files.flatMap(importsOf).filter((edge) => roomOf(edge.to) !== undefined);

describe("rooms and floors (CONTRIBUTING.md)", () => {
  it("maps every room under src/ to a floor, and only rooms that exist; errors.ts is floor 0", () => {
    const rooms = new Set(files.map((file) => roomOf(file) as string));
    const problems = [
      ...[...rooms].filter((room) => !floors.has(room)).map((room) => `src/${room} is not on CONTRIBUTING.md's map`),
      ...[...floors.keys()].filter((room) => !rooms.has(room)).map((room) => `the map names ${room}, not in src/`),
    ];
    expect(problems).toEqual([]);
    expect(floors.get("errors.ts")).toBe(0);
  });

  it("resolves every relative import to a file under src/", () => {
    const missing = imports.filter((edge) => !existsSync(join(ROOT, edge.to)));
    expect(missing.map((edge) => `${edge.from} imports ${edge.specifier}: no ${edge.to}`)).toEqual([]);
  });

  it("has rooms import only rooms on lower floors", () => {
    const problems = imports.flatMap((edge) => {
      const [fromRoom, toRoom] = [roomOf(edge.from) as string, roomOf(edge.to) as string];
      const [fromFloor, toFloor] = [floors.get(fromRoom), floors.get(toRoom)];
      if (fromRoom === toRoom || fromFloor === undefined || toFloor === undefined || toFloor < fromFloor) return [];
      const where = toFloor === fromFloor ? "the same floor" : "a higher floor";
      const rooms = `${fromRoom} (floor ${fromFloor}) → ${toRoom} (floor ${toFloor})`;
      return [`${edge.from} imports "${edge.specifier}": ${rooms}, ${where}`];
    });
    expect(problems).toEqual([]);
  });

  it("has no circle of imports between rooms", () => {
    const graph = new Map<string, Set<string>>();
    for (const edge of imports) {
      const [fromRoom, toRoom] = [roomOf(edge.from) as string, roomOf(edge.to) as string];
      if (fromRoom !== toRoom) addEdge(graph, fromRoom, toRoom);
    }
    expect(findCycles(graph).map((circle) => circle.join(" → "))).toEqual([]);
  });

  it("has no circle of imports between files (type-only imports count)", () => {
    const graph = new Map<string, Set<string>>();
    for (const edge of imports) addEdge(graph, edge.from, edge.to);
    expect(findCycles(graph).map((circle) => circle.join(" → "))).toEqual([]);
  });
});

describe("the checker itself", () => {
  it("reads a floor table and finds a circle", () => {
    const map =
      "## Architecture: x\n\n```\nfloor 1  io/        a\n         backend/   b\n" +
      "                    more text, words/\nfloor 0  errors.ts  c\n```\n## Conventions\n";
    expect([...parseFloors(map)]).toEqual([
      ["io", 1],
      ["backend", 1],
      ["errors.ts", 0],
    ]);
    const graph = new Map([
      ["a", new Set(["b"])],
      ["b", new Set(["c"])],
      ["c", new Set(["a"])],
      ["d", new Set(["a"])],
    ]);
    expect(findCycles(graph)).toEqual([["a", "b", "c", "a"]]);
  });
});
