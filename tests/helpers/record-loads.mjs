// `node --import ./tests/helpers/record-loads.mjs ...`: appends the URL of every module the process loads
// (through the ESM loader: every import, and the entry of each CommonJS package imported) to $TFEW_LOAD_LOG.
import { register } from "node:module";

register(
  "data:text/javascript," +
    encodeURIComponent(
      `import { appendFileSync } from "node:fs";
export async function load(url, context, next) {
  appendFileSync(process.env.TFEW_LOAD_LOG, url + "\\n");
  return next(url, context);
}`,
    ),
);
