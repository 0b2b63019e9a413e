// Connection benchmark tool (plain Node, no dependencies), run on the host or
// inside a guest namespace:
//   conn-tool.mjs server BIND PORT [close]  echo server; prints "listening".
//       With `close` it answers a connection's first bytes and closes at once
//       (the host side closes first, as an HTTP/1.0 server does).
//   conn-tool.mjs rate HOST PORT SECONDS CONCURRENCY [host-closes]
//       short connections (connect, 1 byte out, 1 byte back, close) for SECONDS
//       with CONCURRENCY in flight; prints {"connections":N,"seconds":S,"errors":E}.
//       With `host-closes` each waits for the server's FIN and then closes.
//   conn-tool.mjs hold HOST PORT N
//       opens N connections, each confirmed by an echoed byte; prints "held N",
//       keeps them open until SIGTERM.
import net from 'node:net';

const [mode, a, b, c, d, e] = process.argv.slice(2);

if (mode === 'server') {
  const closeFirst = c === 'close';
  const srv = net.createServer((s) => {
    s.on('error', () => {});
    if (closeFirst) return s.once('data', (buf) => s.end(buf));
    s.on('data', (buf) => s.write(buf));
    s.on('end', () => s.end());
  });
  srv.maxConnections = 100000;
  srv.listen({ host: a, port: Number(b), backlog: 4096 }, () => process.stdout.write('listening\n'));
} else if (mode === 'rate') {
  const host = a;
  const port = Number(b);
  const until = Date.now() + Number(c) * 1000;
  const hostCloses = e === 'host-closes';
  const t0 = process.hrtime.bigint();
  let done = 0;
  let errors = 0;
  const one = () =>
    new Promise((res) => {
      const s = net.createConnection({ host, port });
      s.setNoDelay(true);
      s.once('connect', () => s.write('x'));
      // Done at the echo, or at the server's FIN when it closes first (the echo is read and dropped).
      if (hostCloses) s.on('data', () => {});
      s.once(hostCloses ? 'end' : 'data', () => {
        done++;
        s.end();
      });
      s.once('error', () => {
        errors++;
        s.destroy();
        res();
      });
      s.once('close', res);
    });
  const worker = async () => {
    while (Date.now() < until) await one();
  };
  await Promise.all(Array.from({ length: Number(d) }, worker));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(JSON.stringify({ connections: done, seconds, errors }) + '\n');
} else if (mode === 'hold') {
  const host = a;
  const port = Number(b);
  const n = Number(c);
  const socks = [];
  const open = () =>
    new Promise((res, rej) => {
      const s = net.createConnection({ host, port });
      s.once('connect', () => s.write('x'));
      s.once('data', () => res(s));
      s.once('error', rej);
    });
  // 50 at a time, so a listen backlog or SYN queue is never the limit.
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, n - i) }, open));
    socks.push(...batch);
  }
  for (const s of socks) s.on('error', () => {});
  process.stdout.write(`held ${socks.length}\n`);
  const bye = () => {
    for (const s of socks) s.destroy();
    process.exit(0);
  };
  process.on('SIGTERM', bye);
  setTimeout(function keep() { setTimeout(keep, 1 << 30); }, 1 << 30);
} else {
  process.stderr.write('usage: conn-tool.mjs server BIND PORT [close] | rate HOST PORT SECONDS CONC [host-closes] | hold HOST PORT N\n');
  process.exit(2);
}
