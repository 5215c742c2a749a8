/** Input files the CLI reads on a user's say-so (logs, vendor lists): regular, non-empty, bounded; else a clear error. */
import * as fs from "fs";

export class InputFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InputFileError";
  }
}

export function readInputFile(file: string, maxBytes: number, what: string): Buffer {
  checkInputFile(file, maxBytes, what);
  return fs.readFileSync(file);
}

/** The checks of readInputFile without reading, for files that are streamed. */
export function checkInputFile(file: string, maxBytes: number, what: string): fs.Stats {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new InputFileError(`${file}: no such file`);
  }
  if (!st.isFile()) throw new InputFileError(`${file}: not a regular file`);
  if (st.size === 0) throw new InputFileError(`${file}: the file is empty`);
  if (st.size > maxBytes) throw new InputFileError(`${file}: ${st.size} bytes is more than ${what} (${maxBytes})`);
  return st;
}
