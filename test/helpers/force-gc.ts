/**
 * A full garbage collection from inside a test, without starting mocha with
 * --expose-gc: V8's flag is turned on at run time and `gc` is taken from a
 * fresh context. For tests that prove an object is no longer reachable
 * (WeakRef.deref() is undefined after it).
 */
import v8 from 'node:v8';
import vm from 'node:vm';

let gc: (() => void) | null = null;

export async function forceGc(): Promise<void> {
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  // A WeakRef's target is kept until the current job ends: let it end first.
  await new Promise((r) => setImmediate(r));
  gc();
}
