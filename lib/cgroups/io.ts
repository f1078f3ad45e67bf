/**
 * File access to cgroupfs, behind a small interface so that the drivers can run against a
 * recording in-memory fake (MemoryIo) or a cgroupfs of plain files in a temp dir
 * (_fake_cgroupfs.ts) in unit tests. The real one uses raw syscalls: Deno's fs APIs refuse
 * /sys without --allow-all.
 */
import { DenkiError, quote, SyscallError } from "../errors.ts";
import { describeErrno } from "../plan/errno.ts";
import * as sc from "../sys/syscalls.ts";
import { readTextRaw } from "../sys/rawfs.ts";
import { attachDeviceProgram, loadDeviceProgram } from "../sys/bpf.ts";

/** What the cgroup drivers need from a filesystem. */
export interface CgroupIo {
  /** File contents, or undefined when the file does not exist. */
  read(path: string): string | undefined;
  /** Writes a value; throws a DenkiError naming the file and the value when refused. */
  write(path: string, value: string): void;
  /** Creates a directory; false when it already existed. */
  mkdir(path: string): boolean;
  /** Removes an empty cgroup directory; returns the errno (0 on success). */
  rmdir(path: string): number;
  /** True when the path exists. */
  exists(path: string): boolean;
  /** Names of the subdirectories (child cgroups) of a directory. */
  children(path: string): string[];
  /**
   * Loads a BPF_PROG_TYPE_CGROUP_DEVICE program and attaches it to a v2 cgroup directory
   * (cgroup v2 has no devices files). Absent where nothing can take one (a dry run).
   */
  attachDeviceProgram?(dir: string, program: Uint8Array): void;
}

/** A refused write, naming the file, the value and the kernel's reason. */
export class CgroupWriteError extends DenkiError {
  override name = "CgroupWriteError";
  constructor(readonly path: string, readonly value: string, readonly errno: number) {
    super(`cannot write ${quote(value)} to ${path}: ${describeErrno(errno)}`);
  }
}

/** cgroupfs through raw syscalls. */
export const realIo: CgroupIo = {
  read: (path) => readTextRaw(path),
  write(path, value) {
    let fd: number;
    try {
      fd = sc.open(path, sc.O_WRONLY | sc.O_CLOEXEC);
    } catch (err) {
      if (err instanceof SyscallError) throw new CgroupWriteError(path, value, err.errno);
      throw err;
    }
    try {
      sc.writeAll(fd, new TextEncoder().encode(value), path);
    } catch (err) {
      if (err instanceof SyscallError) throw new CgroupWriteError(path, value, err.errno);
      throw err;
    } finally {
      sc.close(fd);
    }
  },
  mkdir(path) {
    const existed = sc.fileType(sc.AT_FDCWD, path) === sc.S_IFDIR;
    if (existed) return false;
    sc.mkdirat(sc.AT_FDCWD, path, 0o755, true);
    return true;
  },
  rmdir(path) {
    try {
      sc.unlinkat(sc.AT_FDCWD, path, sc.AT_REMOVEDIR);
      return 0;
    } catch (err) {
      if (err instanceof SyscallError) return err.errno;
      throw err;
    }
  },
  exists: (path) => sc.fileType(sc.AT_FDCWD, path, 0) !== undefined,
  children(path) {
    try {
      return sc.listSubdirs(path);
    } catch {
      return [];
    }
  },
  attachDeviceProgram(dir, program) {
    const cgroupFd = sc.open(dir, sc.O_RDONLY | sc.O_DIRECTORY | sc.O_CLOEXEC);
    try {
      const progFd = loadDeviceProgram(program);
      try {
        // The attachment lives as long as the cgroup; the fd is not needed after this.
        attachDeviceProgram(cgroupFd, progFd);
      } finally {
        sc.close(progFd);
      }
    } catch (err) {
      throw new DenkiError(`cannot attach the device filter to ${dir}: ${(err as Error).message}`);
    } finally {
      sc.close(cgroupFd);
    }
  },
};

/**
 * An in-memory cgroupfs for unit tests: directories appear on mkdir, every write is recorded
 * in order, and chosen files can be made to refuse writes with an errno.
 */
export class MemoryIo implements CgroupIo {
  readonly files = new Map<string, string>();
  readonly dirs = new Set<string>();
  readonly writes: string[] = [];
  readonly refuse = new Map<string, number>();
  /** Device programs attached, in order. */
  readonly programs: { dir: string; program: Uint8Array }[] = [];

  read(path: string): string | undefined {
    return this.files.get(path);
  }
  write(path: string, value: string): void {
    const errno = this.refuse.get(path.slice(path.lastIndexOf("/") + 1)) ?? this.refuse.get(path);
    if (errno !== undefined) throw new CgroupWriteError(path, value, errno);
    this.writes.push(`${path}=${value}`);
    this.files.set(path, value);
  }
  mkdir(path: string): boolean {
    if (this.dirs.has(path)) return false;
    this.dirs.add(path);
    return true;
  }
  rmdir(path: string): number {
    if (!this.dirs.has(path)) return 2;
    if (this.children(path).length > 0) return 16;
    this.dirs.delete(path);
    return 0;
  }
  exists(path: string): boolean {
    return this.dirs.has(path) || this.files.has(path);
  }
  children(path: string): string[] {
    const prefix = `${path}/`;
    return [...this.dirs].filter((d) =>
      d.startsWith(prefix) && !d.slice(prefix.length).includes("/")
    )
      .map((d) => d.slice(prefix.length));
  }
  attachDeviceProgram(dir: string, program: Uint8Array): void {
    this.programs.push({ dir, program });
  }
}
