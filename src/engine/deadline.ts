// A deadline timer that never fires early: Node's setTimeout overflows past 2³¹ − 1 ms and fires
// after 1 ms, so a long deadline is reached in steps of at most that much.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls `onExpire` once `ms` have passed; returns a function that stops the deadline. */
export function startDeadline(ms: number, onExpire: () => void): () => void {
  if (ms === Infinity) return () => {};
  const end = Date.now() + ms;
  let timer: ReturnType<typeof setTimeout>;
  const arm = (delay: number) => {
    timer = setTimeout(() => {
      const left = end - Date.now();
      if (left > 0) arm(left);
      else onExpire();
    }, Math.min(MAX_TIMER_MS, Math.max(0, delay)));
    // The deadline alone never keeps a process alive.
    if (typeof timer === 'object' && 'unref' in timer) timer.unref();
  };
  arm(ms);
  return () => clearTimeout(timer);
}
