import { describe, expect, it } from 'vitest';
import { OfflineBuffer } from '../../src/mqtt/offline-buffer.ts';
import { Topics, encodePayload } from '../../src/mqtt/topics.ts';

const msg = (topic: string, bytes: number, retain = false) => ({ topic, payload: Buffer.alloc(bytes, 1), retain, qos: 1 as const });

describe('OfflineBuffer', () => {
  it('drops the oldest messages beyond the message bound and counts them', () => {
    const buffer = new OfflineBuffer({ maxMessages: 3, maxBytes: 1000 });
    for (let i = 0; i < 5; i += 1) buffer.push(msg(`t/${i}`, 10));
    expect(buffer.size).toBe(3);
    expect(buffer.dropped).toBe(2);
    expect(buffer.drain().map((m) => m.topic)).toEqual(['t/2', 't/3', 't/4']);
    expect(buffer.size).toBe(0);
    expect(buffer.byteSize).toBe(0);
  });

  it('keeps within the byte bound and refuses a message larger than the whole bound', () => {
    const buffer = new OfflineBuffer({ maxMessages: 100, maxBytes: 100 });
    buffer.push(msg('a', 40));
    buffer.push(msg('b', 40));
    buffer.push(msg('c', 40));
    expect(buffer.byteSize).toBe(80);
    expect(buffer.drain().map((m) => m.topic)).toEqual(['b', 'c']);
    buffer.push(msg('huge', 101));
    expect(buffer.size).toBe(0);
    expect(buffer.dropped).toBe(2);
  });

  it('keeps only the newest retained message per topic', () => {
    const buffer = new OfflineBuffer({ maxMessages: 10, maxBytes: 1000 });
    buffer.push(msg('status', 5, true));
    buffer.push(msg('face', 5));
    buffer.push(msg('status', 7, true));
    expect(buffer.drain().map((m) => [m.topic, m.payload.length])).toEqual([
      ['face', 5],
      ['status', 7],
    ]);
    expect(buffer.dropped).toBe(0);
  });
});

describe('Topics', () => {
  it('names every topic from one place', () => {
    const t = new Topics('raypack/', 'dev1');
    expect(t.deviceStatus()).toBe('raypack/dev1/status');
    expect(t.cameraStatus('door')).toBe('raypack/dev1/door/status');
    expect(t.result('door', 'face')).toBe('raypack/dev1/door/face');
    expect(t.result('door', 'food')).toBe('raypack/dev1/door/food');
    expect(t.all()).toBe('raypack/dev1/#');
    expect(encodePayload('deviceStatus', 'online').toString()).toBe('online');
  });
});
