/** The SDK's public types of OCR (see client.ocr and ocrLocal). */
import type { JobCost, JobOptions, JobProgress } from './types.ts';

/**
 * An image to read: ImageData, an ImageBitmap, an <img> (loaded), a canvas (HTMLCanvasElement or OffscreenCanvas),
 * a Blob or File holding an encoded image (PNG, JPEG, WebP...: whatever createImageBitmap decodes here), or plain
 * RGBA bytes `{ width, height, data }` in ImageData's layout. ImageData and RGBA bytes are copied when the call is
 * made; the others are read before the first job starts. Each side at most 8192 pixels.
 */
export type OcrImage = ImageData | ImageBitmap | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas | Blob | OcrRgba;

/** Plain RGBA bytes, row-major, 4 bytes per pixel (ImageData's layout). */
export interface OcrRgba {
  width: number;
  height: number;
  data: Uint8ClampedArray | Uint8Array;
}

/** A line of text found in an image: its text, its axis-aligned box in the image's pixels, and how sure. */
export interface OcrLine {
  text: string;
  box: { x: number; y: number; width: number; height: number };
  /** Mean probability of the line's characters, 0..1. */
  confidence: number;
}

/** What one image reads: its lines in reading order (top to bottom, then left to right), and its size. */
export interface OcrResult {
  width: number;
  height: number;
  lines: OcrLine[];
}

/**
 * URLs of the OCR models (relative ones resolve against the coordinator): a PP-OCR detector (input `x`
 * f32[N,3,H,W], output `sigmoid_0.tmp_0`), recogniser (input `x` f32[N,3,48,W], output `softmax_11.tmp_0`) and
 * its dictionary (one entry a line). Defaults: the PP-OCRv4 models the coordinator serves under /models/.
 */
export interface OcrModels {
  detector?: string;
  recogniser?: string;
  dictionary?: string;
}

/** How the OCR pipeline reads images; defaults are PaddleOCR's but for the unclip ratio. */
export interface OcrPipelineOptions {
  models?: OcrModels;
  /** Longest side of the detector's input; larger images are scaled down (default 960). */
  limitSide?: number;
  /** Text crops per recogniser batch (one tensor, padded to its widest crop; default 16). */
  maxBatch?: number;
  /** Lines below this confidence are left out (default 0.5). */
  minConfidence?: number;
  /** Detector post-process: pixel threshold (0.3), box threshold (0.6), unclip ratio (2.2; see core/ocr/det-boxes.ts). */
  box?: { threshold?: number; boxThreshold?: number; unclipRatio?: number };
}

/** Options of `client.ocr`: the pipeline's, plus market options for each of its jobs. */
export interface OcrOptions extends OcrPipelineOptions, JobOptions {
  /** Images per detector shard (default 1). */
  imagesPerShard?: number;
  /** Crops per recogniser shard (default 4). */
  cropsPerShard?: number;
}

/** Options of `ocrLocal`: the pipeline's, run with onnxruntime-web in this page. */
export interface OcrLocalOptions extends OcrPipelineOptions {
  /** Base URL of the mesh's files (`ort/` and, for relative model URLs, `models/`; default the SDK's origin). */
  base?: string;
  /** ORT WASM threads (default 1; more only in a cross-origin isolated page). */
  threads?: number;
}

/**
 * Progress of `client.ocr`: the stage ('detect', 'recognise', then 'done'), the jobs started so far and their
 * shards settled out of the total, and the job event that moved it (its index among the run's jobs).
 */
export interface OcrProgress {
  stage: 'detect' | 'recognise' | 'done';
  jobs: number;
  done: number;
  total: number;
  job?: { index: number; progress: JobProgress };
}

/**
 * A running OCR call: a detector job per image size, then recogniser jobs over the crops. Events: 'progress'
 * (CustomEvent<OcrProgress>). `result` has one OcrResult per image, in order; `cost` sums the jobs' costs
 * (source 'client' if any job's figures are the client's own) once the call is over; `cancel` cancels every job.
 */
export interface OcrHandle extends EventTarget {
  readonly result: Promise<OcrResult[]>;
  readonly cost: Promise<JobCost>;
  /** Ids of the jobs started so far. */
  readonly jobIds: readonly string[];
  cancel(): Promise<void>;
}
