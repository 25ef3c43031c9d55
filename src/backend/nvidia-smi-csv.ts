// Fields of nvidia-smi's CSV query mode (`--format=csv,noheader,nounits`), shared by backend/ (free device memory)
// and monitor/ (GPU sampling), which sits a floor above backend/. No imports.

// Any bracketed value ("[N/A]", "[Not Supported]", "[Unknown Error]", "[GPU requires reset]") and bare "N/A"
// mean nvidia-smi has no reading for that field on this GPU.
const NOT_AVAILABLE = /^(\[[^\]]*\]|N\/A)$/i;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** One numeric field: a number, null when nvidia-smi has no reading, undefined when the text is garbage. */
export function parseSmiNumber(raw: string): number | null | undefined {
  const text = raw.trim();
  if (NOT_AVAILABLE.test(text)) return null;
  if (!NUMBER.test(text)) return undefined;
  return Number(text);
}

/** A CSV line's fields, trimmed (nvidia-smi puts a space after each comma). */
export function splitSmiLine(line: string): string[] {
  return line.split(",").map((part) => part.trim());
}
