/** An undo stack: each step that makes something pushes how to remove it; a failure runs them in reverse. */
export class Undo {
  private steps: (() => void)[] = [];

  push(step: () => void): void {
    this.steps.push(step);
  }

  /** Run every step, newest first; a failing step does not stop the others (the first error is the one reported). */
  run(): void {
    for (const step of this.steps.reverse()) {
      try {
        step();
      } catch {
        // Best effort.
      }
    }
    this.steps = [];
  }
}
