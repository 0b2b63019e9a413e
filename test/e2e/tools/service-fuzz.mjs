// Guest-side garbage for the gateway's DHCP and DNS services, run inside a
// test namespace that already has an address:
//   node service-fuzz.mjs GATEWAY COUNT SEED
// Sends COUNT datagrams of each kind below, from a seeded PRNG, to GATEWAY
// only (UDP 53, and UDP 67 from port 68), paced so the tap queue never
// overflows, and prints JSON {dns:{random,truncated,loop}, dhcp:{random,truncated,loop}}.
//  dns.random     random bytes with a query header (QR=0, QDCOUNT=1)
//  dns.truncated  a valid query cut inside its question
//  dns.loop       a question name that is a compression pointer loop (RFC 1035 §4.1.4)
//  dhcp.random    random bytes (never a valid BOOTP header + magic cookie)
//  dhcp.truncated a valid DHCPDISCOVER cut before the end of its fixed header
//  dhcp.loop      option 52 overload whose file/sname fields overload again and carry no message type
import dgram from 'node:dgram';
import { createRequire } from 'node:module';
import { xorshift } from './xorshift.mjs';
const require = createRequire(import.meta.url);
const dnsPacket = require('dns-packet');

const [gateway, countText, seedText] = process.argv.slice(2);
const count = Number(countText);
const rand = xorshift(seedText);
const randomBytes = (n) => Buffer.from(Array.from({ length: n }, () => (rand() * 256) | 0));

function dnsRandom() {
  const b = randomBytes(12 + ((rand() * 500) | 0));
  b[2] &= 0x07; // QR=0, opcode 0
  b.writeUInt16BE(1, 4);
  return b;
}
function dnsTruncated() {
  const q = dnsPacket.encode({ id: (rand() * 65535) | 0, type: 'query', flags: 0x0100, questions: [{ name: 'host.hnet.internal', type: 'A' }] });
  return q.subarray(0, 12 + ((rand() * (q.length - 13)) | 0));
}
function dnsLoop(i) {
  const head = Buffer.from([(i >> 8) & 0xff, i & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  // a name pointing at itself, or two pointers pointing at each other
  const name = i % 2 ? Buffer.from([0xc0, 0x0c]) : Buffer.from([0xc0, 0x0e, 0xc0, 0x0c]);
  return Buffer.concat([head, name, Buffer.from([0, 1, 0, 1])]);
}

function dhcpBase() {
  const b = Buffer.alloc(300);
  b[0] = 1; // BOOTREQUEST
  b[1] = 1;
  b[2] = 6;
  randomBytes(4).copy(b, 4);
  Buffer.from([0x02, 0, 0, 0xfe, 0xfe, 0xfe]).copy(b, 28);
  b.writeUInt32BE(0x63825363, 236);
  return b;
}
function dhcpRandom() {
  const b = randomBytes(1 + ((rand() * 600) | 0));
  if (b.length >= 240) b.writeUInt32BE(0xdeadbeef, 236);
  return b;
}
function dhcpTruncated() {
  const b = dhcpBase();
  Buffer.from([53, 1, 1, 255]).copy(b, 240);
  return b.subarray(0, 1 + ((rand() * 238) | 0));
}
function dhcpLoop() {
  const b = dhcpBase();
  Buffer.from([52, 1, 3, 255]).copy(b, 240); // options: overload both fields
  Buffer.from([52, 1, 3, 255]).copy(b, 108); // file: overload again
  Buffer.from([52, 1, 3, 255]).copy(b, 44); // sname: overload again
  return b;
}

const dns = dgram.createSocket('udp4');
const dhcp = dgram.createSocket('udp4');
await new Promise((r) => dns.bind(0, r));
await new Promise((r) => dhcp.bind(68, r));
const send = (sock, buf, port) => new Promise((r) => sock.send(buf, port, gateway, () => r()));
const pause = () => new Promise((r) => setTimeout(r, 10));

const sent = { dns: { random: 0, truncated: 0, loop: 0 }, dhcp: { random: 0, truncated: 0, loop: 0 } };
for (let i = 0; i < count; i++) {
  await send(dns, dnsRandom(), 53);
  sent.dns.random++;
  await send(dns, dnsTruncated(), 53);
  sent.dns.truncated++;
  await send(dns, dnsLoop(i), 53);
  sent.dns.loop++;
  await send(dhcp, dhcpRandom(), 67);
  sent.dhcp.random++;
  await send(dhcp, dhcpTruncated(), 67);
  sent.dhcp.truncated++;
  await send(dhcp, dhcpLoop(), 67);
  sent.dhcp.loop++;
  if (i % 4 === 3) await pause();
}
dns.close();
dhcp.close();
process.stdout.write(JSON.stringify(sent) + '\n');
