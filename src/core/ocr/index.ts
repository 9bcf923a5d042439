/** OCR with the PP-OCR detector and recogniser: pure pre- and post-processing, no DOM and no model runtime. */
export * from './image.ts';
export * from './det-input.ts';
export * from './det-boxes.ts';
export * from './rec-input.ts';
export * from './ctc.ts';
export * from './accuracy.ts';
