// Label Studio JSON exports (a list of tasks: {id, data: {...}, annotations: [{result: [{type: "choices",
// from_name, value: {choices: [...]}}], was_cancelled, ground_truth, created_at, updated_at}]}) as a task table.
import { TfewError } from "../errors.js";
import { cellText } from "./columnar.js";
import { readUtf8File, type Table, type TableRow } from "./table.js";

export interface LabelStudioOptions {
  /** The table column that receives each task's label; also picks the choices control when there are several. */
  labelField: string;
  /** The ID column: data[idField] when tasks carry it, else the Label Studio task id. */
  idField?: string;
}

export interface Vote {
  label: string;
  time: string; // updated_at ?? created_at ("" when absent); ISO strings sort by time
  order: number; // position in the annotations list, the tie-break when times are equal or absent
  groundTruth: boolean;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === "object" && !Array.isArray(v);

/** The choices results of an annotation, as [from_name, choices]. */
function choiceResults(annotation: Json): [string, unknown[]][] {
  const result = Array.isArray(annotation.result) ? annotation.result : [];
  return result.filter(isObject).flatMap((r): [string, unknown[]][] => {
    const choices = isObject(r.value) ? r.value.choices : undefined;
    return (r.type === undefined || r.type === "choices") && Array.isArray(choices) ? [[String(r.from_name ?? ""), choices]] : [];
  });
}

/** The choices control the labels come from: the only one, or the one named like data.label_field. */
function pickControl(file: string, tasks: Json[], labelField: string): string | undefined {
  const names = new Set<string>();
  for (const task of tasks) for (const a of annotationsOf(task)) for (const [name] of choiceResults(a)) names.add(name);
  if (names.size <= 1) return [...names][0];
  if (names.has(labelField)) return labelField;
  const list = [...names].map((n) => `"${n}"`).join(", ");
  throw new TfewError(`${file} has several choices controls (${list}); set data.label_field to the one that holds the class`);
}

function annotationsOf(task: Json): Json[] {
  return Array.isArray(task.annotations) ? task.annotations.filter(isObject) : [];
}

/** The label votes of one task: non-cancelled annotations with one choice in the control. */
function votesOf(task: Json, control: string | undefined, at: string): Vote[] {
  const votes: Vote[] = [];
  annotationsOf(task).forEach((a, order) => {
    if (a.was_cancelled === true) return;
    const picked = choiceResults(a).filter(([name]) => control === undefined || name === control);
    const choices = picked.flatMap(([, c]) => c);
    if (choices.length === 0) return;
    if (choices.length > 1 || typeof choices[0] !== "string") {
      throw new TfewError(`${at} annotation ${String(a.id ?? order + 1)} has ${choices.length} choices (${JSON.stringify(choices)}); tfew needs one class per example, so fix it in Label Studio`);
    }
    const time = typeof a.updated_at === "string" ? a.updated_at : typeof a.created_at === "string" ? a.created_at : "";
    votes.push({ label: choices[0] as string, time, order, groundTruth: a.ground_truth === true });
  });
  return votes;
}

const later = (a: Vote, b: Vote): boolean => a.time > b.time || (a.time === b.time && a.order > b.order);

/**
 * The rule for several annotations: an annotation marked ground truth decides (the latest one if several);
 * otherwise the majority choice; a tie goes to the tied label whose latest vote is the most recent.
 * No vote (no annotation, or only cancelled/skipped ones) → "" (unlabelled).
 */
export function resolveVotes(votes: readonly Vote[]): string {
  const latest = (list: readonly Vote[]): Vote | undefined => list.reduce<Vote | undefined>((a, v) => (a === undefined || later(v, a) ? v : a), undefined);
  const truth = votes.filter((v) => v.groundTruth);
  if (truth.length > 0) return (latest(truth) as Vote).label;
  const tally = new Map<string, Vote[]>();
  for (const v of votes) tally.set(v.label, [...(tally.get(v.label) ?? []), v]);
  let best: { label: string; count: number; latest: Vote } | undefined;
  for (const [label, list] of tally) {
    const entry = { label, count: list.length, latest: latest(list) as Vote };
    if (best === undefined || entry.count > best.count || (entry.count === best.count && later(entry.latest, best.latest))) best = entry;
  }
  return best?.label ?? "";
}

async function readTasks(file: string): Promise<Json[]> {
  const text = await readUtf8File(file, "Label Studio export");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new TfewError(`${file} is not valid JSON (${String(error).split("\n")[0]}); export the project again as JSON`, { cause: error });
  }
  if (!Array.isArray(parsed) || parsed.some((t) => !isObject(t) || !isObject(t.data))) {
    throw new TfewError(`${file} is not a Label Studio JSON export (a list of tasks, each with a "data" object); export the project as "JSON", not "JSON-MIN" or CSV`);
  }
  if (parsed.length === 0) throw new TfewError(`Label Studio export ${file} has no tasks; export a project that has some`);
  return parsed as Json[];
}

/** Tasks → rows: the data fields, the resolved label in options.labelField, an ID. Unlabelled rows go to test. */
export async function readLabelStudio(file: string, options: LabelStudioOptions): Promise<Table> {
  const tasks = await readTasks(file);
  const control = pickControl(file, tasks, options.labelField);
  const idField = options.idField ?? "ID";
  const columns = new Set<string>();
  const rows = tasks.map((task, i): TableRow => {
    const taskId = String(task.id ?? i + 1);
    const at = `${file} task ${taskId} (row ${i + 1})`;
    const values: Record<string, string> = {};
    for (const [key, value] of Object.entries(task.data as Json)) {
      if (key === options.labelField) continue; // the annotation is the label, not a data field of that name
      const text = cellText(value);
      if (text === undefined) throw new TfewError(`${at} data field "${key}" is an object or list; tfew reads text and number fields`);
      values[key] = text;
      columns.add(key);
    }
    if (values[idField] === undefined) values[idField] = taskId;
    values[options.labelField] = resolveVotes(votesOf(task, control, at));
    return { values, row: i + 1, task: taskId };
  });
  if (rows.every((r) => r.values[options.labelField] === "")) {
    throw new TfewError(`Label Studio export ${file} has no annotated tasks (${tasks.length} tasks, none with a non-cancelled choice); annotate some in Label Studio and export again`);
  }
  return { file, format: "label-studio", columns: [...columns, idField, options.labelField].filter((c, i, all) => all.indexOf(c) === i), rows, unlabeledToTest: true };
}
