// The projector's grid: attendees x exercises, from classroom/projector/ (consumers.ProjectorConsumer).
// The server sends {"grid": ...} once on connecting, then {"row": ...} for each attendee whose line changed.
"use strict";

const statusLine = document.getElementById("status");
let grid = null; // {exercises, stuck_minutes, rows: [{name, present, results}]}
let offset = 0; // the server's clock minus this page's, in seconds: durations are the server's
let retry = 500;

function serverNow() {
  return Date.now() / 1000 + offset;
}

function minutes(seconds) {
  return seconds < 60 ? `${Math.max(0, Math.floor(seconds))} s` : `${Math.floor(seconds / 60)} min`;
}

function cellFor(exercise, result) {
  const td = document.createElement("td");
  td.className = "cell";
  td.dataset.exercise = exercise;
  if (!result) return td;
  td.dataset.outcome = result.outcome;
  if (result.outcome === "passed") {
    td.classList.add("passed");
    td.textContent = "✓";
    return td;
  }
  const failing = serverNow() - result.failing_since;
  td.classList.add("hint");
  if (failing > grid.stuck_minutes * 60) td.classList.add("stuck");
  td.textContent = `${result.category} · ${minutes(failing)}`; // text, never markup: names and categories
  return td;
}

function render() {
  if (!grid) return;
  const lessons = document.getElementById("lessons");
  const exercises = document.getElementById("exercises");
  const counts = document.getElementById("counts");
  const rows = document.getElementById("rows");
  for (const line of [lessons, exercises, counts]) while (line.children.length > 1) line.lastChild.remove();
  for (const exercise of grid.exercises) {
    const lesson = document.createElement("th");
    lesson.textContent = exercise.lesson;
    lessons.append(lesson);
    const name = document.createElement("th");
    name.textContent = exercise.id.replaceAll("_", " ");
    exercises.append(name);
    const passed = grid.rows.filter((row) => row.results[exercise.id]?.outcome === "passed").length;
    const hints = grid.rows.filter((row) => row.results[exercise.id]?.outcome === "hint").length;
    const count = document.createElement("td");
    count.dataset.exercise = exercise.id;
    count.textContent = `${passed} ✓ / ${hints}`;
    counts.append(count);
  }
  rows.replaceChildren(
    ...grid.rows.map((row) => {
      const tr = document.createElement("tr");
      tr.dataset.name = row.name;
      tr.className = row.present ? "present" : "away";
      const name = document.createElement("th");
      name.textContent = row.name;
      tr.append(name, ...grid.exercises.map((exercise) => cellFor(exercise.id, row.results[exercise.id])));
      return tr;
    }),
  );
  const stuck = document.querySelectorAll("td.stuck").length;
  const present = grid.rows.filter((row) => row.present).length;
  document.getElementById("summary").textContent = `${present} connected, ${stuck} stuck`;
  document.getElementById("stuck-minutes").textContent = grid.stuck_minutes;
}

function receive(message) {
  offset = message.now - Date.now() / 1000;
  if (message.grid) {
    grid = message.grid;
  } else if (message.row && grid) {
    const at = grid.rows.findIndex((row) => row.name === message.row.name);
    if (at >= 0) grid.rows[at] = message.row;
    else {
      grid.rows.push(message.row);
      grid.rows.sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()));
    }
  }
  render();
}

function connect() {
  const url = new URL("projector/", window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(url);
  socket.onopen = () => {
    retry = 500;
    statusLine.textContent = "live";
    statusLine.dataset.state = "open";
  };
  socket.onmessage = (event) => receive(JSON.parse(event.data));
  socket.onclose = () => {
    statusLine.textContent = "reconnecting…";
    statusLine.dataset.state = "closed";
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 5000);
  };
}

setInterval(render, 5000); // the minutes on a failing check go on counting
connect();
