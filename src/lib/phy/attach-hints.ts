/**
 * How a VM attaches to a --listen transport: the exact command-line fragment
 * for QEMU (`-netdev stream` / `-netdev dgram`, QEMU ≥ 7.2), vfkit
 * (`--device virtio-net,unixSocketPath=`), hyperkit (`-s N,virtio-vpnkit`)
 * and Lima (`networks: - socket:`), printed by `hnet start` and repeated in
 * the README. Pure: a ListenSpec in, lines of text out.
 */
import type { ListenSpec } from './uri.js';

export interface AttachHint {
  /** Who runs this: "QEMU", "vfkit", "Lima", ... */
  client: string;
  fragment: string;
}

/** A MAC for the guest NIC; any locally administered unicast address works. */
const EXAMPLE_MAC = '52:54:00:12:34:56';

export function attachHints(spec: ListenSpec): AttachHint[] {
  switch (spec.kind) {
    case 'qemu':
      return [
        { client: 'QEMU', fragment: `-netdev stream,id=hnet,server=off,addr.type=unix,addr.path=${spec.path} -device virtio-net-pci,netdev=hnet,mac=${EXAMPLE_MAC}` },
        { client: 'Lima', fragment: `networks: [{ socket: "${spec.path}" }]` },
      ];
    case 'qemu+tcp':
      return [{ client: 'QEMU', fragment: `-netdev stream,id=hnet,server=off,addr.type=inet,addr.host=${spec.host},addr.port=${spec.port} -device virtio-net-pci,netdev=hnet,mac=${EXAMPLE_MAC}` }];
    case 'vfkit': {
      // QEMU's dgram netdev needs its own bound socket path to receive on.
      const local = spec.path.replace(/\.sock$/, '') + '-qemu.sock';
      return [
        { client: 'vfkit', fragment: `--device virtio-net,unixSocketPath=${spec.path},mac=${EXAMPLE_MAC}` },
        { client: 'QEMU', fragment: `-netdev dgram,id=hnet,local.type=unix,local.path=${local},remote.type=unix,remote.path=${spec.path} -device virtio-net-pci,netdev=hnet,mac=${EXAMPLE_MAC}` },
      ];
    }
    case 'vpnkit':
      return [{ client: 'hyperkit', fragment: `-s 2:0,virtio-vpnkit,path=${spec.path}` }];
    case 'stdio':
      return [{ client: 'a parent process', fragment: 'write 2-byte little-endian length + frame to hnet\'s stdin; read the same from its stdout' }];
    case 'tap':
      return [{ client: 'ip', fragment: spec.netns ? `ip -n ${spec.netns} link set ${spec.name} up; ip netns exec ${spec.netns} udhcpc -i ${spec.name}` : `ip link set ${spec.name} up; udhcpc -i ${spec.name}` }];
  }
}

/** One "  attach (client): fragment" line per hint for every --listen URI. */
export function attachHintLines(listen: string[], home: string, parse: (uri: string, home: string) => ListenSpec): string[] {
  return listen.flatMap((uri) => attachHints(parse(uri, home)).map((h) => `  attach (${h.client}): ${h.fragment}`));
}
