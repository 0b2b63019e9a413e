// Guest side of the ports e2e: HTTP on :80 serving files from DIR (GET /NAME),
// UDP echo on :53535. Prints "ready" once both listen.
import http from 'node:http';
import dgram from 'node:dgram';
import { createReadStream, statSync } from 'node:fs';
import { join, basename } from 'node:path';

const dir = process.argv[2];
const server = http.createServer((req, res) => {
  const file = join(dir, basename(req.url ?? '/') || 'index.html');
  let size;
  try {
    size = statSync(file).size;
  } catch {
    res.writeHead(404).end('not found\n');
    return;
  }
  res.writeHead(200, { 'content-length': size, 'content-type': 'application/octet-stream' });
  createReadStream(file).pipe(res);
});
server.listen(80, '0.0.0.0', () => {
  const udp = dgram.createSocket('udp4');
  udp.on('message', (m, r) => udp.send(m, r.port, r.address));
  udp.bind(53535, '0.0.0.0', () => console.log('ready'));
});
