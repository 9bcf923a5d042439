/**
 * Wall time of a batch of compute dispatches, the one timing rule shared by the autotuner and the
 * benchmarks: earlier work is drained first (uploads, warm-ups are not billed), then `reps` dispatches go
 * in one command buffer and the clock stops at `onSubmittedWorkDone`.
 */

/** Milliseconds from submission to completion of `reps` dispatches of `pipeline` over `bindGroup`. */
export async function timeDispatches(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  bindGroup: GPUBindGroup,
  dispatch: readonly [number, number, number],
  reps: number,
): Promise<number> {
  await device.queue.onSubmittedWorkDone();
  const t0 = performance.now();
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  for (let i = 0; i < reps; i++) pass.dispatchWorkgroups(dispatch[0], dispatch[1], dispatch[2]);
  pass.end();
  device.queue.submit([encoder.finish()]);
  await device.queue.onSubmittedWorkDone();
  return performance.now() - t0;
}
