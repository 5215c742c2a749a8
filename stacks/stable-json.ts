/**
 * JSON text with sorted keys, byte for byte as json-stable-stringify 1.3 writes it with `{ space }` — the writer
 * cdktf 0.21 uses for every cdk.tf.json and manifest.json. No library writes these exact bytes: its empty arrays and
 * objects are broken over two lines ("[\n    ]"), and a native JSON.stringify of a key-sorted copy would move
 * integer-like keys first. That writer spends most of its time in per-value closures and helper calls, about a
 * tenth of each stack's synthesis CPU on the national bench; this one does the same walk in a single function with
 * the indents made once. test/cdktf-tuning.test.ts compares the two on real stacks and on the corner cases.
 */

/** Receives the text in order, a piece at a time. */
type Emit = (text: string) => void;

/** The walk both forms share: emits `value`'s text and returns true, or emits nothing and returns false. */
function writeStable(value: unknown, space: string, emit: Emit): boolean {
  const indents: string[] = [];
  /** what json-stable-stringify writes before a value at `level`: a new line and the indent, or nothing */
  const indent = (level: number) => (indents[level] ??= space ? "\n" + space.repeat(level) : "");
  const colon = space ? ": " : ":";
  const ancestors = new Set<object>();

  /** the value as written (after toJSON), or undefined where json-stable-stringify writes nothing for it */
  const written = (node: unknown): unknown => {
    if (node && typeof (node as { toJSON?: unknown }).toJSON === "function") node = (node as { toJSON: () => unknown }).toJSON();
    // JSON.stringify gives undefined for these and for nothing else
    return typeof node === "function" || typeof node === "symbol" ? undefined : node;
  };
  const write = (node: unknown, level: number): void => {
    if (typeof node !== "object" || node === null) return emit(JSON.stringify(node));
    const inner = indent(level + 1);
    if (Array.isArray(node)) {
      emit("[");
      for (let i = 0; i < node.length; i++) {
        emit(i ? "," + inner : inner);
        const v = written(node[i]);
        if (v === undefined) emit("null");
        else write(v, level + 1);
      }
      return emit(indent(level) + "]");
    }
    if (ancestors.has(node)) throw new TypeError("Converting circular structure to JSON");
    ancestors.add(node);
    emit("{");
    let first = true;
    const record = node as Record<string, unknown>;
    // Array.prototype.sort's default order (UTF-16 code units), as json-stable-stringify sorts
    for (const key of Object.keys(record).sort()) {
      const v = written(record[key]);
      if (v === undefined) continue;
      emit((first ? "" : ",") + inner + JSON.stringify(key) + colon);
      write(v, level + 1);
      first = false;
    }
    ancestors.delete(node);
    emit(indent(level) + "}");
  };
  const top = written(value);
  if (top === undefined) return false;
  write(top, 0);
  return true;
}

export function stableJson(value: unknown, space: string): string | undefined {
  let out = "";
  return writeStable(value, space, (text) => void (out += text)) ? out : undefined;
}

/**
 * Text gathered before it is encoded into the byte buffer: small enough that V8 keeps it, flattened, in the young
 * generation.
 */
const PIECE_CHARS = 16 * 1024;
/** The buffer is kept for the next stack up to this size; a larger one is let go after its call. */
const KEPT_BUFFER_BYTES = 16 * 1024 * 1024;
let kept: Buffer | undefined;

/**
 * The same bytes as `Buffer.from(stableJson(value, space))`, made without the text as one string. A stack's JSON is
 * up to half a megabyte of two-byte text (the Japanese names): V8 flattens such a string into fresh pages of its
 * large-object space and the encoder then copies it into fresh pages again, and on this VM the page faults alone
 * cost as much as writing the text (bench: a 435 KB stack, 7.3 ms whole against 3.0 ms in pieces). Here the text is
 * encoded a piece at a time into a buffer that is reused from one call to the next.
 *
 * The result is a view of that reused buffer: valid until the next call, so it is only for a caller that writes it
 * at once (cdktf's synthesizer, through cdktf-tuning.ts's writer). Undefined where stableJson gives undefined.
 */
export function stableJsonBytes(value: unknown, space: string): Uint8Array | undefined {
  let buffer = kept ?? Buffer.allocUnsafeSlow(1024 * 1024);
  let length = 0;
  let piece = "";
  const flush = () => {
    // at most three bytes of UTF-8 per UTF-16 code unit
    if (length + piece.length * 3 > buffer.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(buffer.length * 2, length + piece.length * 3));
      buffer.copy(grown, 0, 0, length);
      buffer = grown;
    }
    length += buffer.write(piece, length, "utf8");
    piece = "";
  };
  const wrote = writeStable(value, space, (text) => {
    piece += text;
    if (piece.length >= PIECE_CHARS) flush();
  });
  flush();
  kept = buffer.length <= KEPT_BUFFER_BYTES ? buffer : undefined;
  return wrote ? buffer.subarray(0, length) : undefined;
}
