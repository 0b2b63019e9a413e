// A tiny HTTP server for the corp namespace: answers every request with the
// JSON {remote} of the TCP peer it saw, so a test can tell where a connection
// came from. Usage: node corp-http.mjs BIND_IP PORT   (prints "listening").
import http from 'node:http';

const [bind, port] = process.argv.slice(2);
http
  .createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ remote: req.socket.remoteAddress, url: req.url }));
  })
  .listen(Number(port), bind, () => process.stdout.write('listening\n'));
