// Print-ready ticket: print on demand, or at once when opened from the kiosk (?auto=1).
document.getElementById("print").addEventListener("click", () => window.print());
if (new URLSearchParams(window.location.search).get("auto") === "1") {
  const qr = document.querySelector("img.qr");
  const go = () => window.print();
  if (qr.complete) go(); else { qr.addEventListener("load", go); qr.addEventListener("error", go); }
}
