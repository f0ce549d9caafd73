"""The guide's echo and chat endpoints, as it writes them, for `make bench` to load.

Kept faithful on purpose (its sequential broadcast, its bare `except Exception`), so the benchmark
measures the guide's server, not an improved one. Run: uvicorn guide_fastapi:app --port 9000
"""
from datetime import datetime
from typing import Dict
import logging

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


@app.websocket("/ws/echo")
async def ws_echo(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            data = await websocket.receive_text()
            await websocket.send_text(f"Echo: {data}")
    except WebSocketDisconnect:
        logging.info("Client disconnected")


class ConnectionManager:
    """Manages all active WebSocket connections"""

    def __init__(self):
        self.active: Dict[str, WebSocket] = {}

    async def connect(self, ws: WebSocket, client_id: str):
        await ws.accept()
        self.active[client_id] = ws
        await self.broadcast(
            {"type": "user_joined", "client_id": client_id, "online_count": len(self.active)},
            exclude=client_id,
        )

    def disconnect(self, client_id: str):
        self.active.pop(client_id, None)

    async def broadcast(self, message: dict, exclude: str = None):
        dead = []
        for cid, ws in list(self.active.items()):
            if cid == exclude:
                continue
            try:
                await ws.send_json(message)
            except Exception:
                dead.append(cid)
        for cid in dead:
            self.disconnect(cid)


manager = ConnectionManager()


@app.websocket("/ws/chat/{client_id}")
async def chat_ws(websocket: WebSocket, client_id: str):
    await manager.connect(websocket, client_id)
    try:
        while True:
            data = await websocket.receive_json()
            await manager.broadcast(
                {
                    "type": "message",
                    "from": client_id,
                    "text": data.get("text"),
                    "timestamp": datetime.utcnow().isoformat(),
                }
            )
    except WebSocketDisconnect:
        manager.disconnect(client_id)
        await manager.broadcast({"type": "user_left", "client_id": client_id})
