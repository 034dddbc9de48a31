// UUIDv7 ids made on the device (records and their items use them, docs/domain.md). Monotonic within
// one millisecond, so items made in a row sort in the order they were made, as the store lists them.

let lastMs = 0;
let seq = 0;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** A new UUIDv7. `now` and `random` are injectable for tests. */
export function uuidv7(
  now: () => number = Date.now,
  random: (n: number) => Uint8Array = (n) => crypto.getRandomValues(new Uint8Array(n)),
): string {
  let ms = now();
  if (ms <= lastMs) {
    ms = lastMs;
    seq += 1;
    if (seq > 0xfff) {
      ms += 1;
      seq = 0;
    }
  } else {
    seq = random(2)[0] & 0x7f; // leave room to count up within the millisecond
  }
  lastMs = ms;
  const r = random(8);
  const time = hex(ms, 12);
  const variant = hex(0x8000 | ((r[0] & 0x3f) << 8) | r[1], 4);
  const tail = Array.from(r.slice(2), (b) => hex(b, 2)).join('');
  return `${time.slice(0, 8)}-${time.slice(8)}-7${hex(seq, 3)}-${variant}-${tail}`;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
