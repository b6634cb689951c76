/* Perfsite dashboard: local times, Chart.js charts from json_script data, and polling that
 * pauses while the tab is hidden. No inline scripts or handlers anywhere, so a strict
 * Content-Security-Policy (script-src 'self') is enough; htmx runs with allowEval off. */
(function () {
  "use strict";

  var COLORS = {
    quality: "#4f46e5",
    qualityFill: "rgba(79, 70, 229, 0.10)",
    pi: "#0d9488",
    piFill: "rgba(13, 148, 136, 0.85)",
    count: "rgba(100, 116, 139, 0.22)",
    countBorder: "rgba(100, 116, 139, 0.45)",
    grid: "rgba(15, 23, 42, 0.06)",
    text: "#475569",
  };
  var rendered = new Set(); // canvas ids drawn once: later redraws skip the animation

  // --- Local times ------------------------------------------------------------------------------
  var dateTime = new Intl.DateTimeFormat(undefined, {
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
  var fullDateTime = new Intl.DateTimeFormat(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
  var thisYear = new Date().getFullYear();

  function localiseTimes(root) {
    root.querySelectorAll("time[data-local-time]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) return;
      el.textContent = (when.getFullYear() === thisYear ? dateTime : fullDateTime).format(when);
      el.removeAttribute("data-local-time");
    });
  }

  // --- Charts -----------------------------------------------------------------------------------
  function readData(canvas) {
    var source = document.getElementById(canvas.dataset.source);
    return source ? JSON.parse(source.textContent) : null;
  }

  // Day, week and month buckets come as dates of the server's zone ("2025-10-21"), hours as
  // instants; the year shows when the buckets are of more than one year, or not of this one.
  function bucketLabels(data) {
    var year = data.with_year ? { year: "numeric" } : {};
    if (data.unit === "day" || data.unit === "week" || data.unit === "month") {
      var parts = data.unit === "month" ? { month: "short" } : { month: "short", day: "numeric" };
      var day = new Intl.DateTimeFormat(undefined, Object.assign(parts, data.unit === "month" ? { year: "numeric" } : year));
      return data.labels.map(function (text) {
        var p = text.split("-").map(Number);
        return day.format(new Date(p[0], p[1] - 1, p[2]));
      });
    }
    var spanDays = data.buckets.length > 30;
    var hourParts = spanDays ? { weekday: "short", hour: "2-digit", minute: "2-digit" } : { hour: "2-digit", minute: "2-digit" };
    if (data.with_year) hourParts = { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };
    var hour = new Intl.DateTimeFormat(undefined, hourParts);
    return data.buckets.map(function (iso) {
      return hour.format(new Date(iso));
    });
  }

  function baseOptions(animate) {
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: animate ? { duration: 500 } : false,
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: {
          position: "bottom",
          labels: { usePointStyle: true, boxWidth: 8, boxHeight: 8, color: COLORS.text },
        },
        tooltip: { padding: 10, boxPadding: 4 },
      },
    };
  }

  var builders = {
    trend: function (data, animate) {
      var options = baseOptions(animate);
      options.scales = {
        x: { grid: { display: false }, ticks: { color: COLORS.text, maxRotation: 0, autoSkipPadding: 16 } },
        y: {
          position: "left",
          suggestedMax: 100,
          grid: { color: COLORS.grid },
          ticks: { color: COLORS.text },
          title: { display: true, text: "score", color: COLORS.text },
        },
        y1: {
          position: "right",
          beginAtZero: true,
          grid: { display: false },
          ticks: { color: COLORS.text, precision: 0 },
          title: { display: true, text: "tasks", color: COLORS.text },
        },
      };
      return {
        type: "line",
        data: {
          labels: bucketLabels(data),
          datasets: [
            {
              label: "Avg quality",
              data: data.quality,
              borderColor: COLORS.quality,
              backgroundColor: COLORS.qualityFill,
              fill: true,
              tension: 0.3,
              spanGaps: true,
              pointRadius: data.buckets.length > 40 ? 0 : 2.5,
              borderWidth: 2,
              yAxisID: "y",
              order: 1,
            },
            {
              label: "Performance index",
              data: data.performance_index,
              borderColor: COLORS.pi,
              backgroundColor: COLORS.pi,
              tension: 0.3,
              spanGaps: true,
              pointRadius: data.buckets.length > 40 ? 0 : 2.5,
              borderWidth: 2,
              yAxisID: "y",
              order: 2,
            },
            {
              type: "bar",
              label: "Tasks",
              data: data.count,
              backgroundColor: COLORS.count,
              borderColor: COLORS.countBorder,
              borderWidth: 0,
              borderRadius: 3,
              yAxisID: "y1",
              order: 3,
            },
          ],
        },
        options: options,
      };
    },
    models: function (data, animate) {
      var options = baseOptions(animate);
      options.scales = {
        x: { grid: { display: false }, ticks: { color: COLORS.text } },
        y: { beginAtZero: true, max: 100, grid: { color: COLORS.grid }, ticks: { color: COLORS.text } },
      };
      options.plugins.tooltip.callbacks = {
        afterBody: function (items) {
          var i = items[0].dataIndex;
          return ["Tasks: " + data.count[i], "Success: " + (data.success_rate[i] === null ? "—" : data.success_rate[i] + "%")];
        },
      };
      return {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: [
            {
              label: "Avg quality",
              data: data.quality,
              backgroundColor: COLORS.quality,
              borderRadius: 6,
              maxBarThickness: 42,
            },
            {
              label: "Performance index",
              data: data.performance_index,
              backgroundColor: COLORS.piFill,
              borderRadius: 6,
              maxBarThickness: 42,
            },
          ],
        },
        options: options,
      };
    },
  };

  function dropDetachedCharts() {
    Object.values(window.Chart ? Chart.instances : {}).forEach(function (chart) {
      if (!chart.canvas || !chart.canvas.isConnected) chart.destroy();
    });
  }

  function drawCharts(root) {
    if (!window.Chart) return;
    dropDetachedCharts();
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var build = builders[canvas.dataset.chart];
      var data = readData(canvas);
      if (!build || !data) return;
      var existing = Chart.getChart(canvas);
      if (existing) existing.destroy();
      new Chart(canvas, build(data, !rendered.has(canvas.id)));
      rendered.add(canvas.id);
    });
  }

  // --- Polling ----------------------------------------------------------------------------------
  var pollSeconds = Number(document.body.dataset.pollSeconds || 0);
  var timer = null;
  var lastPoll = Date.now();

  function poll() {
    lastPoll = Date.now();
    document.querySelectorAll("[data-poll]").forEach(function (el) {
      htmx.trigger(el, "poll");
    });
  }

  function startPolling() {
    if (!pollSeconds || timer) return;
    timer = window.setInterval(function () {
      if (document.visibilityState === "visible") poll();
    }, pollSeconds * 1000);
  }

  function stopPolling() {
    if (timer) window.clearInterval(timer);
    timer = null;
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      if (Date.now() - lastPoll >= pollSeconds * 1000) poll(); // catch up at once
      startPolling();
    } else {
      stopPolling();
    }
  });

  // A refresh of the recent records keeps as many rows as the reader has loaded ("rows"),
  // so polling never takes away the rows they asked for.
  // The controls form leaves out empty filters, so pushed URLs stay short and shareable.
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.id === "controls") {
      ["model", "task_type", "source"].forEach(function (name) {
        if (event.detail.parameters[name] === "") delete event.detail.parameters[name];
      });
      // A chosen preset replaces a custom range (the server lets it win; the URL says so too).
      if (event.detail.parameters.period) {
        delete event.detail.parameters.from;
        delete event.detail.parameters.to;
      }
    }
    if (elt && elt.dataset && elt.dataset.panel === "recent-records") {
      var shown = elt.querySelectorAll("tr[data-record-id]").length;
      // The page size comes from the server (data-page-size), so the two cannot disagree.
      if (shown > Number(elt.dataset.pageSize)) event.detail.parameters.rows = String(shown);
    }
  });

  // --- Status -----------------------------------------------------------------------------------
  var clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

  function setStatus(text, offline) {
    var status = document.getElementById("live-status");
    if (!status) return;
    status.classList.toggle("is-offline", Boolean(offline));
    status.querySelector(".live-text").textContent = text;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var panel = event.detail.elt.closest("[data-panel]");
    if (panel) panel.setAttribute("aria-busy", "true");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var panel = event.detail.elt.closest("[data-panel]");
    if (panel) panel.removeAttribute("aria-busy");
    if (event.detail.successful) {
      setStatus("Live · updated " + clock.format(new Date()), false);
    } else if (event.detail.failed || event.detail.xhr.status === 0) {
      setStatus("Cannot reach the server · retrying", true);
    }
  });

  // --- Start ------------------------------------------------------------------------------------
  document.documentElement.classList.add("js");
  htmx.onLoad(function (root) {
    localiseTimes(root);
    drawCharts(root.closest ? root : document);
  });
  startPolling();
})();
