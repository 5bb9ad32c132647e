// One status line for long steps (setup, proving): redrawn in place on a terminal, silent
// otherwise so --json output and logs stay clean. Written here because the steps report messages
// with no known total, which is all a progress-bar library would need and more than it offers.

const FRAMES = ['|', '/', '-', '\\'];

export class StatusLine {
  readonly #enabled: boolean;
  readonly #started = Date.now();
  #frame = 0;
  #timer: NodeJS.Timeout | undefined;
  #text = '';

  constructor(enabled: boolean) {
    this.#enabled = enabled && Boolean(process.stderr.isTTY);
    if (this.#enabled) this.#timer = setInterval(() => this.#draw(), 120);
  }

  update(text: string): void {
    this.#text = text;
    this.#draw();
  }

  #draw(): void {
    if (!this.#enabled) return;
    const secs = ((Date.now() - this.#started) / 1000).toFixed(1);
    const line = `${FRAMES[this.#frame++ % FRAMES.length]} ${this.#text} (${secs} s)`;
    process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns ?? 80) - 1)}`);
  }

  done(): void {
    clearInterval(this.#timer);
    if (this.#enabled) process.stderr.write('\r\x1b[2K');
  }
}
