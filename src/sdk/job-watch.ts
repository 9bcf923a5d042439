/**
 * Keeps asking the coordinator how one job stands, so its handle cannot wait forever on a push that never
 * comes: on every (re)authentication (a `welcome`: the job may have ended while the client was away) and every
 * STATUS_POLL_MS while the session is up. A 'not-found' is asked about once more NOT_FOUND_RECHECK_MS later
 * before the job counts as lost: in a cluster a job may be between instances for a moment.
 */
import type { JobStatus } from '../protocol/index.ts';
import { MeshError } from '../protocol/index.ts';
import type { RequestFrame } from '../mesh/coordinator-client.ts';

/** How often a running job's status is asked while the session is up. */
export const STATUS_POLL_MS = 10_000;
/** How long after a first 'not-found' the job is asked about again. */
export const NOT_FOUND_RECHECK_MS = 2_000;

/** What the watch needs of the coordinator session (CoordinatorClient). */
export interface StatusSource extends EventTarget {
  readonly state: 'open' | 'reconnecting' | 'closed';
  request<T = unknown>(frame: RequestFrame): Promise<T>;
}

/** What the watch reports. */
export interface StatusSink {
  /** The job still runs (its latest figures). */
  running(status: JobStatus): void;
  /** The job ended (done, cancelled, expired, failed). */
  ended(status: JobStatus): void;
  /** The coordinator answered 'not-found' twice: it no longer knows the job. */
  lost(): void;
}

/** Watches one job until `stop()`. */
export class JobWatch {
  readonly #source: StatusSource;
  readonly #jobId: string;
  readonly #sink: StatusSink;
  readonly #poll: ReturnType<typeof setInterval>;
  #recheck: ReturnType<typeof setTimeout> | undefined;
  #asking = false;
  #stopped = false;
  readonly #onWelcome = () => void this.refresh();

  constructor(source: StatusSource, jobId: string, sink: StatusSink, pollMs = STATUS_POLL_MS) {
    this.#source = source;
    this.#jobId = jobId;
    this.#sink = sink;
    source.addEventListener('welcome', this.#onWelcome);
    this.#poll = setInterval(() => {
      if (source.state === 'open') void this.refresh();
    }, pollMs);
  }

  /** Asks now (one question at a time; the recheck of a 'not-found' asks regardless). */
  async refresh(recheck = false): Promise<void> {
    if (this.#stopped || (this.#asking && !recheck)) return;
    this.#asking = true;
    try {
      const status = await this.#source.request<unknown>({ type: 'job', jobId: this.#jobId });
      clearTimeout(this.#recheck);
      this.#recheck = undefined;
      if (this.#stopped || !isJobStatus(status)) return;
      if (status.state === 'running') this.#sink.running(status);
      else this.#sink.ended(status);
    } catch (err) {
      // Anything but 'not-found' (a dropped socket, a timeout): the next poll or welcome asks again.
      if (this.#stopped || !(err instanceof MeshError) || err.code !== 'not-found') return;
      if (recheck) this.#sink.lost();
      else if (this.#recheck === undefined) {
        this.#recheck = setTimeout(() => {
          this.#recheck = undefined;
          void this.refresh(true);
        }, NOT_FOUND_RECHECK_MS);
      }
    } finally {
      this.#asking = false;
    }
  }

  /** Stops asking. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#poll);
    clearTimeout(this.#recheck);
    this.#source.removeEventListener('welcome', this.#onWelcome);
  }
}

/** Whether a value looks like a JobStatus (an `ok` result is not validated by the session). */
export function isJobStatus(v: unknown): v is JobStatus {
  return typeof v === 'object' && v !== null && typeof (v as JobStatus).jobId === 'string' && typeof (v as JobStatus).state === 'string' &&
    typeof (v as JobStatus).spent === 'number';
}
