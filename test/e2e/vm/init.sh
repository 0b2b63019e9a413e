#!/bin/sh
# PID 1 of the hnet test VM. Reads its job from the kernel command line:
#   hnet.url=URL hnet.sha=SHA256 hnet.corp=URL
# and prints one "HNET <check> ok|fail ..." line per check on the console
# (ttyS0), then "HNET done" and powers off. The test parses those lines.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
for m in /modules/*.ko; do [ -e "$m" ] && insmod "$m"; done
url= sha= corp=
for kv in $(cat /proc/cmdline); do
  case "$kv" in
    hnet.url=*) url=${kv#hnet.url=} ;;
    hnet.sha=*) sha=${kv#hnet.sha=} ;;
    hnet.corp=*) corp=${kv#hnet.corp=} ;;
  esac
done
ip link set lo up
ip link set eth0 up || echo "HNET eth0 fail no interface"
if udhcpc -i eth0 -s /usr/share/udhcpc/default.script -n -q -t 5 -T 2; then echo "HNET dhcp ok"; else echo "HNET dhcp fail"; fi
addr=$(nslookup host.hnet.internal 2>/dev/null | sed -n 's/^Address[^:]*: *\([0-9.]*\).*/\1/p' | grep -v '^$' | tail -n1)
if [ -n "$addr" ]; then echo "HNET dns ok $addr"; else echo "HNET dns fail"; nslookup host.hnet.internal; fi
if [ -n "$url" ]; then
  if wget -q -O /tmp/blob "$url"; then
    got=$(sha256sum /tmp/blob | cut -d' ' -f1)
    if [ "$got" = "$sha" ]; then echo "HNET http ok $got"; else echo "HNET http fail sha $got"; fi
  else echo "HNET http fail wget"; fi
fi
if [ -n "$corp" ]; then
  body=$(wget -q -O - "$corp" 2>&1 | head -n1)
  if [ -n "$body" ]; then echo "HNET corp ok $body"; else echo "HNET corp fail"; fi
fi
echo "HNET done"
poweroff -f
