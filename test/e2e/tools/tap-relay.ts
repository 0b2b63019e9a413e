// A guest's "NIC cable" as its own process, for the two-guests e2e suite:
//   node --import tsx tap-relay.ts TAP NETNS SOCKET_PATH [MTU]
// Creates tap TAP inside namespace NETNS and relays its frames to and from the
// unix stream socket SOCKET_PATH with QEMU's -netdev stream framing (4-byte
// big-endian length + frame), as QEMU would. Prints `connected` once both ends
// are open, then `to-tap N` (bytes written to the tap so far) about every MiB.
// SIGKILL it to "pull the cable": the socket closes and the tap disappears.
// Exits 0 when the daemon closes the socket.
import { QEMU_STREAM } from '../../../src/lib/phy/framing.js';
import { bridgeLinks, connectUnix, openNetnsTap, streamLink } from '../helpers/tap-bridge.js';

const [tap, netns, path, mtuText] = process.argv.slice(2);
const mtu = Number(mtuText ?? 1500);

const tapLink = await openNetnsTap(tap, netns, mtu);
const sock = await connectUnix(path);
const net = streamLink(sock, QEMU_STREAM, mtu);
const counts = bridgeLinks(net, tapLink);
let reported = 0;
const timer = setInterval(() => {
  if (counts.aToB.bytes - reported >= 1 << 20) {
    reported = counts.aToB.bytes;
    process.stdout.write(`to-tap ${reported}\n`);
  }
}, 20);
net.onClose = () => {
  clearInterval(timer);
  void tapLink.close().then(() => process.exit(0));
};
process.stdout.write('connected\n');
