// Voice announcements of calls, as spoken in the hall:
//   "请A001号到12号窗口办理" is read "请A零零一号到十二号窗口办理":
//   the ticket number character by character (digits one by one), the window as a number.
// Pure functions plus a queue, no DOM: tested with node (tests/windows/announce.test.mjs).
const DIGITS = "零一二三四五六七八九";
const UNITS = ["千", "百", "十", ""];

// "A001" -> "A零零一": every digit read on its own, letters kept as they are.
export function readCharacters(text) {
  return String(text).replace(/[0-9]/g, (d) => DIGITS[Number(d)]);
}

// 12 -> "十二", 101 -> "一百零一", 110 -> "一百一十", 1010 -> "一千零一十" (0..9999).
export function readNumber(value) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 9999) return readCharacters(String(value));
  if (n === 0) return DIGITS[0];
  const digits = String(n).padStart(4, "0").split("").map(Number);
  let out = "";
  let started = false;
  let zero = false;
  digits.forEach((d, i) => {
    if (d === 0) { if (started) zero = true; return; }
    if (zero) { out += DIGITS[0]; zero = false; }
    out += DIGITS[d] + UNITS[i];
    started = true;
  });
  // 10..19 are said "十", "十二", not "一十二".
  return n >= 10 && n < 20 ? out.slice(1) : out;
}

// What the board shows: "请A001号到12号窗口办理".
export function announcementText(number, windowNumber) {
  return `请${number}号到${windowNumber}号窗口办理`;
}

// What the voice says: "请A零零一号到十二号窗口办理".
export function spokenText(number, windowNumber) {
  return `请${readCharacters(number)}号到${readNumber(windowNumber)}号窗口办理`;
}

// Plays announcements one after another, never overlapping: chime, then the voice.
// `chime()` and `speak(text)` return promises that settle when the sound has finished.
export class AnnouncementQueue {
  constructor({ chime, speak, onStart = () => {}, onIdle = () => {} }) {
    this.chime = chime;
    this.speak = speak;
    this.onStart = onStart;
    this.onIdle = onIdle;
    this.waiting = [];
    this.playing = false;
  }

  add(item) {
    this.waiting.push(item);
    if (!this.playing) this.next();
  }

  get length() { return this.waiting.length + (this.playing ? 1 : 0); }

  async next() {
    const item = this.waiting.shift();
    if (!item) { this.playing = false; this.onIdle(); return; }
    this.playing = true;
    this.onStart(item);
    try { await this.chime(); } catch (error) { /* a missing chime must not stop the voice */ }
    try { await this.speak(item.spoken); } catch (error) { /* nor a failed voice the queue */ }
    this.next();
  }
}

// One announcement from a ticket.called / ticket.recalled event's data.
export function announcementFor(data) {
  return {
    number: data.number,
    windowNumber: data.window_number,
    text: announcementText(data.number, data.window_number),
    spoken: spokenText(data.number, data.window_number),
  };
}
