// A progress bar on stderr, only when stderr is a TTY (DESIGN.md "Command line"). No dependency: one line redrawn
// with \r, at most ten times a second.
export class Progress {
  private last = 0;
  private readonly started = Date.now();

  constructor(
    private readonly stream: { write(s: string): unknown; isTTY?: boolean | undefined },
    private readonly total: number,
    private readonly label: string,
  ) {}

  get enabled(): boolean {
    return this.stream.isTTY === true && this.total > 0;
  }

  update(done: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100 && done < this.total) return;
    this.last = now;
    const frac = Math.min(1, done / this.total);
    const width = 30;
    const filled = Math.round(frac * width);
    const secs = (now - this.started) / 1000;
    const rate = secs > 0 ? done / secs / 1048576 : 0;
    this.stream.write(
      `\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(1).padStart(5)}% ${rate.toFixed(1)} MiB/s`,
    );
  }

  done(): void {
    if (this.enabled) this.stream.write('\n');
  }
}
