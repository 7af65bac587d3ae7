// Raw tensor contents: elements row-major, little-endian, fixed-size datatypes back to back; BYTES elements each a
// 4-byte little-endian length followed by that many bytes (the protocol's `raw_input_contents`/`raw_output_contents`).
import { DATATYPES, type Datatype, type FixedSizeData, type TensorData } from "./datatypes.js";

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverses the bytes of each `size`-byte element in place (only big-endian hosts need it). */
function swapEach(bytes: Uint8Array, size: number): void {
  if (size <= 1) return;
  for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
}

/** The little-endian bytes of a fixed-size array: a view of it on little-endian hosts (no copy), a swapped copy otherwise. */
export function fixedToRaw(data: FixedSizeData): Uint8Array {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (HOST_LITTLE_ENDIAN) return view;
  const copy = new Uint8Array(view);
  swapEach(copy, data.BYTES_PER_ELEMENT);
  return copy;
}

/** A fixed-size array of `count` elements from raw bytes whose length the caller checked (count × element size). */
export function fixedFromRaw(datatype: Exclude<Datatype, "BYTES">, count: number, raw: Uint8Array): FixedSizeData {
  // A copy: the message's bytes may sit at any offset (typed arrays need aligned ones) and belong to the caller.
  // (`new Uint8Array(raw)`, not `raw.slice()`: a Node Buffer's slice is a view of the same memory.)
  const copy = new Uint8Array(raw);
  const size = DATATYPES[datatype].elementBytes;
  if (!HOST_LITTLE_ENDIAN) swapEach(copy, size);
  const empty = DATATYPES[datatype].allocate(0) as FixedSizeData;
  const Ctor = empty.constructor as new (buffer: ArrayBuffer, offset: number, length: number) => FixedSizeData;
  return new Ctor(copy.buffer, 0, count);
}

/** BYTES elements as raw contents: each a 4-byte little-endian length, then its bytes. */
export function bytesToRaw(elements: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const e of elements) total += 4 + e.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const e of elements) {
    view.setUint32(at, e.length, true);
    out.set(e, at + 4);
    at += 4 + e.length;
  }
  return out;
}

/**
 * Splits raw BYTES contents into `count` elements. Returns the elements, or a description of what is wrong
 * (`{problem, expected, got}`) for the caller to put in its error.
 */
export function bytesFromRaw(raw: Uint8Array, count: number): Uint8Array[] | { problem: string; expected: string; got: string } {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 4 > raw.length) {
      return { problem: `raw BYTES contents end at element ${i} of ${count}`, expected: `${count} length-prefixed elements`, got: `${i} elements in ${raw.length} bytes` };
    }
    const n = view.getUint32(at, true);
    if (at + 4 + n > raw.length) {
      return { problem: `raw BYTES element ${i} claims ${n} bytes but only ${raw.length - at - 4} remain`, expected: `${n} bytes`, got: `${raw.length - at - 4} bytes` };
    }
    // A view, not a copy: the request's buffer lives as long as the request (a copy per element was one ArrayBuffer
    // each — millions of them for a request of many short elements).
    out.push(raw.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  if (at !== raw.length) {
    return { problem: `raw BYTES contents hold more than ${count} elements`, expected: `${count} elements in ${at} bytes`, got: `${raw.length} bytes` };
  }
  return out;
}

/** Raw contents of any tensor's data. */
export function dataToRaw(data: TensorData): Uint8Array {
  return Array.isArray(data) ? bytesToRaw(data) : fixedToRaw(data as FixedSizeData);
}
