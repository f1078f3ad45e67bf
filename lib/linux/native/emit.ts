/**
 * Writing a container init as a stage script: the common moves every part of it makes, over a
 * Script. Paths inside the container root are always reached through openat2 with
 * RESOLVE_IN_ROOT against an fd of the root, so nothing an image plants (symlinks, "..")
 * leads a mount or a mkdir outside it; missing directories are made one at a time below the
 * fd of their already-resolved parent. A mount target is then named by its fd's
 * /proc/self/fd path, which cannot move.
 */
import {
  AT_FDCWD,
  O_CLOEXEC,
  O_CREAT,
  O_EXCL,
  O_PATH,
  O_WRONLY,
  oDirectory,
  oNofollow,
  RESOLVE_IN_ROOT,
  RESOLVE_NO_MAGICLINKS,
} from "../../plan/abi.ts";
import { Errno } from "../../plan/errno.ts";
import type { Data, Label, Script, Slot } from "../../spawn/script.ts";
import { components } from "../resolve.ts";

/** What to create when a path is missing: directories all the way, or a file at the end. */
export type Create = "dir" | "file" | undefined;

/** The moves of an init script, bound to one Script and one report prefix ("denki init"). */
export class Emit {
  constructor(readonly s: Script, readonly who: string) {}

  get arch(): string {
    return this.s.arch;
  }

  /** A path argument. */
  str(v: string): Data {
    return this.s.str(v);
  }

  /** struct open_how for openat2: O_PATH, close-on-exec, resolved in the root. */
  #how(extra = 0): Data {
    return this.s.words([O_PATH | O_CLOEXEC | extra, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS]);
  }

  /** Opens a directory of the host (before the root switch) as an O_PATH fd. */
  openHostDir(path: string, what: string): Slot {
    const fd = this.s.slot();
    const flags = O_PATH | oDirectory(this.arch) | O_CLOEXEC;
    this.s.call("openat", [AT_FDCWD, this.str(path), flags], `${this.who}: ${what}`, { into: fd });
    return fd;
  }

  /**
   * Opens `path` inside the root `root` (an O_PATH fd) and returns a slot with the fd of it,
   * creating what is missing when `create` says so. With `onMissing` a missing path jumps
   * there (the slot then holds -ENOENT) instead of failing.
   */
  openIn(root: Slot, path: string, create: Create, what: string, onMissing?: Label): Slot {
    const parts = components(path);
    const s = this.s;
    const fail = `${this.who}: ${what}`;
    if (create !== undefined && parts.length > 0) {
      const dirs = create === "dir" ? parts : parts.slice(0, -1);
      let parent: Slot | undefined;
      for (let i = 0; i < dirs.length; i++) {
        s.call("mkdirat", [parent ?? root, this.str(dirs[i]!), 0o755], fail, {
          ok: [Errno.EEXIST],
        });
        const next = s.slot();
        const prefix = dirs.slice(0, i + 1).join("/");
        s.call("openat2", [root, this.str(prefix), this.#how(), 24], fail, { into: next });
        if (parent !== undefined) this.close(parent);
        parent = next;
      }
      if (create === "file") {
        const f = s.slot();
        const flags = O_CREAT | O_EXCL | O_WRONLY | oNofollow(this.arch) | O_CLOEXEC;
        s.call("openat", [parent ?? root, this.str(parts.at(-1)!), flags, 0o644], fail, {
          into: f,
          ok: [Errno.EEXIST],
        });
        this.close(f);
      }
      if (parent !== undefined) this.close(parent);
    }
    const fd = s.slot();
    const rel = parts.length === 0 ? "." : parts.join("/");
    s.call("openat2", [root, this.str(rel), this.#how(), 24], fail, {
      into: fd,
      ...(onMissing ? { onError: onMissing } : {}),
    });
    return fd;
  }

  /**
   * Makes (if missing) and opens directory `name` right below `parent`, an fd of a directory
   * the init itself just mounted (a fresh tmpfs: nothing of the image is in it), without a
   * walk from the root; a link there is refused rather than followed.
   */
  dirBelow(parent: Slot, name: string, what: string): Slot {
    const s = this.s;
    const fail = `${this.who}: ${what}`;
    s.call("mkdirat", [parent, this.str(name), 0o755], fail, { ok: [Errno.EEXIST] });
    const fd = s.slot();
    const flags = O_PATH | oDirectory(this.arch) | oNofollow(this.arch) | O_CLOEXEC;
    s.call("openat", [parent, this.str(name), flags], fail, { into: fd });
    return fd;
  }

  /** The /proc/self/fd path of a slot's fd (a mount target or source that cannot move). */
  fdPath(fd: Slot): Data {
    return this.s.format("/proc/self/fd/", fd, "name an fd");
  }

  /** mount(2) with strings or fd paths. */
  mount(
    source: Data | string | null,
    target: Data,
    fstype: string | null,
    flags: number,
    data: string | null,
    what: string,
    opts: { onError?: Label; ok?: number[] } = {},
  ): void {
    const str = (v: Data | string | null) =>
      v === null ? 0 : typeof v === "string" ? this.str(v) : v;
    this.s.call(
      "mount",
      [str(source), target, str(fstype), flags, str(data)],
      `${this.who}: ${what}`,
      opts,
    );
  }

  /** Closes a slot's fd and gives the slot back. */
  close(fd: Slot): void {
    this.s.call("close", [fd], "close", { ignore: true });
    this.s.release(fd);
  }
}
