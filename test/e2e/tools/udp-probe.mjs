// Guest-side UDP probe, run inside a test namespace:
//   node udp-probe.mjs HOST PORT SIZE [TIMEOUT_MS]
// Sends one datagram of SIZE pseudo-random bytes from a connected socket and
// prints JSON: {ok:true, echoed:<bytes equal>} on a reply, {error:CODE} on an
// error (ECONNREFUSED after ICMP port unreachable), {error:'timeout'} otherwise.
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';

const [host, portText, sizeText, timeoutText] = process.argv.slice(2);
const payload = randomBytes(Number(sizeText));
const sock = dgram.createSocket('udp4');
const done = (result) => {
  process.stdout.write(JSON.stringify(result) + '\n');
  sock.close();
  process.exit(0);
};
const timer = setTimeout(() => done({ error: 'timeout' }), Number(timeoutText ?? 5000));
sock.on('error', (err) => {
  clearTimeout(timer);
  done({ error: err.code });
});
sock.on('message', (msg) => {
  clearTimeout(timer);
  done({ ok: true, bytes: msg.length, echoed: msg.equals(payload) });
});
sock.connect(Number(portText), host, () => sock.send(payload));
