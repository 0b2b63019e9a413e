/**
 * Whether the event loop has I/O ready, asked without turning the loop
 * (Linux). The busy poll (busy-poll.ts) spins on this between answers.
 * Turning the loop instead (a self-renewing setImmediate) allocated an
 * Immediate and re-entered JavaScript on every spin: under request/response
 * traffic that was ~30% of everything the daemon allocated (V8's sampling heap
 * profiler), and every byte of it brings the next young-generation GC closer.
 *
 * How: epoll_wait(2) with a zero timeout on the loop's own epoll instance.
 * libuv registers its watchers level-triggered and without EPOLLONESHOT, so
 * looking consumes nothing: the loop's next epoll_wait reports the same
 * events. Node does not expose the loop's epoll fd (uv_backend_fd), and a Node
 * process has several (its platform threads run loops of their own), so the
 * probe finds it with a beacon: an eventfd the main loop is made to watch
 * (never written, unref'd); the one eventpoll instance whose
 * /proc/self/fdinfo lists the beacon (`tfd:`, proc(5)) is the loop's. libuv
 * registers a new watcher on its next poll, so the lookup runs lazily, on the
 * first question asked after that; until it succeeds `ready()` says "ready"
 * (the busy poll stops at once, nothing is delayed), and after a few failed
 * attempts the probe is unusable and the busy poll turns the loop as before.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { pipeHandle } from '../phy/fd-watch.js';
import { EFD_CLOEXEC, EFD_NONBLOCK, libc } from '../phy/libc.js';

export interface LoopReady {
  /** False once the loop's epoll instance could not be found: use another way to poll. */
  readonly usable: boolean;
  /** True when a watched fd is ready (or the probe cannot tell yet). Never blocks. */
  ready(): boolean;
}

/** Lookups tried before giving up; each runs after at least one more loop turn. */
const MAX_LOOKUPS = 8;

interface WatchedHandle {
  onread: () => void;
  readStart(): number;
  unref(): void;
}

class EpollLoopProbe implements LoopReady {
  usable = true;
  private epfd = -1;
  private lookups = 0;
  /** epoll_wait's output; its contents are never read. */
  private readonly events = Buffer.alloc(12);

  constructor(private readonly beacon: number) {}

  ready(): boolean {
    if (this.epfd < 0) {
      this.lookup();
      return true;
    }
    return libc().epollWait(this.epfd, this.events, 1, 0) !== 0;
  }

  private lookup(): void {
    if (!this.usable) return;
    this.epfd = epollWatching(this.beacon);
    if (this.epfd < 0 && ++this.lookups >= MAX_LOOKUPS) this.usable = false;
  }
}

/** The eventpoll fd of this process that watches `fd`, or -1. */
export function epollWatching(fd: number): number {
  const watched = new RegExp(`^tfd:\\s+${fd}\\s`, 'm');
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`) !== 'anon_inode:[eventpoll]') continue;
      if (watched.test(readFileSync(`/proc/self/fdinfo/${name}`, 'utf8'))) return Number(name);
    } catch {
      // closed between the listing and the read
    }
  }
  return -1;
}

/** A probe of the main loop, or null where it cannot work (not Linux, no eventfd). */
export function loopReadyProbe(): LoopReady | null {
  if (process.platform !== 'linux') return null;
  try {
    const fd = libc().eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) return null;
    const handle = pipeHandle(fd, 'the loop beacon') as unknown as WatchedHandle;
    handle.onread = () => undefined; // never written: never readable
    if (handle.readStart() !== 0) return null;
    handle.unref(); // the beacon must not keep the process alive
    return new EpollLoopProbe(fd);
  } catch {
    return null;
  }
}
