/* Perfsite dashboard: local times, Chart.js charts from json_script data, and polling that
 * pauses while the tab is hidden. No inline scripts or handlers anywhere, so a strict
 * Content-Security-Policy (script-src 'self') is enough; htmx runs with allowEval off. */
(function () {
  "use strict";

  // Chart colours are CSS custom properties (static/css/perfsite.css), so the charts follow the
  // light or dark scheme like the rest of the page; read again at every draw.
  var COLOR_VARS = {
    quality: "--chart-quality",
    qualityFill: "--chart-quality-fill",
    pi: "--chart-pi",
    piFill: "--chart-pi-fill",
    count: "--chart-count",
    countBorder: "--chart-count-border",
    grid: "--chart-grid",
    text: "--chart-text",
  };
  var COLORS = {};

  function readColors() {
    var style = getComputedStyle(document.documentElement);
    Object.keys(COLOR_VARS).forEach(function (key) {
      COLORS[key] = style.getPropertyValue(COLOR_VARS[key]).trim();
    });
  }
  var rendered = new Set(); // canvas ids drawn once: later redraws skip the animation

  // --- Local times ------------------------------------------------------------------------------
  // Every time shown carries its zone ("1 Dec, 14:05 GMT"): the reader's, named by the browser.
  var dateTime = new Intl.DateTimeFormat(undefined, {
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short",
  });
  var fullDateTime = new Intl.DateTimeFormat(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short",
  });
  var zoneName = (function () {
    var part = dateTime.formatToParts(new Date()).find(function (p) {
      return p.type === "timeZoneName";
    });
    return part ? part.value : Intl.DateTimeFormat().resolvedOptions().timeZone;
  })();
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

  // Day, week, month and year buckets come as dates of the server's zone ("2025-10-21"), hours as
  // instants; the year shows when the buckets are of more than one year, or not of this one.
  function bucketLabels(data) {
    var year = data.with_year ? { year: "numeric" } : {};
    if (data.unit === "year") {
      return data.labels.map(function (text) {
        return text.slice(0, 4);
      });
    }
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

  // Day buckets are the server's calendar days (settings.TIME_ZONE, data.zone); hour buckets are
  // instants, printed in the reader's zone. The axis says which.
  function bucketTitle(data) {
    return data.unit === "day" ? "day (" + data.zone + ")" : "hour (" + zoneName + ")";
  }

  // The models chart's score axis: from a round number a little under the lowest bar, not from
  // 0, so that 84 against 91 is visible; the axis title says where it starts.
  function scoreAxis(values) {
    var known = values.filter(function (v) {
      return v !== null && v !== undefined;
    });
    if (!known.length) return { min: 0, max: 100 };
    var low = Math.min.apply(null, known);
    var high = Math.max.apply(null, known);
    var min = Math.max(0, Math.floor((low - 5) / 5) * 5);
    var max = Math.min(100, Math.ceil((high + 2) / 5) * 5);
    if (max - min < 10) min = Math.max(0, max - 10);
    return { min: min, max: max };
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
        x: {
          grid: { display: false },
          ticks: { color: COLORS.text, maxRotation: 0, autoSkipPadding: 16 },
          title: { display: true, text: bucketTitle(data), color: COLORS.text },
        },
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
      var axis = scoreAxis(data.quality.concat(data.performance_index));
      options.indexAxis = "y"; // horizontal bars: long model names stay readable on a phone
      options.interaction = { mode: "index", intersect: false, axis: "y" };
      options.scales = {
        x: {
          min: axis.min,
          max: axis.max,
          grid: { color: COLORS.grid },
          ticks: { color: COLORS.text },
          title: {
            display: true,
            text: "score (0–100), axis from " + axis.min + (axis.max < 100 ? " to " + axis.max : ""),
            color: COLORS.text,
          },
        },
        y: { grid: { display: false }, ticks: { color: COLORS.text } },
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
              borderRadius: 4,
              maxBarThickness: 18,
            },
            {
              label: "Performance index",
              data: data.performance_index,
              backgroundColor: COLORS.piFill,
              borderRadius: 4,
              maxBarThickness: 18,
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

  // Horizontal bars need height per model; set through the CSSOM (allowed by the CSP, unlike a
  // style attribute in the markup).
  var BAR_ROW_PX = 34;
  var BAR_CHROME_PX = 90;

  function sizeBox(canvas, data) {
    if (canvas.dataset.chart !== "models") return;
    var box = canvas.parentElement;
    box.style.height = Math.max(200, BAR_CHROME_PX + BAR_ROW_PX * data.labels.length) + "px";
  }

  function drawCharts(root) {
    if (!window.Chart) return;
    dropDetachedCharts();
    readColors();
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var build = builders[canvas.dataset.chart];
      var data = readData(canvas);
      if (!build || !data) return;
      sizeBox(canvas, data);
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
      ["model", "task_type", "source", "q"].forEach(function (name) {
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

  // The search box applies on Enter (the form's submit), not on every change: a change event
  // fired just before that submit would start a second request that the first then aborts.
  document.addEventListener(
    "change",
    function (event) {
      if (event.target && event.target.id === "filter-q") event.stopPropagation();
    },
    true
  );

  // --- Status -----------------------------------------------------------------------------------
  var clock = new Intl.DateTimeFormat(undefined, {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    timeZoneName: "short",
  });

  function setStatus(text, offline) {
    var status = document.getElementById("live-status");
    if (!status) return;
    status.classList.toggle("is-offline", Boolean(offline));
    status.querySelector(".live-text").textContent = text;
  }

  // --- Load more: focus goes to the first new row, not to the page body -------------------------
  var pendingMore = null;

  document.addEventListener("htmx:beforeRequest", function (event) {
    var panel = event.detail.elt.closest("[data-panel]");
    if (panel) panel.setAttribute("aria-busy", "true");
    if (event.detail.elt.hasAttribute("data-load-more")) {
      var body = event.detail.elt.closest("tbody");
      pendingMore = {
        link: event.detail.elt,
        body: body,
        shown: body.querySelectorAll("tr[data-record-id]").length,
      };
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    if (!pendingMore || event.detail.requestConfig.elt !== pendingMore.link) return;
    var rows = pendingMore.body.querySelectorAll("tr[data-record-id]");
    var first = rows[pendingMore.shown];
    pendingMore = null;
    if (!first) return;
    var target = first.querySelector("a") || first;
    if (target === first) first.setAttribute("tabindex", "-1");
    target.focus();
  });

  // --- History snapshots: no style attributes -----------------------------------------------------
  // htmx keeps a copy of the page's markup for Back/Forward. Chart.js sizes its canvases (and
  // sizeBox their boxes) through element.style, which the copy would hold as style attributes,
  // and putting those back is an inline style the CSP refuses (style-src-attr). So the copy is
  // taken without them: removed just before htmx clones the page (it clones right after this
  // event, synchronously) and put back through the CSSOM right after. Restored pages redraw
  // their charts from their json_script data (htmx.onLoad below).
  document.addEventListener("htmx:beforeHistorySave", function (event) {
    var styled = [];
    event.detail.historyElt.querySelectorAll("[style]").forEach(function (el) {
      styled.push([el, el.style.cssText]);
      el.removeAttribute("style");
    });
    queueMicrotask(function () {
      styled.forEach(function (pair) {
        pair[0].style.cssText = pair[1];
      });
    });
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
  // A change of the system's light or dark setting redraws the charts in the new colours.
  if (window.matchMedia) {
    var scheme = window.matchMedia("(prefers-color-scheme: dark)");
    var redraw = function () {
      rendered.clear();
      drawCharts(document);
    };
    if (scheme.addEventListener) scheme.addEventListener("change", redraw);
  }
  document.documentElement.classList.add("js");
  htmx.onLoad(function (root) {
    localiseTimes(root);
    drawCharts(root.closest ? root : document);
  });
  startPolling();
})();
