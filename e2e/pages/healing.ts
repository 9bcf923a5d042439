// Test harness page for the healing spec: the storage harness (SDK, model cache, sent frames) with fault
// injection into the compute workers (worker-faults.ts, loaded first so it sees every worker the SDK starts).
import './worker-faults.ts';
import './storage.ts';
