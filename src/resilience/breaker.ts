// A small circuit breaker of our own, shared by Node and browsers (opossum counts a failure percentage,
// has no success threshold and does not bundle for browsers). The original's policy: `failureThreshold`
// consecutive failures open it; after `recoveryMs` one trial at a time runs half-open;
// `successThreshold` consecutive successes close it; a failed trial reopens it.

export type BreakerState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

export interface BreakerOptions {
  failureThreshold: number;
  recoveryMs: number;
  successThreshold: number;
  /** ms; injected so tests move time instead of sleeping. */
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

  /** How many times it has opened (a failed half-open trial counts as another). */
  get opens(): number {
    return this.#opens;
  }

  /**
   * Whether a request may use the guarded engine now. Once `recoveryMs` has passed in OPEN this moves it
   * to HALF_OPEN; HALF_OPEN admits one trial at a time. Each `true` must be followed by exactly one of
   * `recordSuccess()`, `recordFailure()` or `abandon()`.
   */
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
    // A result that lands while OPEN was admitted before it opened: it says nothing about recovery.
    if (this.#state === 'OPEN') return;
    this.#failures = 0;
    if (this.#state === 'CLOSED') return;
    this.#trialInFlight = false;
    if (++this.#successes >= this.o.successThreshold) this.#move('CLOSED');
  }

  /** An admitted request that ended without a verdict (the caller's own timeout or abort): it frees the trial slot and counts as nothing. */
  abandon(): void {
    if (this.#state === 'HALF_OPEN') this.#trialInFlight = false;
  }

  recordFailure(): void {
    if (this.#state === 'OPEN') return;
    this.#failures++;
    if (this.#state === 'HALF_OPEN' || this.#failures >= this.o.failureThreshold) this.#open();
  }

  snapshot(): { state: BreakerState; failures: number; opens: number } {
    return { state: this.#state, failures: this.#failures, opens: this.#opens };
  }

  #open(): void {
    this.#opens++;
    this.#openedAt = this.o.clock();
    this.#trialInFlight = false;
    this.#move('OPEN');
  }

  #move(to: BreakerState): void {
    const from = this.#state;
    this.#state = to;
    this.#successes = 0;
    this.o.onTransition?.(from, to);
  }
}
