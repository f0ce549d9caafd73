#!/usr/bin/env python3
"""The lab in a real browser: headless Chromium, driven over the DevTools protocol.

Usage: browser-test.py WIRELAB [CHROMIUM]   (make browser-test; part of make test)

Starts `WIRELAB serve --tap` on a free port, a page on a second origin (http://localhost:4200, as
the guide's Angular dev server; python3 -m http.server), and Chromium headless. From the second
origin it checks WebSocket echo and chat, login (a JSON POST, preflighted), an order with
Authorization (preflighted), an EventSource with the token in the query receiving the order's
notification, a long poll answered by a POST; then the playground page at GET / with its own
panels, over http:// and again over https:// from the lab's TLS port (Chromium trusting the
lab's certificate by its key, --ignore-certificate-errors-spki-list; wss:// from the page). Every
result is checked, and the lab's tap output must show the browser's handshake (its
User-Agent and permessage-deflate offer), its frames and the preflights. Exits 1 on any failure,
saying which; if the browser cannot start, says why.
"""
import hashlib
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import warnings

from websockets.sync.client import connect

# websockets 17 prefers `with connect(…)`; this client lives as long as the test.
warnings.filterwarnings("ignore", category=DeprecationWarning)

failures = []
passed = []


def check(name, condition, detail=""):
    (passed if condition else failures).append(name if condition else f"{name}: {detail}")
    print(("ok   " if condition else "FAIL ") + name + ("" if condition else f" · {detail}"), flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class Output:
    """A child's output, read on a thread so that it never blocks on a full pipe."""

    def __init__(self, stream):
        self.text = ""
        self.lock = threading.Lock()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for line in iter(stream.readline, ""):
            with self.lock:
                self.text += line

    def wait_for(self, pattern, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = re.search(pattern, self.text)
            if found:
                return found
            time.sleep(0.05)
        return None


class DevTools:
    """One page target: commands by id, events kept for later checks."""

    def __init__(self, url):
        self.socket = connect(url, max_size=None, open_timeout=10)
        self.next_id = 0
        self.events = []

    def call(self, method, timeout=20, **params):
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def evaluate(self, expression, timeout=30):
        result = self.call("Runtime.evaluate", timeout=timeout, expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"the page threw: {result['exceptionDetails'].get('exception', {}).get('description', result['exceptionDetails'])}")
        return result["result"].get("value")

    def navigate(self, url):
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.evaluate("document.readyState") == "complete" and self.evaluate("location.href").startswith(url.split("?")[0]):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{url} did not load")


# Run in the page on the second origin: the guide's flows with the browser's own APIs.
CROSS_ORIGIN_CHECKS = r"""
(async (LAB) => {
  const WS = LAB.replace(/^http/, "ws");
  const results = {};
  const timeout = (ms, what) => new Promise((_, reject) => setTimeout(() => reject(new Error("timed out: " + what)), ms));
  const next = (socket, test) => new Promise((resolve) => socket.addEventListener("message", function handler(event) {
    if (!test || test(event.data)) { socket.removeEventListener("message", handler); resolve(event.data); }
  }));
  const opened = (socket) => new Promise((resolve, reject) => { socket.onopen = resolve; socket.onerror = () => reject(new Error("WebSocket error")); });
  const run = async (name, body) => {
    try { results[name] = { ok: true, value: await Promise.race([body(), timeout(10000, name)]) }; }
    catch (error) { results[name] = { ok: false, value: String(error) }; }
  };
  const json = async (method, path, body, token) => {
    const headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    const response = await fetch(LAB + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, body: await response.json() };
  };
  await run("ws echo", async () => {
    const socket = new WebSocket(WS + "/ws/echo");
    await opened(socket);
    socket.send("hello from the browser");
    const reply = await next(socket);
    const closed = new Promise((resolve) => socket.onclose = (event) => resolve(event.code));
    socket.close(1000);
    return { reply, close: await closed };
  });
  await run("ws chat", async () => {
    // A 101 reaches the browser before the server's handler has added the socket to the
    // chat (the guide's accept-then-append has the same gap), so ann waits to hear bob join.
    const ann = new WebSocket(WS + "/ws/chat/ann");
    await opened(ann);
    const bobJoined = next(ann, (data) => { const m = JSON.parse(data); return m.type === "user_joined" && m.client_id === "bob"; });
    const bob = new WebSocket(WS + "/ws/chat/bob");
    await Promise.all([opened(bob), bobJoined]);
    const heard = next(bob, (data) => JSON.parse(data).type === "message");
    ann.send(JSON.stringify({ type: "message", text: "hi bob" }));
    const message = JSON.parse(await heard);
    ann.close(1000); bob.close(1000);
    return message;
  });
  let alice = null, admin = null;
  await run("login (JSON POST, preflighted)", async () => {
    const answer = await json("POST", "/auth/token", { username: "alice", password: "wonderland" });
    alice = answer.body.access_token;
    admin = (await json("POST", "/auth/token", { username: "admin", password: "admin" })).body.access_token;
    return { status: answer.status, user: answer.body.user, token: typeof alice };
  });
  await run("EventSource with the token in the query", async () => {
    const source = new EventSource(LAB + "/events?token=" + encodeURIComponent(alice));
    await new Promise((resolve, reject) => { source.onopen = resolve; source.onerror = () => reject(new Error("EventSource error (readyState " + source.readyState + ")")); });
    const notified = new Promise((resolve) => source.onmessage = (event) => resolve(JSON.parse(event.data)));
    const order = await json("POST", "/orders", { item: "book", amount: 12.5 }, alice);
    const shipped = await json("POST", `/orders/${order.body.order_id}/ship`, undefined, admin);
    const notification = await notified;
    source.close();
    return { order: order.status, shipped: shipped.status, notification };
  });
  await run("long poll answered by a POST", async () => {
    const first = await json("GET", "/http/chat?since=0&wait=0");
    const held = json("GET", `/http/chat?since=${first.body.last_id}&wait=8`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const posted = await json("POST", "/http/chat/browser", { text: "polled from the browser" });
    const answer = await held;
    return { posted: posted.status, status: answer.status, texts: answer.body.messages.map((m) => m.text), outcome: answer.body.outcome };
  });
  await run("EventSource on the HTTP chat", async () => {
    const source = new EventSource(LAB + "/http/chat/events");
    await new Promise((resolve, reject) => { source.onopen = resolve; source.onerror = () => reject(new Error("EventSource error")); });
    const heard = new Promise((resolve) => source.onmessage = (event) => resolve(JSON.parse(event.data)));
    await json("POST", "/http/chat/browser", { text: "streamed to the browser" });
    const message = await heard;
    source.close();
    return message;
  });
  return results;
})
"""

# Run in a page on a foreign origin (127.0.0.2 is loopback, but not a page the lab allows): the
# browser must keep every answer from it, and send only the simple requests.
FOREIGN_ORIGIN_CHECKS = r"""
(async (LAB) => {
  const results = {};
  const attempt = async (name, body) => {
    try { results[name] = { read: true, value: await body() }; } catch (error) { results[name] = { read: false, value: String(error) }; }
  };
  await attempt("GET", async () => (await fetch(LAB + "/http/dashboard")).status);
  await attempt("JSON POST", async () => (await fetch(LAB + "/http/chat/foreign", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ text: "preflight refused, never sent" }) })).status);
  await attempt("text/plain POST", async () => (await fetch(LAB + "/http/chat/foreign", {
    method: "POST", body: JSON.stringify({ text: "sent from a foreign page" }) })).status);
  await attempt("EventSource", () => new Promise((resolve, reject) => {
    const source = new EventSource(LAB + "/http/chat/events");
    source.onopen = () => { source.close(); resolve("open"); };
    source.onerror = () => { source.close(); reject(new Error("EventSource error")); };
  }));
  await attempt("WebSocket", () => new Promise((resolve, reject) => {
    const socket = new WebSocket(LAB.replace(/^http/, "ws") + "/ws/echo");
    socket.onopen = () => { socket.close(1000); resolve("open"); };
    socket.onclose = (event) => reject(new Error("closed " + event.code));
  }));
  return results;
})
"""

# Run in the playground (GET / on the lab): its panels, as a learner's clicks would drive them.
# Called with the chat name to join (each run its own, so a closing socket cannot hold it).
PLAYGROUND_CHECKS = r"""
(async (NAME) => {
  const w = window.wirelab;
  const results = {};
  const waitFor = async (what, test, ms = 8000) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) { const found = test(); if (found) return found; await new Promise((r) => setTimeout(r, 50)); }
    throw new Error("timed out waiting for " + what);
  };
  const seen = (view, kind, text) => view.entries.find((e) => e.kind === kind && e.text.includes(text));
  const run = async (name, body) => {
    try { results[name] = { ok: true, value: await body() }; } catch (error) { results[name] = { ok: false, value: String(error) }; }
  };
  await run("playground echo", async () => {
    w.echo.send("from the playground");
    return (await waitFor("the echo", () => seen(w.echo.view, "down", "Echo: from the playground"))).text;
  });
  await run("playground chat", async () => {
    w.chat.join(NAME);
    await waitFor("the chat to open", () => seen(w.chat.view, "note", "open"));
    w.chat.send("hello from the playground");
    return (await waitFor("the chat message", () => seen(w.chat.view, "down", "hello from the playground"))).text;
  });
  await run("playground login", async () => {
    const answer = await w.login.login("alice", "wonderland");
    return { status: answer.status, token: typeof w.token };
  });
  await run("playground notifications", async () => {
    w.events.open();
    return (await waitFor("the EventSource to open", () => seen(w.events.view, "note", "EventSource open"))).text;
  });
  await run("playground long poll", async () => {
    const answer = await w.httpChat.pollOnce(0, 0);
    return { status: answer.status, messages: answer.body.messages.length };
  });
  await run("playground dashboard", async () => (await w.dashboard.once()).status);
  results.page = { protocol: location.protocol, ws: WS_LAB };
  return results;
})
"""


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: browser-test.py WIRELAB [CHROMIUM]")
    wirelab = sys.argv[1]
    chromium = sys.argv[2] if len(sys.argv) > 2 else (shutil.which("chromium") or shutil.which("chromium-browser"))
    if not chromium:
        sys.exit("FAIL the browser test needs Debian's chromium (apt-get install -y chromium; `make browser-test` installs it)")
    children = []
    temp = tempfile.mkdtemp(prefix="wirelab-browser-")
    try:
        certificate = os.path.join(temp, "lab.pem")
        lab = subprocess.Popen([wirelab, "serve", "--port", "0", "--tls-port", "0", "--save-cert", certificate, "--tap", "--no-color"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        children.append(lab)
        lab_out, lab_err = Output(lab.stdout), Output(lab.stderr)
        found = lab_err.wait_for(r"listening on 127\.0\.0\.1:(\d+)", 30)
        if not found:
            sys.exit(f"FAIL the lab did not start: {lab_err.text}")
        lab_url = f"http://127.0.0.1:{found.group(1)}"
        found = lab_err.wait_for(r"TLS \(wss://, https://\) on 127\.0\.0\.1:(\d+)", 10)
        fingerprint = lab_err.wait_for(r"certificate SHA-256 ([0-9A-F:]+)", 10)
        if not found or not fingerprint:
            sys.exit(f"FAIL the lab did not say where it listens with TLS: {lab_err.text}")
        tls_url = f"https://localhost:{found.group(1)}"
        # Chromium trusts the lab's self-signed certificate by its public key's SHA-256 (base64), as
        # a learner would pin it; anything else on that port would still be refused.
        spki = subprocess.run(
            f"openssl x509 -in {certificate} -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64",
            shell=True, capture_output=True, text=True, check=True).stdout.strip()

        # The second origin: the guide's Angular dev server's, when that port is free.
        page_port = 4200 if port_is_free(4200) else free_port()
        with open(os.path.join(temp, "index.html"), "w") as page:
            page.write("<!doctype html><title>a page on another origin</title><p>wirelab browser test</p>")
        pages = subprocess.Popen([sys.executable, "-m", "http.server", str(page_port), "--bind", "127.0.0.1", "--directory", temp],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        children.append(pages)
        origin = f"http://localhost:{page_port}"

        profile = os.path.join(temp, "profile")
        browser = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
             "--remote-debugging-port=0", f"--user-data-dir={profile}", f"--ignore-certificate-errors-spki-list={spki}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        children.append(browser)
        browser_err = Output(browser.stderr)
        active = os.path.join(profile, "DevToolsActivePort")
        deadline = time.monotonic() + 30
        while not os.path.exists(active) and time.monotonic() < deadline and browser.poll() is None:
            time.sleep(0.1)
        if not os.path.exists(active):
            status = "exited with status %s" % browser.returncode if browser.poll() is not None else "is running but opened no DevTools port in 30 s"
            sys.exit(f"FAIL Chromium ({chromium}) could not start: it {status}. Its output:\n{browser_err.text[-3000:]}")
        devtools_port = open(active).read().split()[0]
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{devtools_port}/json", timeout=10))
        page_target = next(t for t in targets if t.get("type") == "page")
        tools = DevTools(page_target["webSocketDebuggerUrl"])
        tools.call("Page.enable")
        tools.call("Network.enable")
        version = tools.call("Browser.getVersion")
        print(f"browser: {version.get('product')} · lab {lab_url} · second origin {origin}", flush=True)

        for port_check in range(50):
            try:
                urllib.request.urlopen(origin + "/index.html", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        tools.navigate(origin + "/index.html")
        results = tools.evaluate(CROSS_ORIGIN_CHECKS + f"({json.dumps(lab_url)})", timeout=90)
        r = results["ws echo"]
        check("WebSocket echo from " + origin, r["ok"] and r["value"] == {"reply": "Echo: hello from the browser", "close": 1000}, r)
        r = results["ws chat"]
        check("WebSocket chat: ann's message reaches bob", r["ok"] and r["value"].get("text") == "hi bob" and r["value"].get("from") == "ann", r)
        r = results["login (JSON POST, preflighted)"]
        check("login: POST /auth/token with JSON", r["ok"] and r["value"] == {"status": 200, "user": "alice", "token": "string"}, r)
        r = results["EventSource with the token in the query"]
        check("EventSource /events?token=… gets the order's notification", r["ok"] and r["value"]["order"] == 201 and r["value"]["shipped"] == 200
              and r["value"]["notification"].get("title") == "Your order shipped!", r)
        r = results["long poll answered by a POST"]
        check("a long poll is answered by a POST", r["ok"] and r["value"]["status"] == 200 and "polled from the browser" in r["value"]["texts"], r)
        r = results["EventSource on the HTTP chat"]
        check("EventSource /http/chat/events hears a POST", r["ok"] and r["value"].get("text") == "streamed to the browser", r)

        # A page the lab does not allow: nothing readable, only simple requests sent.
        foreign_port = free_port()
        foreign = subprocess.Popen([sys.executable, "-m", "http.server", str(foreign_port), "--bind", "127.0.0.2", "--directory", temp],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        children.append(foreign)
        foreign_origin = f"http://127.0.0.2:{foreign_port}"
        for attempt in range(50):
            try:
                urllib.request.urlopen(foreign_origin + "/index.html", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        tools.navigate(foreign_origin + "/index.html")
        results = tools.evaluate(FOREIGN_ORIGIN_CHECKS + f"({json.dumps(lab_url)})", timeout=60)
        for name in ["GET", "JSON POST", "text/plain POST", "EventSource", "WebSocket"]:
            check(f"from {foreign_origin}: the page cannot use {name}", not results[name]["read"], results[name])
        stored = json.load(urllib.request.urlopen(lab_url + "/http/chat?since=0", timeout=10))
        texts = [m.get("text") for m in stored["messages"]]
        check("the foreign text/plain POST was stored all the same (CORS protects reading, not sending)", "sent from a foreign page" in texts, texts)
        check("the foreign JSON POST was never sent (its preflight was refused)", "preflight refused, never sent" not in texts, texts)
        check("the lab logged why", "CORS: refused the preflight for POST /http/chat/foreign from " + foreign_origin in lab_err.text, lab_err.text[-2000:])

        # The playground over http://, then the same page over https:// from the TLS port, where
        # its sockets are wss:// and its requests https:// (it talks to its own origin).
        for base, name, label in [(lab_url, "pg", ""), (tls_url, "pgtls", " over https")]:
            tools.navigate(base + "/")
            results = tools.evaluate(PLAYGROUND_CHECKS + f"({json.dumps(name)})", timeout=90)
            for check_name, want in [("playground echo", lambda v: "Echo: from the playground" in v),
                                     ("playground chat", lambda v: "hello from the playground" in v),
                                     ("playground login", lambda v: v == {"status": 200, "token": "string"}),
                                     ("playground notifications", lambda v: "EventSource open" in v),
                                     ("playground long poll", lambda v: v["status"] == 200),
                                     ("playground dashboard", lambda v: v == 200)]:
                r = results[check_name]
                check(check_name + label, r["ok"] and want(r["value"]), r)
        check("the https playground's sockets are wss://", results["page"] == {"protocol": "https:", "ws": "wss://" + tls_url[len("https://"):]}, results["page"])
        responses = [e["params"]["response"] for e in tools.events
                     if e["method"] == "Network.responseReceived" and e["params"]["response"]["url"].startswith(tls_url)]
        details = next((r.get("securityDetails") for r in responses if r.get("securityDetails")), None) or {}
        check("Chromium spoke TLS 1.3 to the lab, with its certificate for localhost",
              details.get("protocol") == "TLS 1.3" and "localhost" in details.get("sanList", []), details)
        with open(certificate) as pem:
            der = ssl.PEM_cert_to_DER_cert(pem.read())
        printed = fingerprint.group(1)
        check("the certificate saved is the one whose fingerprint the lab printed",
              ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest()) == printed, printed)
        check("the lab's tap says the playground's socket came in on the TLS port",
              re.search(r"tap\d+ .*endpoint echo · TLS port: the decrypted bytes", lab_out.text) is not None)
        check("the lab's tap shows the echo over TLS, decrypted", lab_out.text.count("Echo: from the playground") >= 2)

        # The browser's own record of its handshakes, and the lab's tap of them.
        handshakes = [e["params"]["request"]["headers"] for e in tools.events if e["method"] == "Network.webSocketWillSendHandshakeRequest"]
        offered = [h.get("Sec-WebSocket-Extensions", "") for h in handshakes]
        check("Chromium offers permessage-deflate", handshakes and all("permessage-deflate" in o for o in offered), offered)
        user_agent = tools.evaluate("navigator.userAgent")
        tapped = lab_out.wait_for(re.escape(f"User-Agent: {user_agent}"), 5)
        check("the lab's tap shows the browser's User-Agent", tapped is not None, user_agent)
        check("the lab's tap shows its permessage-deflate offer", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits" in lab_out.text)
        check("the lab's tap shows the page's Origin", f"Origin: {origin}" in lab_out.text)
        answers = re.findall(r"← tap\d+ HTTP response 101 Switching Protocols.*?\n((?:   .*\n)+)", lab_out.text)
        check("the lab's 101s accept compression, as uvicorn does (Sec-WebSocket-Extensions: permessage-deflate)",
              answers and all("Sec-WebSocket-Extensions: permessage-deflate" in answer for answer in answers), answers[:1])
        check("the lab's tap shows compressed frames, inflated", "per-message compressed" in lab_out.text or "deflated from" in lab_out.text)
        check("the lab's tap shows a masked frame from the browser", re.search(r"→ tap\d+ text .*", lab_out.text) is not None)
        check("the lab's tap shows the echo going back", "Echo: hello from the browser" in lab_out.text)
        check("the lab's tap shows the preflight OPTIONS and its 204",
              re.search(r"OPTIONS /auth/token HTTP/1\.1", lab_out.text) is not None and "HTTP/1.1 204 No Content" in lab_out.text)
        check("the lab's tap shows an SSE line", "data: " in lab_out.text)
        tools.socket.close()
    finally:
        for child in reversed(children):
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        shutil.rmtree(temp, ignore_errors=True)
    print(f"{len(passed)} passed, {len(failures)} failed", flush=True)
    if failures:
        print("failed:\n  " + "\n  ".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as error:
        sys.exit(f"FAIL {error}")
