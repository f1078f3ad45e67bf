/**
 * The registry through which the lifecycle finds the executors: `main.ts` fills it (see
 * executors/mod.ts), `create` selects from all of them, and the init loads the one `create`
 * chose, by the name it recorded. Only main.ts needs this module's code (the rest imports its
 * types), so it adds nothing to a command's start-up beyond main.ts itself.
 */
import { DenkiError, quote } from "./errors.ts";
import type { Executor } from "./executor.ts";

/** One registered executor: its name, and how to load its module (read only when needed). */
export interface ExecutorEntry {
  /** The name the loaded executor has (`Executor.name`); the init finds it by this name. */
  readonly name: string;
  /** Config annotations that choose this executor (known without loading it). */
  readonly annotations?: readonly string[];
  load(): Promise<Executor>;
}

/**
 * The executors denki knows, in the order `create` asks them (a catch-all such as Linux goes
 * last). Registering costs nothing: an executor's code loads on first use, so commands that
 * run no workload never read it, and an init loads only the executor `create` chose.
 */
export class ExecutorRegistry {
  #entries: ExecutorEntry[] = [];
  #loaded = new Map<string, Promise<Executor>>();

  /** Adds an executor after those registered so far; a name may be registered once. */
  register(entry: ExecutorEntry): void {
    if (entry.name === "" || this.#entries.some((e) => e.name === entry.name)) {
      throw new Error(`register executor ${quote(entry.name)}: the name is empty or taken`);
    }
    this.#entries.push(entry);
  }

  /** The registered names, in the order they are asked. */
  get names(): string[] {
    return this.#entries.map((e) => e.name);
  }

  /** Every config annotation that chooses an executor, in registration order. */
  get annotations(): string[] {
    return this.#entries.flatMap((e) => e.annotations ?? []);
  }

  /** Every executor, loaded, in the order they are asked (what `create` selects from). */
  all(): Promise<Executor[]> {
    return Promise.all(this.#entries.map((e) => this.#load(e)));
  }

  /** The executor registered as `name`, loaded (the init's, as `create` chose it). */
  get(name: string): Promise<Executor> {
    const entry = this.#entries.find((e) => e.name === name);
    if (entry === undefined) {
      return Promise.reject(
        new DenkiError(
          `cannot find executor ${quote(name)}: registered are ${this.names.join(", ")}`,
        ),
      );
    }
    return this.#load(entry);
  }

  #load(entry: ExecutorEntry): Promise<Executor> {
    let loading = this.#loaded.get(entry.name);
    if (loading === undefined) {
      loading = entry.load().then((executor) => {
        // The init finds an executor by the name `create` recorded: the two must agree.
        if (executor.name !== entry.name) {
          throw new Error(
            `load executor ${quote(entry.name)}: it calls itself ${quote(executor.name)}`,
          );
        }
        return executor;
      });
      this.#loaded.set(entry.name, loading);
    }
    return loading;
  }
}
