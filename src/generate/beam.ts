// Beam search as transformers 4.57 `_beam_search` does it (vectorized version): per step log_softmax, processors,
// + running scores, top 2·num_beams over beams×vocab; a candidate that ends in </s> or reaches max_new_tokens is a
// finished hypothesis only when it ranks in the top num_beams, scored Σ / L^length_penalty (L = generated tokens);
// the next running beams are the best num_beams that did not finish. Caches are reordered per beam.
import { tf } from "../backend/tf.js";
import type { DecoderSession } from "../engine/decoder-session.js";
import { processScores } from "./processors.js";
import { rowOffsets, type DecodeSettings, type Hypothesis } from "./search.js";

export interface BeamSettings {
  numBeams: number;
  lengthPenalty: number;
  earlyStopping: boolean | "never";
  numReturnSequences: number;
}

const NEG = -1e9; // transformers' "very large negative value"

interface Beam {
  seq: number[]; // decoder start token first
  score: number; // accumulated processed log-probs (float32, as the running scores)
  logprob: number; // Σ raw log p
}

interface Finished extends Beam {
  done: boolean; // is_sent_finished
}

/** Per-input state: running beams, the best finished hypotheses, and whether improvement is still possible. */
interface InputState {
  running: Beam[];
  finished: Finished[];
  open: boolean; // is_early_stop_heuristic_unsatisfied
}

interface Candidate extends Beam {
  from: number; // beam index it extends
  hits: boolean; // ended in </s> or reached max_new_tokens
}

const f32 = Math.fround;

/** Beam search over a session with numBeams rows per input; numReturnSequences hypotheses per input, best first. */
export async function beamSearch(session: DecoderSession, s: DecodeSettings, b: BeamSettings): Promise<Hypothesis[][]> {
  const B = b.numBeams;
  const keep = 2 * B;
  const states: InputState[] = Array.from({ length: session.batch }, () => ({
    running: Array.from({ length: B }, (_, i) => ({ seq: [s.startId], score: i === 0 ? 0 : NEG, logprob: 0 })),
    finished: Array.from({ length: B }, () => ({ seq: [], score: NEG, logprob: 0, done: false })),
    open: true,
  }));
  for (let step = 0; step < s.maxNewTokens; step++) {
    const running = states.flatMap((st) => st.running);
    const tokens = Int32Array.from(running, (beam) => beam.seq.at(-1) as number);
    const beamScores = Float32Array.from(running, (beam) => beam.score);
    const [values, indices, raw] = (await session.step(tokens, (logits) => {
      const [rows, vocab] = logits.shape;
      const logp = tf.logSoftmax(logits); // [rows, vocab]
      const scores = processScores(
        logp,
        running.map((beam) => beam.seq),
        s,
        step,
      );
      const acc = tf.add(scores, tf.reshape(tf.tensor1d(beamScores), [rows, 1])); // [rows, vocab]
      const perInput = tf.reshape(acc, [session.batch, B * vocab]); // [batch, beams·vocab]
      const top = tf.topk(perInput, keep); // [batch, 2·beams]
      const flat = tf.add(top.indices, rowOffsets(session.batch, B * vocab)); // [batch, 2·beams]
      return [top.values, top.indices, tf.gather(tf.reshape(logp, [-1]), tf.reshape(flat, [-1]))];
    })) as [Float32Array, Float32Array, Float32Array];
    const vocab = session.vocab;
    const from = new Int32Array(session.rows);
    let allHit = true;
    states.forEach((st, i) => {
      const candidates: Candidate[] = [];
      for (let j = 0; j < keep; j++) {
        const index = indices[i * keep + j] as number;
        const beam = st.running[Math.floor(index / vocab)] as Beam;
        const token = index % vocab;
        candidates.push({
          seq: [...beam.seq, token],
          score: values[i * keep + j] as number,
          logprob: beam.logprob + (raw[i * keep + j] as number),
          from: Math.floor(index / vocab),
          hits: token === s.eosId || step + 1 === s.maxNewTokens,
        });
        allHit &&= (candidates.at(-1) as Candidate).hits;
      }
      st.running = nextRunning(candidates, B);
      st.running.forEach((beam, k) => (from[i * B + k] = i * B + (beam as Candidate).from));
      st.finished = updateFinished(st, candidates, { ...b, generated: step + 1 });
      st.open = st.open && improvementPossible(st, b, { generated: step + 1, maxNewTokens: s.maxNewTokens });
    });
    session.reorder(from);
    const anyOpen = states.some((st) => st.open);
    const allFull = states.every((st) => st.finished.every((h) => h.done)) && b.earlyStopping === true;
    if (!anyOpen || allFull || allHit) break;
  }
  return states.map((st) =>
    st.finished
      .filter((h) => h.done)
      .slice(0, b.numReturnSequences)
      .map((h) => ({ ids: h.seq.slice(1), logprob: h.logprob, score: h.score })),
  );
}

/** _get_running_beams_for_next_iteration: the best numBeams candidates, finished ones pushed down by −1e9. */
function nextRunning(candidates: readonly Candidate[], numBeams: number): Candidate[] {
  return candidates
    .map((c, j) => ({ c: { ...c, score: c.hits ? f32(c.score + NEG) : c.score }, j }))
    .sort((x, y) => y.c.score - x.c.score || x.j - y.j)
    .slice(0, numBeams)
    .map((x) => x.c);
}

/** _update_finished_beams: merge the candidates that just finished (top numBeams only) into the finished set. */
function updateFinished(
  st: InputState,
  candidates: readonly Candidate[],
  o: BeamSettings & { generated: number },
): Finished[] {
  const full = st.finished.every((h) => h.done) && o.earlyStopping === true;
  const scored = candidates.map((c, j) => {
    const justFinished = c.hits && j < o.numBeams;
    let score = f32(c.score / o.generated ** o.lengthPenalty);
    if (full) score = f32(score + NEG);
    if (!st.open) score = f32(score + NEG);
    if (!justFinished) score = f32(score + NEG);
    return { seq: c.seq, score, logprob: c.logprob, done: justFinished };
  });
  return [...st.finished, ...scored]
    .map((h, j) => ({ h, j }))
    .sort((x, y) => y.h.score - x.h.score || x.j - y.j)
    .slice(0, o.numBeams)
    .map((x) => x.h);
}

/** _check_early_stop_heuristic: can the best running beam still beat the worst finished hypothesis? */
function improvementPossible(st: InputState, b: BeamSettings, o: { generated: number; maxNewTokens: number }): boolean {
  const length = b.earlyStopping === "never" && b.lengthPenalty > 0 ? o.maxNewTokens : o.generated;
  const best = (st.running[0] as Beam).score / length ** b.lengthPenalty;
  const worst = Math.min(...st.finished.map((h) => h.score));
  return st.finished.some((h) => best > (h.done ? worst : NEG));
}
