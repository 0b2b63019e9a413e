#!/bin/sh
# Build the test VM: Debian's kernel (the image linux-image-amd64 depends on,
# fetched with apt-get download and unpacked with dpkg -x) and an initramfs of
# busybox-static, the virtio_net module chain and init.sh. Output, cached
# between runs (test/e2e/.cache is git-ignored):
#   $CACHE/vmlinuz  $CACHE/initramfs.cpio.gz
# Needs: apt-get, dpkg, cpio, gzip, xz (for .ko.xz modules), busybox-static.
# Prints the cache directory on success.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
CACHE=${HNET_VM_CACHE:-$here/../.cache/vm}
mkdir -p "$CACHE"
cd "$CACHE"
stamp=$(cat "$here/init.sh" "$here/build-vm.sh" | sha256sum | cut -c1-16)
if [ -f vmlinuz ] && [ -f initramfs.cpio.gz ] && [ "$(cat stamp 2>/dev/null)" = "$stamp" ]; then
  echo "$CACHE"; exit 0
fi

pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n1)
[ -n "$pkg" ] || { echo "cannot find the kernel package linux-image-amd64 depends on (apt-get update?)" >&2; exit 1; }
if [ ! -d "kernel-$pkg" ]; then
  rm -f linux-image-*.deb
  apt-get download "$pkg" >&2
  rm -rf kernel.tmp && dpkg -x linux-image-*.deb kernel.tmp && mv kernel.tmp "kernel-$pkg"
  rm -f linux-image-*.deb
fi
kdir="kernel-$pkg"
kver=$(ls "$kdir/lib/modules" | head -n1)
cp "$kdir/boot/vmlinuz-$kver" vmlinuz

bb=$(command -v busybox || true)
for c in /bin/busybox /usr/bin/busybox; do [ -x "$c" ] && bb=$c; done
file -L "$bb" 2>/dev/null | grep -q 'statically linked' || ldd "$bb" 2>&1 | grep -q 'not a dynamic' || { echo "$bb is not static: apt-get install busybox-static" >&2; exit 1; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/etc" "$root/modules" "$root/usr/share/udhcpc"
cp "$bb" "$root/bin/busybox"
for a in sh ash mount insmod ip ifconfig route udhcpc nslookup wget sha256sum cat echo poweroff sleep grep sed cut mkdir ls head dmesg reboot tr; do
  ln -s busybox "$root/bin/$a"
done
# Load order from the brief: modules that are built in are simply absent.
n=0
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net; do
  f=$(find "$kdir/lib/modules/$kver" -name "$m.ko*" | head -n1)
  [ -n "$f" ] || continue
  n=$((n + 1))
  out="$root/modules/$(printf %02d $n)-$m.ko"
  case "$f" in
    *.xz) xz -dc "$f" >"$out" ;;
    *.zst) zstd -dc "$f" >"$out" ;;
    *) cp "$f" "$out" ;;
  esac
done
cp "$here/init.sh" "$root/init"
cp "$here/udhcpc.script" "$root/usr/share/udhcpc/default.script"
chmod 755 "$root/init" "$root/usr/share/udhcpc/default.script"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >initramfs.cpio.gz.tmp
mv initramfs.cpio.gz.tmp initramfs.cpio.gz
echo "$stamp" >stamp
echo "$CACHE"
