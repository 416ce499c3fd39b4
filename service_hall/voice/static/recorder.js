// The administrator's voice pack page: record a segment with the microphone (MediaRecorder),
// turn it into 16 kHz mono 16-bit WAV (the server trims the silence at both ends), save it,
// play it back, delete it.
const section = document.getElementById("segments");
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const RATE = 16000;
const urlFor = (template, key) => template.replace("KEY", encodeURIComponent(key));

function showError(message) {
  const box = document.getElementById("mic-error");
  box.textContent = message;
  box.hidden = !message;
}

// Float samples -> 16-bit PCM WAV.
export function encodeWav(samples, rate) {
  const buffer = new ArrayBuffer(44 + samples.length * 2);
  const view = new DataView(buffer);
  const text = (offset, s) => [...s].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF"); view.setUint32(4, 36 + samples.length * 2, true); text(8, "WAVE");
  text(12, "fmt "); view.setUint32(16, 16, true); view.setUint16(20, 1, true);
  view.setUint16(22, 1, true); view.setUint32(24, rate, true); view.setUint32(28, rate * 2, true);
  view.setUint16(32, 2, true); view.setUint16(34, 16, true);
  text(36, "data"); view.setUint32(40, samples.length * 2, true);
  samples.forEach((s, i) => {
    const v = Math.max(-1, Math.min(1, s));
    view.setInt16(44 + i * 2, v < 0 ? v * 0x8000 : v * 0x7fff, true);
  });
  return new Blob([buffer], { type: "audio/wav" });
}

async function toWav(blob) {
  const decoder = new AudioContext();
  try {
    const decoded = await decoder.decodeAudioData(await blob.arrayBuffer());
    const frames = Math.max(1, Math.ceil(decoded.duration * RATE));
    const offline = new OfflineAudioContext(1, frames, RATE);
    const source = offline.createBufferSource();
    source.buffer = decoded;
    source.connect(offline.destination);
    source.start();
    const rendered = await offline.startRendering();
    return encodeWav(rendered.getChannelData(0), RATE);
  } finally {
    decoder.close();
  }
}

async function save(row, wav) {
  const body = new FormData();
  body.append("audio", wav, `${row.dataset.key}.wav`);
  const answer = await fetch(urlFor(section.dataset.save, row.dataset.key),
                             { method: "POST", body, headers: { "X-CSRFToken": csrf } });
  const data = await answer.json();
  if (!answer.ok) throw new Error(data.error ? data.error.message : answer.statusText);
  row.classList.remove("fallback");
  row.classList.add("recorded");
  row.querySelector(".seg-state").textContent =
    `已录制 · ${(data.duration_ms / 1000).toFixed(1)} s`;
  const clip = row.querySelector("audio[data-clip]");
  clip.src = data.url;
  row.querySelector("[data-play]").disabled = false;
  const remove = row.querySelector("[data-delete]");
  if (remove) remove.hidden = false;
  row.dataset.saved = data.url;
}

let active = null;  // { row, recorder, stream, button }

async function startRecording(row, button) {
  showError("");
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    showError("无法使用麦克风，请检查浏览器权限。(No microphone.)");
    return;
  }
  const recorder = new MediaRecorder(stream);
  const chunks = [];
  recorder.ondataavailable = (event) => { if (event.data.size) chunks.push(event.data); };
  recorder.onstop = async () => {
    stream.getTracks().forEach((track) => track.stop());
    button.disabled = true;
    button.textContent = "保存中…";
    try {
      await save(row, await toWav(new Blob(chunks, { type: recorder.mimeType })));
    } catch (error) {
      showError(`${row.querySelector(".seg-text").textContent}：${error.message}`);
    } finally {
      button.disabled = false;
      button.textContent = "录音";
    }
  };
  active = { row, recorder, button };
  recorder.start();
  row.classList.add("recording");
  button.textContent = "停止";
}

function stopRecording() {
  const { row, recorder } = active;
  active = null;
  row.classList.remove("recording");
  recorder.stop();
}

section.addEventListener("click", async (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  const row = button.closest("tr[data-key]");
  if (button.hasAttribute("data-record")) {
    if (active && active.row === row) stopRecording();
    else if (!active) startRecording(row, button);
  } else if (button.hasAttribute("data-play")) {
    const clip = row.querySelector("audio[data-clip]");
    clip.onended = () => { row.dataset.played = clip.currentSrc; };
    clip.currentTime = 0;
    clip.play().catch((error) => showError(error.message));
  } else if (button.hasAttribute("data-delete")) {
    const answer = await fetch(urlFor(section.dataset.delete, row.dataset.key),
                               { method: "POST", headers: { "X-CSRFToken": csrf } });
    if (answer.ok) window.location.reload();
  }
});
