// Write Ethernet frames straight onto an interface with an AF_PACKET socket
// (koffi: Node has no packet sockets), as a guest's NIC would: run inside the
// guest namespace. Usage:
//   node inject-frames.mjs IFNAME COUNT SEED SRC_MAC GW_MAC GUEST_IP TARGETS
// TARGETS: comma-separated IPv4 addresses the mutated frames may aim at (the
// gateway, the host address): a mutated frame never gets another destination.
// Half the frames are random bytes, half are valid frames (ARP, ICMP, UDP,
// TCP to TARGETS) with random bytes flipped. Prints {sent}.
import { createRequire } from 'node:module';
import { xorshift } from './xorshift.mjs';
const require = createRequire(import.meta.url);
const koffi = require('koffi');

const [ifname, countText, seedText, srcMacText, gwMacText, guestIpText, targetsText] = process.argv.slice(2);
const libc = koffi.load('libc.so.6');
const socket = libc.func('int socket(int, int, int)');
const bind = libc.func('int bind(int, const uint8_t *, uint32_t)');
const send = libc.func('long send(int, const uint8_t *, unsigned long, int)');
const ifNameToIndex = libc.func('unsigned int if_nametoindex(const char *)');

const AF_PACKET = 17;
const SOCK_RAW = 3;
const ETH_P_ALL = 0x0300; // htons(3)
const fd = socket(AF_PACKET, SOCK_RAW, ETH_P_ALL);
if (fd < 0) throw new Error('socket(AF_PACKET) failed');
const idx = ifNameToIndex(ifname);
const sll = Buffer.alloc(20);
sll.writeUInt16LE(AF_PACKET, 0);
sll.writeUInt16BE(0x0003, 2);
sll.writeInt32LE(idx, 4);
if (bind(fd, sll, 20) < 0) throw new Error('bind failed');

const rand = xorshift(seedText);
const mac = (t) => Buffer.from(t.split(':').map((h) => parseInt(h, 16)));
const ip = (t) => Buffer.from(t.split('.').map(Number));
const srcMac = mac(srcMacText);
const gwMac = mac(gwMacText);
const guestIp = ip(guestIpText);
const targets = targetsText.split(',').map(ip);

function csum(buf, start, end, init = 0) {
  let s = init;
  for (let i = start; i + 1 < end; i += 2) s += buf.readUInt16BE(i);
  if ((end - start) & 1) s += buf[end - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function ipv4Frame(proto, dst, l4) {
  const f = Buffer.alloc(14 + 20 + l4.length);
  gwMac.copy(f, 0);
  srcMac.copy(f, 6);
  f.writeUInt16BE(0x0800, 12);
  f[14] = 0x45;
  f.writeUInt16BE(20 + l4.length, 16);
  f.writeUInt16BE((rand() * 65535) | 0, 18);
  f[22] = 64;
  f[23] = proto;
  guestIp.copy(f, 26);
  dst.copy(f, 30);
  f.writeUInt16BE(~csum(f, 14, 34) & 0xffff, 24);
  l4.copy(f, 34);
  return f;
}

function pseudo(dst, proto, len) {
  const p = Buffer.alloc(12);
  guestIp.copy(p, 0);
  dst.copy(p, 4);
  p[9] = proto;
  p.writeUInt16BE(len, 10);
  return csum(p, 0, 12);
}

function validFrame() {
  const dst = targets[(rand() * targets.length) | 0];
  const kind = (rand() * 4) | 0;
  if (kind === 0) {
    const f = Buffer.alloc(42);
    Buffer.alloc(6, 0xff).copy(f, 0);
    srcMac.copy(f, 6);
    f.writeUInt16BE(0x0806, 12);
    f.writeUInt16BE(1, 14);
    f.writeUInt16BE(0x0800, 16);
    f[18] = 6;
    f[19] = 4;
    f.writeUInt16BE(1, 20);
    srcMac.copy(f, 22);
    guestIp.copy(f, 28);
    dst.copy(f, 38);
    return f;
  }
  if (kind === 1) {
    const icmp = Buffer.alloc(8 + 32);
    icmp[0] = 8;
    icmp.writeUInt16BE(0x4242, 4);
    icmp.writeUInt16BE((rand() * 65535) | 0, 6);
    icmp.writeUInt16BE(~csum(icmp, 0, icmp.length) & 0xffff, 2);
    return ipv4Frame(1, dst, icmp);
  }
  if (kind === 2) {
    const udp = Buffer.alloc(8 + 40);
    udp.writeUInt16BE(40000 + ((rand() * 1000) | 0), 0);
    udp.writeUInt16BE([53, 67, 9, 33333][(rand() * 4) | 0], 2);
    udp.writeUInt16BE(udp.length, 4);
    udp.writeUInt16BE(~csum(udp, 0, udp.length, pseudo(dst, 17, udp.length)) & 0xffff || 0xffff, 6);
    return ipv4Frame(17, dst, udp);
  }
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(40000 + ((rand() * 1000) | 0), 0);
  tcp.writeUInt16BE([80, 53, 9][(rand() * 3) | 0], 2);
  tcp.writeUInt32BE((rand() * 4294967295) >>> 0, 4);
  tcp[12] = 0x50;
  tcp[13] = [0x02, 0x10, 0x04, 0x11, 0x18][(rand() * 5) | 0];
  tcp.writeUInt16BE(65535, 14);
  tcp.writeUInt16BE(~csum(tcp, 0, 20, pseudo(dst, 6, 20)) & 0xffff, 16);
  return ipv4Frame(6, dst, tcp);
}

let sent = 0;
const count = Number(countText);
for (let i = 0; i < count; i++) {
  let frame;
  if (i % 2 === 0) {
    frame = Buffer.alloc(14 + ((rand() * 1400) | 0));
    for (let j = 0; j < frame.length; j++) frame[j] = (rand() * 256) | 0;
    // Always from our guest MAC so the host kernel never sees a stranger's frames.
    srcMac.copy(frame, 6);
  } else {
    frame = validFrame();
    const flips = 1 + ((rand() * 4) | 0);
    for (let k = 0; k < flips; k++) {
      // Never touch the IPv4 destination (bytes 30-33): mutated frames keep aiming at TARGETS.
      let at = 14 + ((rand() * (frame.length - 14)) | 0);
      if (at >= 30 && at <= 33) at = 34 < frame.length ? 34 : 14;
      frame[at] = (rand() * 256) | 0;
    }
  }
  if (send(fd, frame, frame.length, 0) >= 0) sent++;
}
process.stdout.write(JSON.stringify({ sent }) + '\n');
