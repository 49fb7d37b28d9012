// Where a JSON pointer (the server's error paths) sits in the text the marketer typed, so each
// error is shown at its exact line and column. A small tolerant scanner: it records, for every
// value, the range of its key (for object members) and of the value itself.

export interface Span { from: number; to: number }
export interface Located { key?: Span; value: Span }

export function locate(text: string): Map<string, Located> {
  const out = new Map<string, Located>();
  let i = 0;
  const ws = () => { while (i < text.length && /\s/.test(text[i])) i++; };
  const str = (): string => {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    try { return JSON.parse(text.slice(start, i)); } catch { return text.slice(start + 1, i - 1); }
  };
  const esc = (k: string) => k.replace(/~/g, "~0").replace(/\//g, "~1");
  const value = (path: string, key?: Span): void => {
    ws();
    const from = i;
    const c = text[i];
    if (c === "{") {
      i++; ws();
      while (i < text.length && text[i] !== "}") {
        if (text[i] !== '"') throw new Error("key expected");
        const kFrom = i;
        const k = str();
        const kSpan = { from: kFrom, to: i };
        ws();
        if (text[i] !== ":") throw new Error(": expected");
        i++;
        value(`${path}/${esc(k)}`, kSpan);
        ws();
        if (text[i] === ",") { i++; ws(); }
      }
      i++;
    } else if (c === "[") {
      i++; ws();
      let n = 0;
      while (i < text.length && text[i] !== "]") {
        value(`${path}/${n++}`);
        ws();
        if (text[i] === ",") { i++; ws(); }
      }
      i++;
    } else if (c === '"') {
      str();
    } else {
      while (i < text.length && !/[\s,\]}]/.test(text[i])) i++;
      if (i === from) throw new Error("value expected");
    }
    out.set(path || "/", { key, value: { from, to: i } });
  };
  try { value(""); } catch { /* a partial map still places what it can */ }
  return out;
}

/** The range to mark for a pointer: the member's key, else the value, else the nearest parent. */
export function spanOf(text: string, pointer: string, map = locate(text)): Span {
  let p = pointer === "/" ? "" : pointer;
  for (;;) {
    const hit = map.get(p || "/");
    if (hit) return hit.key ?? hit.value;
    if (!p) return { from: 0, to: Math.min(1, text.length) };
    p = p.slice(0, p.lastIndexOf("/"));
  }
}

/** Offset of a 1-based line/column ("line 2 column 9" in a JSON syntax error). */
export function offsetOf(text: string, line: number, col: number): number {
  let off = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf("\n", off);
    if (nl < 0) return text.length;
    off = nl + 1;
  }
  return Math.min(text.length, off + col - 1);
}

export function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, col: offset - before.lastIndexOf("\n") };
}
