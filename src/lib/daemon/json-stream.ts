/**
 * Stream a JSON array over HTTP a slice at a time, giving the event loop back
 * between slices. The control server shares its loop with the packet path, so
 * a long listing built in one turn stops every flow for as long as it takes:
 * 14 000-28 000 TIME-WAIT entries were 1.6-3 MB of JSON and 20-60 ms of the
 * loop, and a round trip caught behind it waited that long (sockperf's max
 * 21-37 ms; 2.7-5 ms sliced: bench/results/steps-2026-12-07.md).
 *
 * Contract:
 * - The body is one JSON array, sent chunked (no content-length: its size is
 *   not known until the end); `keep` drops items before they are encoded.
 * - At most `slice` items are pulled from the iterator and encoded per turn.
 * - Writes respect backpressure: a slow reader pauses the listing, it does
 *   not make the daemon buffer it whole.
 * - A client that goes away ends the listing; the iterator is closed.
 * - An iterator that throws after the head went out destroys the response
 *   (the client sees a truncated body, not a well-formed partial array) and
 *   the error propagates to the caller.
 */
import type { ServerResponse } from 'node:http';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Items encoded per event-loop turn: about 0.5 ms of work for a connection listing. */
export const DEFAULT_SLICE = 200;

export async function sendJsonArray<T>(res: ServerResponse, items: Iterable<T>, keep: (item: T) => boolean = () => true, slice = DEFAULT_SLICE): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  const it = items[Symbol.iterator]();
  let first = true;
  let done = false;
  try {
    let text = '[';
    while (!done) {
      for (let n = 0; n < slice; n++) {
        const r = it.next();
        if (r.done) {
          done = true;
          break;
        }
        if (!keep(r.value)) continue;
        text += (first ? '' : ',') + JSON.stringify(r.value);
        first = false;
      }
      if (done) break;
      if (!res.write(text)) await drainOrClose(res);
      text = '';
      if (res.destroyed) return;
      await nextTurn();
      if (res.destroyed) return;
    }
    res.end(text + ']');
  } catch (err) {
    res.destroy();
    throw err;
  } finally {
    if (!done) it.return?.();
  }
}

/** Until the socket takes more, or the client is gone; no listener outlives the wait. */
function drainOrClose(res: ServerResponse): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const go = () => {
      res.off('drain', go);
      res.off('close', go);
      resolve();
    };
    res.on('drain', go);
    res.on('close', go);
  });
}
