/**
 * runc-compatible logging. With `--log FILE` records go to that file, otherwise to stderr.
 * `--log-format json` writes one object per line with level, msg and time (what containerd's
 * shim parses to report a runtime failure); `text` writes logrus-style key=value lines.
 */

/** Log line format, as runc's --log-format. */
export type LogFormat = "text" | "json";

/** Severity levels, in increasing order. */
export type LogLevel = "debug" | "info" | "warning" | "error";

/** Where log records go and how they look. */
export interface LoggerOptions {
  /** Log file (opened for append on first use); stderr when absent. */
  file?: string | undefined;
  format: LogFormat;
  /** Emit debug records. */
  debug: boolean;
  /** Clock, injectable for tests. */
  now?: () => Date;
}

const encoder = new TextEncoder();

/** Renders one record as a line (with the trailing newline). */
export function formatRecord(format: LogFormat, level: LogLevel, msg: string, time: Date): string {
  const stamp = rfc3339(time);
  if (format === "json") return JSON.stringify({ level, msg, time: stamp }) + "\n";
  return `time="${stamp}" level=${level} msg=${JSON.stringify(msg)}\n`;
}

/** RFC 3339 in UTC with whole seconds, as runc's logrus writes its `time` field. */
function rfc3339(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** A small leveled logger writing synchronously (denki exits right after most records). */
export class Logger {
  #file: Deno.FsFile | undefined;
  readonly #opts: LoggerOptions;

  constructor(opts: LoggerOptions) {
    this.#opts = opts;
  }

  /** True when debug records are written. */
  get debugEnabled(): boolean {
    return this.#opts.debug;
  }

  /** Debug record, only with --debug. */
  debug(msg: string): void {
    if (this.#opts.debug) this.#write("debug", msg);
  }

  /** Informational record. */
  info(msg: string): void {
    this.#write("info", msg);
  }

  /** Warning record. */
  warn(msg: string): void {
    this.#write("warning", msg);
  }

  /**
   * Error record. With a log file, the error is also printed to stderr as a plain line, so a
   * person at a terminal and a shim reading the file both see it.
   */
  error(msg: string): void {
    this.#write("error", msg);
    if (this.#opts.file !== undefined) writeAll(Deno.stderr, encoder.encode(`${msg}\n`));
  }

  #write(level: LogLevel, msg: string): void {
    const line = formatRecord(this.#opts.format, level, msg, (this.#opts.now ?? nowDate)());
    const bytes = encoder.encode(line);
    if (this.#opts.file === undefined) {
      writeAll(Deno.stderr, bytes);
      return;
    }
    try {
      this.#file ??= Deno.openSync(this.#opts.file, { append: true, create: true, mode: 0o600 });
      writeAll(this.#file, bytes);
    } catch (err) {
      // A broken log file must not hide the record itself.
      writeAll(
        Deno.stderr,
        encoder.encode(`denki: cannot write log file ${this.#opts.file}: ${err}\n`),
      );
      writeAll(Deno.stderr, bytes);
    }
  }

  /** Closes the log file if one was opened. */
  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }
}

function nowDate(): Date {
  return new Date();
}

function writeAll(target: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += target.writeSync(bytes.subarray(off));
}
