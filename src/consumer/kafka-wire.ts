/**
 * Just enough of the Kafka wire protocol for one request kafkajs cannot send: OffsetFetch with
 * `require_stable` (v7, KIP-447). Big-endian fixed ints, unsigned varints and the "compact"
 * (flexible-version) strings/arrays with empty tagged-field sections.
 */
export class Writer {
  private readonly parts: Buffer[] = [];

  int8(v: number): this {
    const b = Buffer.alloc(1);
    b.writeInt8(v);
    return this.push(b);
  }

  int16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    return this.push(b);
  }

  int32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    return this.push(b);
  }

  int64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(v);
    return this.push(b);
  }

  uvarint(v: number): this {
    const bytes: number[] = [];
    let x = v >>> 0;
    while (x >= 0x80) {
      bytes.push((x & 0x7f) | 0x80);
      x >>>= 7;
    }
    bytes.push(x);
    return this.push(Buffer.from(bytes));
  }

  /** int16 length + UTF-8 (null = -1). */
  string(v: string | null): this {
    if (v === null) return this.int16(-1);
    const b = Buffer.from(v, 'utf8');
    return this.int16(b.length).push(b);
  }

  /** uvarint(length + 1) + UTF-8. */
  compactString(v: string): this {
    const b = Buffer.from(v, 'utf8');
    return this.uvarint(b.length + 1).push(b);
  }

  compactArray<T>(items: readonly T[], each: (w: this, item: T) => void): this {
    this.uvarint(items.length + 1);
    for (const item of items) each(this, item);
    return this;
  }

  emptyTags(): this {
    return this.uvarint(0);
  }

  /** The message with its int32 size prefix. */
  frame(): Buffer {
    const body = Buffer.concat(this.parts);
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length);
    return Buffer.concat([size, body]);
  }

  private push(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
}

export class Reader {
  private pos = 0;

  constructor(private readonly buf: Buffer) {}

  int8(): number {
    return this.take(1).readInt8(0);
  }

  int16(): number {
    return this.take(2).readInt16BE(0);
  }

  int32(): number {
    return this.take(4).readInt32BE(0);
  }

  int64(): bigint {
    return this.take(8).readBigInt64BE(0);
  }

  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.take(1)[0];
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result >>> 0;
      shift += 7;
      if (shift > 28) throw new RangeError('varint too long');
    }
  }

  string(): string | null {
    const n = this.int16();
    return n < 0 ? null : this.take(n).toString('utf8');
  }

  compactString(): string | null {
    const n = this.uvarint();
    return n === 0 ? null : this.take(n - 1).toString('utf8');
  }

  compactArray<T>(each: (r: this) => T): T[] {
    const n = this.uvarint();
    const out: T[] = [];
    for (let i = 0; i < n - 1; i += 1) out.push(each(this));
    return out;
  }

  skipTags(): void {
    const n = this.uvarint();
    for (let i = 0; i < n; i += 1) {
      this.uvarint(); // tag
      this.take(this.uvarint());
    }
  }

  private take(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new RangeError('truncated Kafka response');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}
