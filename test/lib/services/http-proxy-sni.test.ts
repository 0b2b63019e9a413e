import { expect } from 'chai';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { parseSni } from '../../../src/lib/services/http-proxy/sni.js';

/** The first bytes a real node:tls client sends (its ClientHello). */
async function clientHello(servername: string | undefined): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const got = new Promise<Buffer>((res) => server.once('connection', (s) => s.once('data', (d: Buffer) => (res(d), s.destroy()))));
  const c = tls.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername, rejectUnauthorized: false });
  c.on('error', () => undefined);
  const hello = await got;
  c.destroy();
  server.close();
  return hello;
}

describe('TLS ClientHello server_name (RFC 6066 §3)', () => {
  it('reads the SNI of a real ClientHello', async () => {
    expect(parseSni(await clientHello('API.corp.test'))).to.deep.equal({ status: 'sni', name: 'api.corp.test' });
  });

  it('asks for more bytes on every truncation of it, never throwing', async () => {
    const hello = await clientHello('api.corp.test');
    for (let n = 0; n < hello.length; n++) expect(parseSni(hello.subarray(0, n)).status, `${n} bytes`).to.be.oneOf(['more']);
  });

  it('gives none without SNI or for bytes that are not TLS', async () => {
    expect(parseSni(await clientHello(''))).to.deep.equal({ status: 'none' });
    expect(parseSni(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).to.deep.equal({ status: 'none' });
  });

  it('gives none, not an exception, for garbage inside a well-framed record', () => {
    for (let i = 0; i < 200; i++) {
      const body = Buffer.from(Array.from({ length: 60 }, (_, k) => (k * 31 + i * 17) & 0xff));
      body[0] = 1;
      const rec = Buffer.concat([Buffer.from([22, 3, 1, 0, body.length]), body]);
      expect(['none', 'sni']).to.include(parseSni(rec).status);
    }
  });
});
