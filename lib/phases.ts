/** Timings of a command's phases, for one `--debug` line: where the time of a step goes. */

/** Marks phases as they end; the first one counts from the start of the process. */
export class Phases {
  #last = 0;
  readonly #parts: [string, number][] = [];

  /** Ends a phase named `name` now. */
  mark(name: string): void {
    const now = performance.now();
    this.#parts.push([name, now - this.#last]);
    this.#last = now;
  }

  /** "name 1.2 ms, other 3.4 ms (total 4.6 ms since start)". */
  format(): string {
    const parts = this.#parts.map(([n, ms]) => `${n} ${ms.toFixed(1)} ms`).join(", ");
    return `${parts} (total ${this.#last.toFixed(1)} ms since start)`;
  }
}
