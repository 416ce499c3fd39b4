// A kiosk or display board is a browser logged in with a device token: it arrives once as
// ?device=… on the first load, is kept in localStorage and removed from the address bar.
const DEVICE_KEY = "serviceHall.device";

export function deviceToken() {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get("device");
  if (fromUrl) {
    localStorage.setItem(DEVICE_KEY, fromUrl);
    url.searchParams.delete("device");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  return localStorage.getItem(DEVICE_KEY);
}
