// Keep the public whereabouts board live: staff.whereabouts events on /live (auth = {hall}).
// Without the Socket.IO client (or the server namespace) the board stays as rendered.
(function () {
  const table = document.getElementById("board");
  if (!table || typeof window.io !== "function") return;
  const socket = window.io("/live", { auth: { hall: table.dataset.hall } });
  socket.on("staff.whereabouts", (envelope) => {
    const card = envelope && envelope.data;
    if (!card) return;
    let row = table.querySelector(`tr[data-user="${card.user_id}"]`);
    if (!row) {
      row = table.insertRow(-1);
      row.dataset.user = card.user_id;
      for (let i = 0; i < 4; i += 1) row.insertCell(-1);
    }
    const cells = row.cells;
    cells[0].textContent = card.name;
    cells[1].textContent = card.status_label;
    cells[1].className = `status ${card.status}`;
    cells[2].textContent = card.note || "";
    cells[3].textContent = card.expected_return_text || "";
  });
})();
