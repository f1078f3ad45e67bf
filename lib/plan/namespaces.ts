/** Namespace types: clone flags and /proc/<pid>/ns names. */
import type { NamespaceType } from "../spec/config.ts";

/** CLONE_NEW* flag and /proc/<pid>/ns entry of each namespace type. */
export const NAMESPACES: Readonly<Record<NamespaceType, { flag: number; proc: string }>> = {
  mount: { flag: 0x00020000, proc: "mnt" },
  uts: { flag: 0x04000000, proc: "uts" },
  ipc: { flag: 0x08000000, proc: "ipc" },
  user: { flag: 0x10000000, proc: "user" },
  pid: { flag: 0x20000000, proc: "pid" },
  network: { flag: 0x40000000, proc: "net" },
  cgroup: { flag: 0x02000000, proc: "cgroup" },
  time: { flag: 0x00000080, proc: "time" },
};
