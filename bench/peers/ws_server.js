// The guide's echo and chat endpoints on Node's `ws` (Debian's node-ws), for `make bench`.
// Same paths and JSON shapes as the guide's FastAPI server; broadcast loops over the clients.
// Run: node ws_server.js 9001
const { WebSocketServer } = require('/usr/share/nodejs/ws');
const port = Number(process.argv[2] || 9001);
const wss = new WebSocketServer({ port, host: '127.0.0.1' });
const chat = new Map();

function broadcast(message, exclude) {
  const text = JSON.stringify(message);
  for (const [id, socket] of chat) {
    if (id !== exclude) socket.send(text);
  }
}

wss.on('connection', (socket, request) => {
  const path = request.url.split('?')[0];
  if (path === '/ws/echo') {
    socket.on('message', (data) => socket.send('Echo: ' + data.toString()));
    return;
  }
  const match = path.match(/^\/ws\/chat\/([^/]+)$/);
  if (!match) { socket.close(1008, 'unknown path'); return; }
  const id = decodeURIComponent(match[1]);
  chat.set(id, socket);
  broadcast({ type: 'user_joined', client_id: id, online_count: chat.size }, id);
  socket.on('message', (data) => {
    let parsed;
    try { parsed = JSON.parse(data.toString()); } catch { return; }
    broadcast({ type: 'message', from: id, text: parsed.text, timestamp: new Date().toISOString() });
  });
  socket.on('close', () => {
    chat.delete(id);
    broadcast({ type: 'user_left', client_id: id });
  });
});
