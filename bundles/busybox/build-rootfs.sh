#!/bin/sh
# Builds a minimal root filesystem from Debian's busybox-static: /bin/busybox plus one symlink
# per applet, and the empty directories the runtime mounts onto.
# Usage: build-rootfs.sh [ROOTFS_DIR]   (default: rootfs/ next to this script)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
rootfs=${1:-$here/rootfs}
busybox=$(command -v busybox) || { echo "build-rootfs: busybox is not installed (apt-get install busybox-static)" >&2; exit 1; }
if ! file -L "$busybox" 2>/dev/null | grep -q "statically linked"; then
  case $(ldd "$busybox" 2>&1) in
    *"not a dynamic executable"*) ;;
    *) echo "build-rootfs: $busybox is not static (apt-get install busybox-static)" >&2; exit 1 ;;
  esac
fi
mkdir -p "$rootfs/bin" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/tmp" "$rootfs/etc" "$rootfs/root"
cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
done
echo "root:x:0:0:root:/root:/bin/sh" > "$rootfs/etc/passwd"
echo "root:x:0:" > "$rootfs/etc/group"
