// The echo chamber's page: send {"ch": key} for every character typed, log every echo.
(function () {
  "use strict";

  const input = document.getElementById("typing");
  const statusLabel = document.getElementById("status");
  const sentLog = document.getElementById("sent");
  const receivedLog = document.getElementById("received");

  // location.host keeps the port (location.hostname, in the 2019 demo, dropped it and broke on
  // localhost:8000); the scheme follows the page's, so an https page gets wss.
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const url = `${scheme}://${location.host}/echo/`;

  const MAX_DELAY_MS = 10000;
  let socket = null;
  let retryDelayMs = 500;

  function setStatus(state, text) {
    statusLabel.dataset.state = state;
    statusLabel.textContent = text;
  }

  function log(list, text, className) {
    const item = document.createElement("li");
    item.textContent = text;
    if (className) item.className = className;
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;
  }

  function connect() {
    setStatus("connecting", "connecting…");
    socket = new WebSocket(url);
    socket.addEventListener("open", () => {
      retryDelayMs = 500;
      setStatus("open", "connected");
    });
    socket.addEventListener("message", (event) => {
      const data = JSON.parse(event.data);
      if (data.error) log(receivedLog, `error: ${data.error}`, "error");
      else log(receivedLog, data.ch !== undefined ? data.ch : JSON.stringify(data));
    });
    socket.addEventListener("close", () => {
      // The server restarted or the network dropped: try again, waiting longer each time.
      const seconds = Math.round(retryDelayMs / 100) / 10;
      setStatus("closed", `disconnected, retrying in ${seconds} s`);
      setTimeout(connect, retryDelayMs);
      retryDelayMs = Math.min(retryDelayMs * 2, MAX_DELAY_MS);
    });
  }

  input.addEventListener("input", (event) => {
    if (!event.data) return;  // deletions send nothing
    for (const ch of event.data) {
      if (socket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ ch }));
        log(sentLog, ch);
      } else {
        log(sentLog, `${ch} (not sent: disconnected)`, "error");
      }
    }
  });

  connect();
})();
