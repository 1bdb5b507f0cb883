/**
 * Test support for datagram sockets.
 */
import { BlockingIOError, type Socket } from '@iomux/core-native';

/** Every datagram waiting on `s` (non-blocking), as strings. */
export function drainDatagrams(s: Socket): string[] {
  const out: string[] = [];
  for (;;) {
    try {
      out.push(s.recv(65536).toString());
    } catch (e) {
      if (e instanceof BlockingIOError) return out;
      throw e;
    }
  }
}
