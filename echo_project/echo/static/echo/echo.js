// The echo chamber's page: send {"ch": key} for every key typed (a paste as one message), and log what comes back.
// Two places to be: the echo (echo/, the talk's demo) or a room (chamber/<room>/) shared with others.
// Open /?room=lobby to start in a room.
(function () {
  "use strict";

  const input = document.getElementById("typing");
  const statusLabel = document.getElementById("status");
  const sentLog = document.getElementById("sent");
  const receivedLog = document.getElementById("received");
  const whereForm = document.getElementById("where");
  const roomInput = document.getElementById("room");

  // The WebSocket address is built from the page's own: location.host keeps the port
  // (location.hostname, in the 2019 demo, dropped it and broke on localhost:8000), the scheme
  // follows the page's (https gives wss), and the path is relative, so the page also works
  // behind a path prefix such as Binder's /user/<name>/proxy/<port>/.
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const base = new URL(".", location.href).pathname;
  const MAX_DELAY_MS = 10000;
  const MAX_LOG_LINES = 500;  // each log keeps its last 500 lines: a page left open for hours stays small
  const ROOM_NAME = /^[A-Za-z0-9_-]{1,50}$/;

  let path = "echo/";
  let place = "the echo";
  let socket = null;
  let retryDelayMs = 500;
  let retryTimer = null;
  const STEADY_MS = 5000;  // a connection open this long was a good one: the next retry starts at 0.5 s again

  function setStatus(state, text) {
    statusLabel.dataset.state = state;
    statusLabel.textContent = text;
  }

  function log(list, text, className) {
    const item = document.createElement("li");
    item.textContent = text;
    if (className) item.className = className;
    list.appendChild(item);
    while (list.children.length > MAX_LOG_LINES) list.firstElementChild.remove();
    list.scrollTop = list.scrollHeight;
  }

  // What arrives is any JSON value (the echo sends back whatever was sent): nothing here assumes its
  // shape, and every value is turned into text by text(), never by the value's own toString.
  function isObject(data) {
    return data !== null && typeof data === "object" && !Array.isArray(data);
  }

  function show(data) {
    if (!isObject(data)) log(receivedLog, text(data));
    else if ("error" in data) log(receivedLog, `error: ${text(data.error)}`, "error");
    else if ("you" in data) setStatus("open", `connected to room ${text(data.room)} as ${text(data.you)}`);
    else if (Array.isArray(data.history)) showHistory(data.history, data.incomplete === true);
    else if ("event" in data) log(receivedLog, `${text(data.who)} ${text(data.event)}`, "presence");
    else if ("who" in data) log(receivedLog, `${text(data.who)}: ${text(data.message)}`);
    else log(receivedLog, text(data));
  }

  // On joining, a room sends what it said last (its history, oldest first), before anything new.
  // Each entry is shown on its own: one that cannot be shown hides nothing else. "incomplete": some
  // of the last messages could not be stored (the server says so rather than showing a silent gap).
  function showHistory(messages, incomplete) {
    if (incomplete) log(receivedLog, "some earlier messages of this room were not kept: this history has gaps", "error");
    if (!messages.length) return;
    log(receivedLog, `earlier in this room (${messages.length}):`, "presence");
    for (const item of messages) {
      try {
        log(receivedLog, `${text(item.who)}: ${text(item.message)}`, "history");
      } catch (error) {
        log(receivedLog, `(an entry that cannot be shown: ${error})`, "history error");
      }
    }
    log(receivedLog, "now:", "presence");
  }

  // A key typed on a page ({"ch": "a"}) shows as the key; anything else as its JSON.
  function text(content) {
    if (typeof content === "string") return content;
    if (isObject(content) && typeof content.ch === "string") return content.ch;
    return JSON.stringify(content);
  }

  function connect() {
    clearTimeout(retryTimer);
    setStatus("connecting", `connecting to ${place}…`);
    const current = new WebSocket(`${scheme}://${location.host}${base}${path}`);
    socket = current;
    let openedAt = null;
    current.addEventListener("open", () => {
      openedAt = Date.now();
      setStatus("open", `connected to ${place}`);
    });
    current.addEventListener("message", (event) => {
      try {
        show(JSON.parse(event.data));
      } catch (error) {
        log(receivedLog, `(a message that cannot be shown: ${error})`, "error");
      }
    });
    current.addEventListener("close", (event) => {
      if (current !== socket) return;  // replaced on purpose by go()
      // The server restarted, lost Redis, refused the join (1013) or the network dropped: try again,
      // waiting longer each time, unless the connection had been open a while. The wait varies by up
      // to half, so pages closed at the same moment do not all come back at the same moment.
      if (openedAt !== null && Date.now() - openedAt >= STEADY_MS) retryDelayMs = 500;
      const delayMs = retryDelayMs * (0.5 + Math.random() / 2);
      const why = event.reason ? ` (${event.code}: ${event.reason})` : ` (${event.code})`;
      setStatus("closed", `disconnected${why}, retrying in ${Math.round(delayMs / 100) / 10} s`);
      retryTimer = setTimeout(connect, delayMs);
      retryDelayMs = Math.min(retryDelayMs * 2, MAX_DELAY_MS);
    });
  }

  function go(room) {
    if (room !== null && !ROOM_NAME.test(room)) {
      setStatus("closed", "a room name is 1 to 50 letters, digits, - or _");
      return;
    }
    path = room === null ? "echo/" : `chamber/${room}/`;
    place = room === null ? "the echo" : `room ${room}`;
    const old = socket;
    socket = null;
    if (old) old.close();
    connect();
  }

  whereForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const mode = whereForm.elements.mode.value;
    go(mode === "room" ? roomInput.value.trim() : null);
  });

  // One message per input: a key, or a whole paste (a message per pasted character would be a burst
  // that the server's rate limit refuses).
  input.addEventListener("input", (event) => {
    const ch = event.data;
    if (!ch) return;  // deletions send nothing
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ ch }));
      log(sentLog, ch);
    } else {
      log(sentLog, `${ch} (not sent: disconnected)`, "error");
    }
  });

  const startRoom = new URLSearchParams(location.search).get("room");
  if (startRoom !== null) {
    roomInput.value = startRoom;
    whereForm.elements.mode.value = "room";
  }
  go(startRoom);
})();
