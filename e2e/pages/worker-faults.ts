// Fault injection for the healing spec, test pages only: every compute worker the SDK starts (name
// 'meshwork-*') is started through a blob module that first loads a small fault hook, then the real worker
// script. The hook takes `{ meshTestFault }` messages: 'throw' throws an uncaught error at once; the armed
// faults fire at the next GPU queue submit (mid-task): 'throw-on-submit', 'destroy-on-submit' (device.destroy()),
// 'terminate-on-submit' (asks this page to terminate() the worker, as a page or browser would). A fault armed
// with `persist` is armed again in every worker started after it (a fault that survives restarts).

/** What the healing spec reaches through `window.workerFaults`. */
export interface WorkerFaults {
  /** Names of the compute workers started so far, oldest first ('meshwork-gpu', 'meshwork-onnx', ...). */
  started(): string[];
  /** Terminates the live worker of a lane now. */
  terminate(lane: 'gpu' | 'onnx'): boolean;
  /** Sends a fault to the live worker of a lane (see the header); `persist` arms it in later workers too. */
  arm(lane: 'gpu' | 'onnx', fault: string, persist?: boolean): boolean;
  /** Stops re-arming later workers. */
  disarm(): void;
}

declare global {
  interface Window {
    workerFaults: WorkerFaults;
  }
}

const HOOK = `
const devices = [];
let armed = '';
if (typeof GPUAdapter !== 'undefined') {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await requestDevice.apply(this, args);
    devices.push(device);
    return device;
  };
  const submit = GPUQueue.prototype.submit;
  GPUQueue.prototype.submit = function (...args) {
    const result = submit.apply(this, args);
    const fault = armed;
    if (fault && !fault.endsWith('!')) armed = '';
    const kind = fault.replace(/!$/, '');
    if (kind === 'throw-on-submit') setTimeout(() => { throw new Error('injected fault: uncaught throw in the compute worker'); });
    if (kind === 'destroy-on-submit') for (const d of devices) d.destroy();
    if (kind === 'terminate-on-submit') self.postMessage({ meshTestTerminateMe: true });
    return result;
  };
}
self.addEventListener('message', (e) => {
  const fault = e.data && e.data.meshTestFault;
  if (typeof fault !== 'string') return;
  if (fault === 'throw') setTimeout(() => { throw new Error('injected fault: uncaught throw in the compute worker'); });
  else armed = fault;
});
`;

const hookUrl = URL.createObjectURL(new Blob([HOOK], { type: 'text/javascript' }));
const started: string[] = [];
const live = new Map<string, Worker>();
const persistent = new Map<string, string>();
const NativeWorker = window.Worker;

class FaultableWorker extends NativeWorker {
  constructor(url: string | URL, opts?: WorkerOptions) {
    const name = opts?.name ?? '';
    if (!name.startsWith('meshwork-')) {
      super(url, opts);
      return;
    }
    const real = new URL(String(url), location.href).href;
    const shim = `import ${JSON.stringify(hookUrl)};\nimport ${JSON.stringify(real)};\n`;
    super(URL.createObjectURL(new Blob([shim], { type: 'text/javascript' })), opts);
    started.push(name);
    live.set(name, this);
    const lane = name.slice('meshwork-'.length);
    const again = persistent.get(lane);
    if (again) this.postMessage({ meshTestFault: `${again}!` });
    this.addEventListener('message', (e) => {
      if ((e.data as { meshTestTerminateMe?: boolean } | null)?.meshTestTerminateMe) this.terminate();
    });
  }
}
window.Worker = FaultableWorker;

window.workerFaults = {
  started: () => [...started],
  terminate(lane) {
    const w = live.get(`meshwork-${lane}`);
    w?.terminate();
    return w !== undefined;
  },
  arm(lane, fault, persist = false) {
    if (persist) persistent.set(lane, fault);
    const w = live.get(`meshwork-${lane}`);
    w?.postMessage({ meshTestFault: persist ? `${fault}!` : fault });
    return w !== undefined;
  },
  disarm() {
    persistent.clear();
    for (const w of live.values()) w.postMessage({ meshTestFault: '' });
  },
};
