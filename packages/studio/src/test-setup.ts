// Under jsdom, TextEncoder's Uint8Arrays come from another realm than the test's global
// Uint8Array, and the SDK's crypto checks `instanceof Uint8Array`: re-wrap them in this realm's,
// as a browser (one realm) has them.

import { TextEncoder as NodeTextEncoder } from 'node:util';

class RealmTextEncoder extends NodeTextEncoder {
  override encode(input?: string): Uint8Array<ArrayBuffer> {
    return new Uint8Array(super.encode(input));
  }
}

Object.assign(globalThis, { TextEncoder: RealmTextEncoder });
