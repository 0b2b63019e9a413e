/**
 * Let the young generation grow back in one step after V8 shrank it.
 *
 * V8 shrinks the young generation to its minimum at a scavenge when its
 * allocation rate over the last seconds is low (under 1 MB/s: the first
 * scavenge after a quiet spell), and grows it again only once as many bytes
 * have survived scavenges as it holds, by its growth factor (2) each time. A
 * daemon under steady traffic keeps little alive per scavenge (a request's
 * buffers; closed connections are not kept, churn-map.ts), so after a quiet
 * spell it ran on a small young generation and scavenged far more often. In
 * `npm run bench:ab` (the flow table change alone against the build before
 * it), one daemon's trace after a memory-reducing GC at 105 s: scavenges
 * every 1-3 MiB allocated instead of every 12-13 MiB, to the end of the run;
 * 16 paired rounds: p99.9 of request/response 1.58x worse, better in 4 of 16.
 * The build before regrew at once only because every short connection's
 * garbage survived. With a growth factor of 16 the first growth goes from the
 * minimum to the maximum: 16 rounds, p99.9 0.87x (better in 9 of 16), p50
 * and p99 level; in rounds that run iperf3 both ways before each latency
 * measurement (the bench's order), p99 was worse in 5 of 6 rounds without it
 * and better in 4 of 6 with it. The price is memory under load: bulk traffic
 * grows the young generation to its maximum at once, RSS after 2 s of iperf3
 * each way 117-119 MiB against 96-101 with V8's factor (2), 107-109 against
 * 94-96 with 1000 connections held after it. V8 reads
 * --semi-space-growth-factor at each growth, so setting it at run time works.
 */
import v8 from 'node:v8';

const SEMI_SPACE_GROWTH_FACTOR = 16;

export function tuneYoungGeneration(): void {
  v8.setFlagsFromString(`--semi-space-growth-factor=${SEMI_SPACE_GROWTH_FACTOR}`);
}
