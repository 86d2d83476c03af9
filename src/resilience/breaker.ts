// A small circuit breaker of our own, shared by Node and browsers. opossum, the usual Node choice,
// counts a failure percentage over a window, has no success threshold and does not bundle for
// browsers; this one keeps the original policy: N consecutive failures open it, after `recoveryMs`
// one trial runs half-open, M consecutive successes close it, a failed trial reopens it.

export type BreakerState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

export interface BreakerOptions {
  failureThreshold: number;
  recoveryMs: number;
  successThreshold: number;
  clock: () => number;
  onTransition?: (from: BreakerState, to: BreakerState) => void;
}

export class CircuitBreaker {
  #state: BreakerState = 'CLOSED';
  #failures = 0;
  #successes = 0;
  #opens = 0;
  #openedAt = 0;
  #trialInFlight = false;

  constructor(private readonly o: BreakerOptions) {}

  get state(): BreakerState {
    return this.#state;
  }

  /** Consecutive failures. */
  get failures(): number {
    return this.#failures;
  }

  get opens(): number {
    return this.#opens;
  }

  /** Whether a request may use the guarded engine now; half-open admits one trial at a time. */
  canRequest(): boolean {
    if (this.#state === 'OPEN') {
      if (this.o.clock() - this.#openedAt < this.o.recoveryMs) return false;
      this.#move('HALF_OPEN');
    }
    if (this.#state === 'HALF_OPEN') {
      if (this.#trialInFlight) return false;
      this.#trialInFlight = true;
    }
    return true;
  }

  recordSuccess(): void {
    this.#failures = 0;
    if (this.#state !== 'HALF_OPEN') return;
    this.#trialInFlight = false;
    if (++this.#successes >= this.o.successThreshold) this.#move('CLOSED');
  }

  recordFailure(): void {
    this.#failures++;
    this.#trialInFlight = false;
    if (this.#state === 'HALF_OPEN' || (this.#state === 'CLOSED' && this.#failures >= this.o.failureThreshold)) this.#open();
  }

  snapshot(): { state: BreakerState; failures: number; opens: number } {
    return { state: this.#state, failures: this.#failures, opens: this.#opens };
  }

  #open(): void {
    this.#opens++;
    this.#openedAt = this.o.clock();
    this.#move('OPEN');
  }

  #move(to: BreakerState): void {
    const from = this.#state;
    this.#state = to;
    this.#successes = 0;
    this.o.onTransition?.(from, to);
  }
}
