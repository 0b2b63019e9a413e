/**
 * sendJsonArray over a real HTTP server on loopback: the array a client
 * parses, how many items each event-loop turn encodes, a slow reader, a
 * client that leaves, and an iterator that fails half way.
 */
import { expect } from 'chai';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendJsonArray } from '../../../src/lib/daemon/json-stream.js';

interface Item {
  i: number;
  pad: string;
}

/** A server whose one route runs `serve`; its outcome is kept for the test. */
async function serverWith(serve: (res: ServerResponse, path: string) => Promise<void>): Promise<{ server: Server; port: number; outcome: Promise<unknown> }> {
  let settle: (v: unknown) => void = () => undefined;
  const outcome = new Promise((r) => (settle = r));
  const server = createServer((req, res) => {
    serve(res, req.url ?? '/').then(
      () => settle('ok'),
      (err: unknown) => settle(err),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, outcome };
}

function get(port: number, path = '/'): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path }, resolve);
    req.on('error', reject);
    req.end();
  });
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => (text += c));
    res.on('end', () => resolve(text));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('aborted')));
  });
}

/** Items 0..n-1, noting in `pulls` the event-loop turn each was taken in. */
function* numbered(n: number, turn: { now: number }, pulls: number[], padBytes = 8, finished?: { value: boolean }): Generator<Item> {
  try {
    for (let i = 0; i < n; i++) {
      pulls.push(turn.now);
      yield { i, pad: 'x'.repeat(padBytes) };
    }
  } finally {
    if (finished) finished.value = true;
  }
}

/** Counts event-loop turns: `now` goes up once per check phase. */
function turnCounter(): { turn: { now: number }; stop(): void } {
  const turn = { now: 0 };
  let on = true;
  const tick = () => {
    turn.now++;
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  return { turn, stop: () => (on = false) };
}

describe('sendJsonArray: a JSON array a slice per event-loop turn', () => {
  const servers: Server[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });

  it('sends every item as one array, chunked, at most `slice` items per turn', async () => {
    const counter = turnCounter();
    const pulls: number[] = [];
    const { server, port, outcome } = await serverWith((res) => sendJsonArray(res, numbered(1000, counter.turn, pulls), undefined, 50));
    servers.push(server);
    const res = await get(port);
    const body = await readAll(res);
    counter.stop();
    expect(res.statusCode).to.equal(200);
    expect(res.headers['content-type']).to.match(/^application\/json/);
    expect(res.headers['transfer-encoding']).to.equal('chunked');
    const parsed = JSON.parse(body) as Item[];
    expect(parsed.map((x) => x.i)).to.deep.equal([...Array(1000).keys()]);
    expect(await outcome).to.equal('ok');
    const perTurn = new Map<number, number>();
    for (const t of pulls) perTurn.set(t, (perTurn.get(t) ?? 0) + 1);
    // 1000 items in slices of 50 (the 51st pull of a slice finds the end or
    // waits for the next turn): never more than 50 in one turn, so at least 20 turns.
    expect(Math.max(...perTurn.values())).to.equal(50);
    expect(perTurn.size).to.be.at.least(20);
  });

  it('sends an empty array, and drops what `keep` refuses', async () => {
    const { server, port } = await serverWith((res, path) =>
      path === '/empty' ? sendJsonArray(res, [] as Item[]) : sendJsonArray(res, numbered(30, { now: 0 }, []), (x) => x.i % 3 === 0, 4),
    );
    servers.push(server);
    expect(JSON.parse(await readAll(await get(port, '/empty')))).to.deep.equal([]);
    const kept = JSON.parse(await readAll(await get(port, '/thirds'))) as Item[];
    expect(kept.map((x) => x.i)).to.deep.equal([0, 3, 6, 9, 12, 15, 18, 21, 24, 27]);
  });

  it('waits for a slow reader instead of encoding the whole listing', async () => {
    const pulls: number[] = [];
    const total = 20_000;
    // 20 000 items of ~2 KB: 40 MB, far more than loopback's socket buffers hold.
    const { server, port, outcome } = await serverWith((res) => sendJsonArray(res, numbered(total, { now: 0 }, pulls, 2000), undefined, 20));
    servers.push(server);
    const res = await get(port);
    res.pause();
    await new Promise((r) => setTimeout(r, 300));
    const pulledWhilePaused = pulls.length;
    expect(pulledWhilePaused, 'items encoded while the client read nothing').to.be.below(total / 2);
    const body = await readAll(res.resume() as IncomingMessage);
    expect((JSON.parse(body) as Item[]).length).to.equal(total);
    expect(await outcome).to.equal('ok');
  });

  it('stops and closes the iterator when the client goes away', async () => {
    const pulls: number[] = [];
    const finished = { value: false };
    const total = 100_000;
    const { server, port, outcome } = await serverWith((res) => sendJsonArray(res, numbered(total, { now: 0 }, pulls, 1000, finished), undefined, 20));
    servers.push(server);
    const res = await get(port);
    await new Promise<void>((r) => res.once('data', () => r()));
    res.destroy();
    expect(await outcome).to.equal('ok');
    expect(finished.value, "the iterator's finally ran").to.equal(true);
    expect(pulls.length).to.be.below(total);
  });

  it('destroys the response when the iterator throws after the head went out', async () => {
    function* failing(): Generator<Item> {
      for (let i = 0; i < 100; i++) {
        if (i === 60) throw new Error('flow table broke');
        yield { i, pad: '' };
      }
    }
    const { server, port, outcome } = await serverWith((res) => sendJsonArray(res, failing(), undefined, 10));
    servers.push(server);
    const res = await get(port);
    let failed: unknown;
    try {
      JSON.parse(await readAll(res));
    } catch (err) {
      failed = err;
    }
    expect(failed, 'the client saw a broken body, not a short array').to.be.instanceOf(Error);
    const err = await outcome;
    expect(err).to.be.instanceOf(Error);
    expect((err as Error).message).to.equal('flow table broke');
  });
});
