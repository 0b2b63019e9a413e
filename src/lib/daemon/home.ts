/**
 * Where a daemon keeps its files (DESIGN §4, §6): HOME is --home, else
 * $HNET_HOME, else ~/.hnet. Several daemons with different HOMEs run side by side.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface HomePaths {
  home: string;
  config: string;
  runDir: string;
  stateDir: string;
  controlSocket: string;
  leases: string;
  pidFile: string;
}

export function resolveHome(flag?: string): string {
  return resolve(flag ?? process.env.HNET_HOME ?? join(homedir(), '.hnet'));
}

export function homePaths(home: string): HomePaths {
  const runDir = join(home, 'run');
  const stateDir = join(home, 'state');
  return {
    home,
    config: join(home, 'config.json'),
    runDir,
    stateDir,
    controlSocket: join(runDir, 'hnet.sock'),
    leases: join(stateDir, 'leases.json'),
    pidFile: join(runDir, 'hnet.pid'),
  };
}
