/**
 * Host-side planning of row-kernel jobs whose buffers exceed `maxStorageBufferBindingSize` (128 MiB by default,
 * while a buffer may be larger): the rows are split into ranges, each bound as a sub-range (offset, size) of
 * every buffer and run as its own dispatch. Pure functions: safe to import anywhere.
 *
 * A binding offset must be a multiple of `minStorageBufferOffsetAlignment` (256 by default) while a range's
 * first row may start anywhere, so each window starts at the aligned offset at or below the range's first
 * row and the kernel skips the `base` floats in between (the `base`/`inBase`/`outBase` params of
 * softmax.ts, layernorm.ts, reduce.ts). Any row that fits a binding can then start a range: the plan fails
 * only when one row (plus that alignment slack) is larger than a binding.
 */
import { checkCount } from './rows.ts';

/** The device limits a chunk plan must fit (a `GPUSupportedLimits` satisfies it). */
export interface ChunkLimits {
  /** Largest storage-buffer binding, in bytes. */
  maxStorageBufferBindingSize: number;
  /** Alignment of storage-buffer binding offsets, in bytes; default 256 (WebGPU's default limit). */
  minStorageBufferOffsetAlignment?: number;
}

/** The alignment WebGPU guarantees to accept: a multiple of every device's `minStorageBufferOffsetAlignment`. */
export const DEFAULT_OFFSET_ALIGNMENT = 256;

/** One buffer's binding for one row range. */
export interface BufferWindow {
  /** Byte offset of the binding in the buffer (aligned). */
  offset: number;
  /** Byte size of the binding (a multiple of 4, at most the binding limit). */
  size: number;
  /** Floats between the binding's start and the range's first row (the kernel's base param). */
  base: number;
}

/** A range of rows run as one dispatch, with a window per buffer, in the order of `rowBytes`. */
export interface RowChunk {
  /** First row of the range in the whole job. */
  rowStart: number;
  /** Rows in the range. */
  rows: number;
  windows: BufferWindow[];
}

/**
 * Splits `rows` rows into ranges whose windows fit `limits`, for buffers holding `rowBytes[i]` bytes per row
 * from offset 0 (softmax: [cols*4, cols*4]; reduce: [cols*4, 4]; buffers bound whole, like layer norm's
 * gamma and beta, are not listed). Ranges are as long as the tightest buffer allows; one range when the
 * whole job fits. Throws a RangeError when a row does not fit a binding.
 */
export function planRowChunks(rows: number, rowBytes: readonly number[], limits: ChunkLimits): RowChunk[] {
  const action = 'plan row chunks';
  checkCount(action, 'rows', rows, 1);
  if (rowBytes.length === 0) throw new RangeError(`Cannot ${action} as 'rowBytes' must list at least one buffer: current value is []`);
  const align = limits.minStorageBufferOffsetAlignment ?? DEFAULT_OFFSET_ALIGNMENT;
  if (!Number.isInteger(align) || align < 4 || (align & (align - 1)) !== 0) {
    throw new RangeError(`Cannot ${action} as 'minStorageBufferOffsetAlignment' must be a power of two >= 4: current value is ${align}`);
  }
  const maxBinding = limits.maxStorageBufferBindingSize;
  if (!Number.isInteger(maxBinding) || maxBinding < 4) {
    throw new RangeError(`Cannot ${action} as 'maxStorageBufferBindingSize' must be an integer >= 4: current value is ${maxBinding}`);
  }
  const limit = maxBinding - (maxBinding % 4);
  rowBytes.forEach((rb, i) => {
    if (!Number.isInteger(rb) || rb < 4 || rb % 4 !== 0) {
      throw new RangeError(`Cannot ${action} as 'rowBytes[${i}]' must be a positive multiple of 4: current value is ${rb}`);
    }
    if (rb > limit) {
      throw new RangeError(`Cannot ${action} as one row of buffer ${i} does not fit a binding of maxStorageBufferBindingSize ${maxBinding} bytes: current value is ${rb} bytes`);
    }
  });

  const chunks: RowChunk[] = [];
  for (let start = 0; start < rows;) {
    let count = rows - start;
    for (const rb of rowBytes) {
      const lead = (start * rb) % align;
      count = Math.min(count, Math.floor((limit - lead) / rb));
    }
    if (count < 1) {
      throw new RangeError(`Cannot ${action} as row ${start} does not fit a binding of ${maxBinding} bytes once its offset is aligned down to ${align}: current value is ${Math.max(...rowBytes)} bytes per row`);
    }
    const windows = rowBytes.map((rb) => {
      const byteStart = start * rb;
      const lead = byteStart % align;
      return { offset: byteStart - lead, size: lead + count * rb, base: lead / 4 };
    });
    chunks.push({ rowStart: start, rows: count, windows });
    start += count;
  }
  return chunks;
}
