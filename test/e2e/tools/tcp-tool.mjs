// Guest-side TCP driver for the e2e suites, run inside a test namespace.
//   node tcp-tool.mjs HOST PORT MODE ARGS...   (prints one JSON line)
// Talks to the host-side blast server (test/e2e/blast-server.ts), whose
// protocol is a 16-byte header: mode byte ('U' upload, 'D' download, 'H'
// half-close echo, 'R' reset mid-stream), 7 zero bytes, then a big-endian u64.
//   down SIZE [COUNT [CONCURRENCY]]  download SIZE bytes COUNT times: {ok, sha256[]}
//   up SIZE                          upload SIZE bytes of keystream: {ok, sent, sha256}
//   half SIZE                        send SIZE bytes, end(), read the echo: {ok, sha256}
//   reset                            read until the server resets: {error}
//   connect                          connect and close: {ok} or {error}
//   reuse SIZE COUNT LOCALPORT       download SIZE bytes COUNT times in turn, each from LOCALPORT: {ok, failed, sha256[]}
//   slow SIZE PAUSE_MS               connect for a download, read nothing for PAUSE_MS, then drain: {ok, bytes}
import net from 'node:net';
import { createHash, createCipheriv } from 'node:crypto';

const [host, portText, mode, ...args] = process.argv.slice(2);
const port = Number(portText);

function header(kind, size) {
  const h = Buffer.alloc(16);
  h.write(kind, 0, 'latin1');
  h.writeBigUInt64BE(BigInt(size), 8);
  return h;
}

/** The same AES-CTR keystream the server generates: a deterministic, incompressible byte stream. */
export function keystream() {
  const c = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 0));
  const zeros = Buffer.alloc(256 * 1024);
  return () => c.update(zeros);
}

function print(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function download(size, localPort) {
  return new Promise((resolve) => {
    const hash = createHash('sha256');
    let got = 0;
    const s = net.connect({ host, port, localPort }, () => s.write(header('D', size)));
    s.on('data', (d) => {
      hash.update(d);
      got += d.length;
    });
    s.on('end', () => resolve(got === size ? { sha256: hash.digest('hex') } : { error: `short read ${got}/${size}` }));
    s.on('error', (e) => resolve({ error: e.code ?? String(e) }));
  });
}

async function runDown() {
  const size = Number(args[0]);
  const count = Number(args[1] ?? 1);
  const conc = Number(args[2] ?? 1);
  const results = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await download(size);
    }
  };
  await Promise.all(Array.from({ length: Math.min(conc, count) }, worker));
  printDownloads(results);
}

/** One line for many downloads: ok, the first errors, how many failed, the distinct digests. */
function printDownloads(results) {
  const errors = results.filter((r) => r.error).map((r) => r.error);
  print({ ok: errors.length === 0, errors: errors.slice(0, 5), failed: errors.length, sha256: [...new Set(results.filter((r) => r.sha256).map((r) => r.sha256))] });
}

/**
 * The same 4-tuple again and again: the server closes first, so the peer of
 * this guest holds each connection in TIME-WAIT when the next SYN comes. The
 * previous socket may still be closing here (LAST-ACK): EADDRNOTAVAIL is retried.
 */
async function runReuse() {
  const [size, count, localPort] = args.map(Number);
  const results = [];
  for (let i = 0; i < count; i++) {
    let r;
    for (let attempt = 0; attempt < 50; attempt++) {
      r = await download(size, localPort);
      if (r.error !== 'EADDRNOTAVAIL' && r.error !== 'EADDRINUSE') break;
      await new Promise((res) => setTimeout(res, 20));
    }
    results.push(r);
  }
  printDownloads(results);
}

function runUp() {
  const size = Number(args[0]);
  const next = keystream();
  const hash = createHash('sha256');
  let sent = 0;
  const s = net.connect({ host, port }, () => {
    s.write(header('U', size));
    const pump = () => {
      while (sent < size) {
        let chunk = next();
        if (chunk.length > size - sent) chunk = chunk.subarray(0, size - sent);
        hash.update(chunk);
        sent += chunk.length;
        if (!s.write(chunk)) return s.once('drain', pump);
      }
    };
    pump();
  });
  const reply = [];
  s.on('data', (d) => reply.push(d));
  s.on('end', () => print({ ok: true, sent, sha256: hash.digest('hex'), serverSha256: Buffer.concat(reply).toString('utf8') }));
  s.on('error', (e) => print({ error: e.code ?? String(e) }));
}

function runHalf() {
  const size = Number(args[0]);
  const next = keystream();
  const hash = createHash('sha256');
  let got = 0;
  const s = net.connect({ host, port }, () => {
    s.write(header('H', size));
    let left = size;
    while (left > 0) {
      const c = next().subarray(0, Math.min(left, 256 * 1024));
      left -= c.length;
      s.write(c);
    }
    s.end(); // half-close: our write side is done, we keep reading
  });
  s.on('data', (d) => {
    hash.update(d);
    got += d.length;
  });
  s.on('end', () => print({ ok: got === size, bytes: got, sha256: hash.digest('hex') }));
  s.on('error', (e) => print({ error: e.code ?? String(e) }));
}

function runReset() {
  let got = 0;
  const s = net.connect({ host, port }, () => s.write(header('R', 0)));
  s.on('data', (d) => (got += d.length));
  s.on('end', () => print({ ended: true, bytes: got }));
  s.on('error', (e) => print({ error: e.code ?? String(e), bytes: got }));
}

function runConnect() {
  const s = net.connect({ host, port }, () => {
    print({ ok: true });
    s.destroy();
  });
  s.on('error', (e) => print({ error: e.code ?? String(e) }));
}

function runSlow() {
  const size = Number(args[0]);
  const pauseMs = Number(args[1]);
  let got = 0;
  const s = net.connect({ host, port }, () => {
    s.write(header('D', size));
    s.pause();
    setTimeout(() => {
      print({ paused: true });
      s.resume();
    }, pauseMs);
  });
  s.on('data', (d) => (got += d.length));
  s.on('end', () => print({ ok: got === size, bytes: got }));
  s.on('error', (e) => print({ error: e.code ?? String(e), bytes: got }));
}

({ down: runDown, reuse: runReuse, up: runUp, half: runHalf, reset: runReset, connect: runConnect, slow: runSlow })[mode]();
