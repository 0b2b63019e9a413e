// Guest-side DNS client, run inside a test namespace (RFC 1035, RFC 7766):
//   node dns-query.mjs SERVER NAME TYPE [udp|tcp|auto] [EDNS_SIZE|-] [TIMEOUT_MS]
// Sends one query (random id, RD set; an OPT record with EDNS_SIZE when given)
// to SERVER:53 and prints JSON {rcode, aa, tc, transport, answers:[{name,type,data}],
// authorities, bytes}. `auto` asks over UDP first and, when the answer has TC
// set, asks again over TCP like a stub resolver; then `udpTruncated: true`.
// {error} on timeout or a mismatched reply. TXT data is joined per record.
import dgram from 'node:dgram';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const dnsPacket = require('dns-packet');

const [server, name, type, mode = 'auto', ednsText = '-', timeoutText = '5000'] = process.argv.slice(2);
const timeoutMs = Number(timeoutText);
const id = randomBytes(2).readUInt16BE(0);
const query = dnsPacket.encode({
  id,
  type: 'query',
  flags: dnsPacket.RECURSION_DESIRED,
  questions: [{ name, type, class: 'IN' }],
  additionals: ednsText === '-' ? [] : [{ type: 'OPT', name: '.', udpPayloadSize: Number(ednsText) }],
});

const render = (a) => {
  if (a.type === 'TXT') return { name: a.name, type: a.type, data: a.data.map((b) => b.toString()).join('') };
  return { name: a.name, type: a.type, data: a.data };
};

function summary(buf, transport) {
  const p = dnsPacket.decode(buf);
  if (p.id !== id) throw new Error(`reply id ${p.id} != ${id}`);
  return {
    rcode: p.rcode,
    aa: Boolean(p.flags & dnsPacket.AUTHORITATIVE_ANSWER),
    tc: Boolean(p.flags & dnsPacket.TRUNCATED_RESPONSE),
    transport,
    bytes: buf.length,
    answers: (p.answers ?? []).map(render),
    authorities: (p.authorities ?? []).map((a) => a.type),
  };
}

function overUdp() {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error('timeout'));
    }, timeoutMs);
    sock.on('error', (e) => {
      clearTimeout(timer);
      sock.close();
      reject(e);
    });
    sock.on('message', (msg) => {
      clearTimeout(timer);
      sock.close();
      resolve(msg);
    });
    sock.send(query, 53, server);
  });
}

function overTcp() {
  return new Promise((resolve, reject) => {
    const sock = net.connect(53, server);
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('timeout'));
    }, timeoutMs);
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('connect', () => sock.write(Buffer.concat([Buffer.from([query.length >> 8, query.length & 0xff]), query])));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(timer);
        sock.end();
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      }
    });
  });
}

try {
  let result;
  if (mode === 'tcp') result = summary(await overTcp(), 'tcp');
  else {
    result = summary(await overUdp(), 'udp');
    if (mode === 'auto' && result.tc) result = { ...summary(await overTcp(), 'tcp'), udpTruncated: true, udpBytes: result.bytes };
  }
  process.stdout.write(JSON.stringify(result) + '\n');
} catch (err) {
  process.stdout.write(JSON.stringify({ error: err.code ?? err.message }) + '\n');
}
