// Voice announcements of calls. The words come from the server (service_hall/voice/segments.py:
// the text shown, the text spoken and its recorded segments travel in the event); this module
// only chooses how to say them and queues them. Pure functions plus a queue, no DOM: tested with
// node (tests/windows/announce.test.mjs).

// How many times each call is said, as halls do.
export const REPEAT = 2;

// One announcement from a ticket.called / ticket.recalled event's data.
export function announcementFor(data) {
  return {
    number: data.number,
    windowNumber: data.window_number,
    text: data.announcement,
    spoken: data.spoken || data.announcement,
    segments: Array.isArray(data.segments) ? data.segments : [],
  };
}

const hasAll = (clips, segments) => !!clips && segments.every((key) => key in clips);

// Which voice says an announcement: the hall's recorded pack when it is complete; else the
// device's Mandarin speech voice; else the default pack shipped with the project.
export function chooseVoice(pack, segments, hasSpeechVoice) {
  if (segments.length && pack && pack.complete && hasAll(pack.hall_segments, segments)) {
    return "hall";
  }
  if (hasSpeechVoice) return "speech";
  if (segments.length && pack && hasAll(pack.default_segments, segments)) return "default";
  return "speech";  // nothing better: try the engine anyway (it may read it some way)
}

// The clip URLs that say `segments` with the chosen pack.
export function clipsFor(pack, source, segments) {
  const clips = source === "hall" ? pack.hall_segments : pack.default_segments;
  return segments.map((key) => clips[key]);
}

// Plays announcements one after another, never overlapping: chime, then the voice `repeat`
// times. `chime()` and `speak(item)` return promises that settle when the sound has finished.
export class AnnouncementQueue {
  constructor({ chime, speak, repeat = REPEAT, onStart = () => {}, onIdle = () => {} }) {
    this.chime = chime;
    this.speak = speak;
    this.repeat = repeat;
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
    for (let i = 0; i < this.repeat; i += 1) {
      try { await this.speak(item); } catch (error) { /* nor a failed voice the queue */ }
    }
    this.next();
  }
}
