// Shared helpers of the depthhand pages: token from the URL, WebSocket with acknowledgements and reconnects.
export const params = new URLSearchParams(location.search);
// The token comes from ?token=… once; it is kept in sessionStorage (this tab only) and removed from the address
// bar and history, so it is not shared with a copied link, a screenshot or the browser history.
const TOKEN_KEY = "depthhand.token";
export const token = params.get("token") || sessionStorage.getItem(TOKEN_KEY) || "";
if (params.has("token")) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  const rest = new URLSearchParams(location.search);
  rest.delete("token");
  const query = rest.toString();
  history.replaceState(history.state, "", `${location.pathname}${query ? `?${query}` : ""}${location.hash}`);
}

export async function api(path, method = "GET", body = undefined) {
  const res = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${data.error || ""}`);
  return data;
}

// Opens /ws/hands and calls handlers[type](msg). Frames are acknowledged (cumulatively, every `ack_every`-th
// frame as the hello asks) so the server's latest-frame-wins window keeps flowing; reconnects after 1 s.
export function connect(handlers, onState) {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  let ws;
  let ackEvery = 1;
  let received = 0;
  const open = () => {
    ws = new WebSocket(`${proto}://${location.host}/ws/hands?flow=ack&token=${encodeURIComponent(token)}`);
    ws.onopen = () => onState && onState("connected");
    ws.onclose = (ev) => {
      onState && onState(ev.code === 4401 ? "unauthorised: open this page with ?token=…" : "disconnected, retrying…");
      if (ev.code !== 4401) setTimeout(open, 1000);
    };
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type === "hello" && msg.flow) ackEvery = Math.max(1, Math.min(msg.flow.ack_every || 1, msg.flow.window || 1));
      if (msg.type === "frame" && ++received % ackEvery === 0) ws.send(JSON.stringify({ type: "ack", seq: msg.seq }));
      const h = handlers[msg.type] || handlers.event;
      if (h) h(msg);
    };
  };
  open();
  return () => ws;
}
