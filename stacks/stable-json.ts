/**
 * JSON text with sorted keys, byte for byte as json-stable-stringify 1.3 writes it with `{ space }` — the writer
 * cdktf 0.21 uses for every cdk.tf.json and manifest.json. No library writes these exact bytes: its empty arrays and
 * objects are broken over two lines ("[\n    ]"), and a native JSON.stringify of a key-sorted copy would move
 * integer-like keys first. That writer spends most of its time in per-value closures and helper calls, about a
 * tenth of each stack's synthesis CPU on the national bench; this one does the same walk in a single function with
 * the indents made once. test/cdktf-tuning.test.ts compares the two on real stacks and on the corner cases.
 */
export function stableJson(value: unknown, space: string): string | undefined {
  const indents: string[] = [];
  /** what json-stable-stringify writes before a value at `level`: a new line and the indent, or nothing */
  const indent = (level: number) => (indents[level] ??= space ? "\n" + space.repeat(level) : "");
  const colon = space ? ": " : ":";
  const ancestors = new Set<object>();

  const write = (node: unknown, level: number): string | undefined => {
    if (node && typeof (node as { toJSON?: unknown }).toJSON === "function") node = (node as { toJSON: () => unknown }).toJSON();
    if (node === undefined) return undefined;
    if (typeof node !== "object" || node === null) return JSON.stringify(node); // undefined for a function or symbol
    const inner = indent(level + 1);
    if (Array.isArray(node)) {
      let out = "[";
      for (let i = 0; i < node.length; i++) out += (i ? "," : "") + inner + (write(node[i], level + 1) ?? "null");
      return out + indent(level) + "]";
    }
    if (ancestors.has(node)) throw new TypeError("Converting circular structure to JSON");
    ancestors.add(node);
    let out = "{";
    let first = true;
    const record = node as Record<string, unknown>;
    // Array.prototype.sort's default order (UTF-16 code units), as json-stable-stringify sorts
    for (const key of Object.keys(record).sort()) {
      const v = write(record[key], level + 1);
      if (!v) continue;
      out += (first ? "" : ",") + inner + JSON.stringify(key) + colon + v;
      first = false;
    }
    ancestors.delete(node);
    return out + indent(level) + "}";
  };
  return write(value, 0);
}
