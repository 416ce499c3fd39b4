/* Supervisors' dashboard: tables from /api/v1/supervision/tables (the same data the xlsx
   export holds), charts with the vendored Chart.js, live hall states refreshed on each
   Socket.IO event of the hall's staff room. No inline script (CSP script-src 'self'). */
(function () {
  "use strict";
  var root = document.getElementById("supervise");
  if (!root) { return; }
  var county = root.dataset.county;
  var halls = root.dataset.halls.split(";").map(function (p) {
    var parts = p.split("|"); return { code: parts[0], name: parts[1] };
  });
  var period = document.getElementById("period");
  var charts = {};
  var STATES = { closed: "未开窗", idle: "空闲", serving: "办理中", paused: "暂停", away: "离岗" };

  function query(extra) {
    var params = new URLSearchParams({ county: county });
    var data = new FormData(period);
    ["from", "to"].forEach(function (k) { if (data.get(k)) { params.set(k, data.get(k)); } });
    Object.keys(extra || {}).forEach(function (k) {
      if (k !== "table" && extra[k] !== undefined && extra[k] !== null) { params.set(k, extra[k]); }
    });
    return params.toString();
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) { throw new Error((body.error && body.error.message) || r.statusText); }
          return body;
        });
      });
  }

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = text; }
    if (cls) { node.className = cls; }
    return node;
  }

  function cell(key, value) {
    if (value === null || value === undefined) { return ""; }
    if (key.indexOf("rate") >= 0 && typeof value === "number") { return (value * 100).toFixed(2) + "%"; }
    return String(value);
  }

  function exportUrl(name, extra) {
    return root.dataset.export.replace("__name__", name) + "?" + query(extra);
  }

  function renderTable(section, table, extra) {
    section.textContent = "";
    var head = el("h2", table.title);
    var link = el("a", "导出 xlsx", "export");
    link.href = exportUrl(table.name, extra);
    head.appendChild(link);
    section.appendChild(head);
    if (!table.rows.length) { section.appendChild(el("p", "暂无数据 (no rows)", "hint")); return; }
    var wrap = el("div", null, "scroll");
    var t = el("table", null, "report");
    var tr = el("tr");
    table.columns.forEach(function (c) { tr.appendChild(el("th", c.label)); });
    t.appendChild(el("thead")).appendChild(tr);
    var body = el("tbody");
    table.rows.forEach(function (row, i) {
      var line = el("tr");
      table.columns.forEach(function (c) {
        var td = el("td", cell(c.key, row[c.key]));
        if (c.key === "light") { td.className = row[c.key] === "红灯" ? "red" : "yellow"; }
        if (c.key === "on_time_rate" && row[c.key] !== null && row[c.key] < 0.99) { td.className = "below"; }
        line.appendChild(td);
      });
      var drill = table.drill && table.drill[i];
      if (drill && section.dataset.drill) {
        line.className = "drill";
        line.title = "点击查看各窗口 (click to drill down)";
        line.addEventListener("click", function () { loadTable(document.getElementById(section.dataset.drill), drill); });
      } else if (drill && drill.letter) {
        line.className = "drill";
        line.addEventListener("click", function () { window.open(root.dataset.letter.replace("__id__", drill.letter), "_blank"); });
      }
      body.appendChild(line);
    });
    t.appendChild(body);
    wrap.appendChild(t);
    section.appendChild(wrap);
  }

  function loadTable(section, extra) {
    var name = (extra && extra.table) || section.dataset.table;
    section.dataset.table = name;
    return getJSON("/api/v1/supervision/tables/" + name + "?" + query(extra)).then(function (table) {
      renderTable(section, table, extra);
      return table;
    }).catch(function (err) { section.textContent = "加载失败 (failed): " + err.message; });
  }

  function kpis(table) {
    var box = document.getElementById("kpis");
    box.textContent = "";
    var sum = { completed: 0, early: 0, on_time: 0, overdue: 0 };
    table.rows.forEach(function (r) { Object.keys(sum).forEach(function (k) { sum[k] += r[k]; }); });
    var rate = sum.completed ? (sum.early + sum.on_time) / sum.completed : null;
    [["近一年办结 Completed", sum.completed.toLocaleString("zh-CN")],
     ["按时办结率 On-time", rate === null ? "—" : (rate * 100).toFixed(2) + "%"],
     ["超期 Overdue", sum.overdue.toLocaleString("zh-CN")]].forEach(function (k) {
      var d = el("div", null, "kpi"); d.appendChild(el("span", k[0])); d.appendChild(el("strong", k[1]));
      box.appendChild(d);
    });
  }

  function chart(id, config) {
    if (!window.Chart) { return; }
    if (charts[id]) { charts[id].destroy(); }
    charts[id] = new window.Chart(document.getElementById(id), config);
  }

  function drawMonths(table) {
    kpis(table);
    chart("chart-months", {
      data: {
        labels: table.rows.map(function (r) { return r.month; }),
        datasets: [
          { type: "bar", label: "办结 Completed", data: table.rows.map(function (r) { return r.completed; }), yAxisID: "y", backgroundColor: "#c9d6e3" },
          { type: "line", label: "按时办结率 % On-time", data: table.rows.map(function (r) { return r.on_time_rate === null ? null : +(r.on_time_rate * 100).toFixed(2); }), yAxisID: "rate", borderColor: "#b3261e" }
        ]
      },
      options: { animation: false, scales: { y: { beginAtZero: true }, rate: { position: "right", suggestedMin: 95, max: 100 } } }
    });
  }

  function drawDepartments(table) {
    var top = table.rows.slice().sort(function (a, b) { return b.completed - a.completed; }).slice(0, 15);
    chart("chart-departments", {
      type: "bar",
      data: { labels: top.map(function (r) { return r.department.replace(/^绥德县/, ""); }),
              datasets: [{ label: "按时办结率 % On-time", backgroundColor: "#b3261e",
                           data: top.map(function (r) { return r.on_time_rate === null ? null : +(r.on_time_rate * 100).toFixed(2); }) }] },
      options: { animation: false, indexAxis: "y", scales: { x: { suggestedMin: 95, max: 100 } } }
    });
  }

  /* Live: one card per hall, refreshed from /api/v1/stats/live on each event of its room. */
  var cards = {};
  function hallCard(hall) {
    var card = el("div", null, "hall");
    card.appendChild(el("h3", hall.name));
    card.appendChild(el("p", "…", "figures"));
    card.appendChild(el("div", null, "windows"));
    document.getElementById("hall-grid").appendChild(card);
    cards[hall.code] = card;
  }
  function refreshHall(code) {
    return getJSON("/api/v1/stats/live?hall=" + encodeURIComponent(code)).then(function (live) {
      var card = cards[code];
      card.querySelector(".figures").textContent = "等候 " + live.waiting_total + " 人 · 今日已办 " +
        live.served_today + " · 平均等候 " + (live.mean_wait_minutes === null ? "—" : live.mean_wait_minutes + " 分钟");
      var box = card.querySelector(".windows");
      box.textContent = "";
      live.windows.forEach(function (w) {
        var chip = el("span", w.number, "win " + w.state);
        chip.title = w.number + "号窗口 " + (STATES[w.state] || w.state) + (w.state_reason ? "：" + w.state_reason : "");
        box.appendChild(chip);
      });
    }).catch(function (err) { cards[code].querySelector(".figures").textContent = "加载失败: " + err.message; });
  }
  var pending = {};
  function soon(code) {  // several events in a burst: one fetch
    if (pending[code]) { return; }
    pending[code] = setTimeout(function () { pending[code] = null; refreshHall(code); }, 400);
  }
  function connectLive() {
    var status = document.getElementById("live-status");
    if (!window.io) { status.textContent = "实时通道不可用 (no realtime client)"; return; }
    var connected = 0;
    halls.forEach(function (hall) {
      // As staff (the supervisor's token): window states go to staff rooms, not to hall screens.
      var auth = { token: root.dataset.liveToken, hall: hall.code };
      var socket = window.io("/live", { auth: auth, forceNew: true, transports: ["websocket", "polling"] });
      socket.on("connect", function () { connected += 1; status.textContent = "实时 live (" + connected + "/" + halls.length + ")"; });
      socket.on("disconnect", function () { connected = Math.max(0, connected - 1); status.textContent = "已断开，重连中 (reconnecting)"; });
      socket.on("connect_error", function (err) {
        // The page's token lasts SERVICE_HALL_TOKEN_HOURS: after that, a fresh page (or sign-in).
        if (err && err.data && err.data.code === "invalid_token") { window.location.reload(); return; }
        status.textContent = "实时通道未连接 (not connected): 点击刷新";
      });
      socket.onAny(function () { soon(hall.code); });
    });
  }
  document.getElementById("live-status").addEventListener("click", function () { halls.forEach(function (h) { refreshHall(h.code); }); });

  function loadAll() {
    document.querySelectorAll(".table-card").forEach(function (section) {
      if (section.id === "drill") { return; }
      loadTable(section, { table: section.dataset.table }).then(function (table) {
        if (!table) { return; }
        if (table.name === "months") { drawMonths(table); }
        if (table.name === "departments") { drawDepartments(table); }
      });
    });
    loadTable(document.getElementById("drill"), { table: "windows" });
  }
  period.addEventListener("submit", function (e) { e.preventDefault(); loadAll(); });
  document.querySelectorAll("a.export[data-table]").forEach(function (a) {
    a.addEventListener("click", function () { a.href = exportUrl(a.dataset.table, {}); });
  });
  halls.forEach(function (h) { hallCard(h); refreshHall(h.code); });
  loadAll();
  connectLive();
})();
