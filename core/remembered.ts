/**
 * A pure function of a text with its answers remembered for the process: at most `maxKept` texts, then all are
 * forgotten at once and remembering starts again (cheaper than tracking use, and a national run asks far fewer
 * distinct questions). For functions asked the same questions in every stack a synth worker builds or checks.
 * An answer is shared by every caller, so a mutable one should be frozen by `compute`.
 */
export function remembered<T>(compute: (text: string) => T, maxKept = 20_000): (text: string) => T {
  const kept = new Map<string, T>();
  return (text) => {
    let answer = kept.get(text);
    if (answer === undefined) {
      answer = compute(text);
      if (kept.size >= maxKept) kept.clear();
      kept.set(text, answer);
    }
    return answer;
  };
}
