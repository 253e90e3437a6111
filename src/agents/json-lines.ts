// Pure: the JSON objects in one line of an agent's stdout. A CLI (or a pipe shared with a child)
// can splice two events onto one line, or print a partial or non-JSON line: the objects that are
// whole are recovered, the rest is reported as skipped, and nothing ever throws.

export type JsonObject = Record<string, unknown>;

export interface LineObjects {
  objects: JsonObject[];
  /** Some of the line was not a whole JSON object (logged by the caller, then ignored). */
  skipped: boolean;
}

const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function jsonObjectsInLine(line: string): LineObjects {
  const whole = tryParse(line);
  if (isObject(whole)) return { objects: [whole], skipped: false };
  // Scan for top-level {...} spans, minding strings and escapes.
  const objects: JsonObject[] = [];
  let skipped = false;
  let depth = 0;
  let start = -1;
  let inString = false;
  let escaped = false;
  let lastEnd = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      if (depth > 0) inString = true;
    } else if (c === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}' && depth > 0) {
      depth--;
      if (depth === 0) {
        const v = tryParse(line.slice(start, i + 1));
        if (isObject(v)) {
          if (line.slice(lastEnd, start).trim() !== '') skipped = true;
          objects.push(v);
          lastEnd = i + 1;
        } else skipped = true;
      }
    }
  }
  if (line.slice(lastEnd).trim() !== '') skipped = true;
  return { objects, skipped: skipped || objects.length === 0 };
}
