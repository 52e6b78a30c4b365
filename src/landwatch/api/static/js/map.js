/* landwatch dashboard: the map page.
 *
 * GET /layers -> layer switcher (grouped by `group`), legend, time slider (layers with
 * `times`), XYZ tiles; a click asks /layers/{id}/value and /timeseries; the admin panel
 * reads /runs/{run}/tables/areas_by_class?admin=; the alert list reads /alerts.
 * Needs Leaflet (L) and Chart.js (Chart), vendored under /static/vendor.
 */
(function () {
  "use strict";

  var LW = window.LW;
  var el = LW.el;

  var state = {
    layers: [],
    byId: {},
    runs: {},
    active: null,
    tiles: null,
    outline: null,
    opacity: 0.85,
    pointChart: null,
    adminChart: null,
    adminRun: null,
    adminRows: null,
    adminCache: {},
    colorsByLabel: {},
  };

  // Named colour maps for continuous legends (a few stops each, as in matplotlib).
  var COLORMAPS = {
    viridis: ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"],
    magma: ["#000004", "#51127c", "#b73779", "#fc8961", "#fcfdbf"],
    inferno: ["#000004", "#56106e", "#bb3754", "#f98e09", "#fcffa4"],
    plasma: ["#0d0887", "#7e03a8", "#cc4778", "#f89540", "#f0f921"],
    cividis: ["#00224e", "#414d6b", "#7c7b78", "#bcaf6f", "#fee838"],
    rdylgn: ["#a50026", "#f46d43", "#ffffbf", "#66bd63", "#006837"],
    rdylbu: ["#a50026", "#f46d43", "#ffffbf", "#74add1", "#313695"],
    rdbu: ["#67001f", "#d6604d", "#f7f7f7", "#4393c3", "#053061"],
    brbg: ["#543005", "#bf812d", "#f5f5f5", "#35978f", "#003c30"],
    spectral: ["#9e0142", "#f46d43", "#ffffbf", "#66c2a5", "#5e4fa2"],
    ylgn: ["#ffffe5", "#d9f0a3", "#78c679", "#238443", "#004529"],
    greens: ["#f7fcf5", "#c7e9c0", "#74c476", "#238b45", "#00441b"],
    blues: ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"],
    ylorrd: ["#ffffcc", "#fed976", "#fd8d3c", "#e31a1c", "#800026"],
    ylorbr: ["#ffffe5", "#fee391", "#fe9929", "#cc4c02", "#662506"],
    oranges: ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"],
    reds: ["#fff5f0", "#fcbba1", "#fb6a4a", "#cb181d", "#67000d"],
    gray: ["#000000", "#404040", "#808080", "#bfbfbf", "#ffffff"],
    greys: ["#ffffff", "#d9d9d9", "#969696", "#525252", "#000000"],
  };

  var map = L.map("map", { zoomControl: true, minZoom: 1, maxZoom: 18, zoomSnap: 0.25 });
  map.setView([0, 20], 2);
  map.attributionControl.setPrefix("Leaflet");

  var select = document.getElementById("layer-select");
  var timeControl = document.getElementById("time-control");
  var timeSlider = document.getElementById("time-slider");
  var timeLabel = document.getElementById("time-label");
  var opacitySlider = document.getElementById("opacity-slider");
  var layerInfo = document.getElementById("layer-info");
  var legendBox = document.getElementById("legend");
  var pointPanel = document.getElementById("point-panel");

  /* ------------------------------------------------------------ helpers */

  function hashParams() {
    return new URLSearchParams(window.location.hash.replace(/^#/, ""));
  }

  function saveHash() {
    var p = new URLSearchParams();
    if (state.active) p.set("layer", state.active.id);
    var t = currentTime();
    if (t) p.set("time", t);
    history.replaceState(null, "", "#" + p.toString());
  }

  function layerPath(layer) {
    return "/layers/" + LW.idPath(layer.id);
  }

  function currentTime() {
    var layer = state.active;
    if (!layer || !Array.isArray(layer.times) || !layer.times.length) return null;
    return layer.times[Number(timeSlider.value)] || null;
  }

  function tileUrl(layer, time) {
    return LW.url(layerPath(layer) + "/tiles/{z}/{x}/{y}.png") + LW.qs({ time: time });
  }

  function boundsOf(layer) {
    var b = layer && layer.bounds;
    if (!Array.isArray(b) || b.length !== 4 || !b.every(isFinite)) return null;
    return L.latLngBounds([b[1], b[0]], [b[3], b[2]]);
  }

  /** Units worth printing ("1" is the CF spelling of "dimensionless"). */
  function unitsOf(u) {
    var text = u === null || u === undefined ? "" : String(u).trim();
    return text === "1" || text === "-" ? "" : text;
  }

  function shortTime(t) {
    return String(t).length > 10 ? String(t).slice(0, 10) : String(t);
  }

  function variableFor(layer) {
    var run = state.runs[layer.run] || {};
    var text = (layer.group || "") + " " + (run.workflow || "") + " " + layer.id;
    return /spi|drought|so3|cdi|warn|alert|forecast/i.test(text) ? "spi" : "ndvi";
  }

  function showEmptyMap(detail) {
    document.getElementById("map-empty").hidden = false;
    document.getElementById("map-empty-detail").textContent = detail || "";
    LW.clear(select).append(el("option", { value: "", text: "No layers" }));
    select.disabled = true;
    LW.clear(legendBox).append(el("p", { className: "muted", text: "No layer to show." }));
  }

  /* ------------------------------------------------------------ layers */

  function buildSelect(layers) {
    LW.clear(select);
    var groups = {};
    var order = [];
    layers.forEach(function (layer) {
      var g = layer.group || "Other";
      if (!groups[g]) {
        groups[g] = el("optgroup", { label: g });
        order.push(g);
      }
      var runs = Object.keys(state.runs).length;
      var label = layer.title || layer.id;
      if (layer.period && label.indexOf(layer.period) < 0) label += " · " + layer.period;
      if (runs > 1) label += " · " + layer.run;
      groups[g].append(el("option", { value: layer.id, text: label }));
    });
    order.forEach(function (g) {
      select.append(groups[g]);
    });
    select.disabled = false;
  }

  function defaultLayer() {
    var wanted = hashParams().get("layer");
    if (wanted && state.byId[wanted]) return state.byId[wanted];
    var sdg = state.layers.filter(function (l) {
      return /sdg/i.test(l.group || "");
    });
    return sdg.length ? sdg[sdg.length - 1] : state.layers[0];
  }

  function setLayer(id, options) {
    var layer = state.byId[id];
    if (!layer) return;
    options = options || {};
    var previous = state.active;
    state.active = layer;
    select.value = layer.id;
    map.closePopup();

    var times = Array.isArray(layer.times) ? layer.times : [];
    if (times.length) {
      timeSlider.max = String(times.length - 1);
      var wanted = options.time ? times.indexOf(options.time) : -1;
      timeSlider.value = String(wanted >= 0 ? wanted : times.length - 1);
      timeLabel.textContent = shortTime(times[Number(timeSlider.value)]);
      timeControl.hidden = false;
    } else {
      timeControl.hidden = true;
    }

    removeTiles();
    if (state.outline) map.removeLayer(state.outline);
    var bounds = boundsOf(layer);
    state.tiles = makeTiles(layer, currentTime()).addTo(map);
    if (bounds) {
      state.outline = L.rectangle(bounds, {
        color: "#334",
        weight: 1,
        fill: false,
        dashArray: "4 4",
        interactive: false,
      }).addTo(map);
      if (!previous || !map.getBounds().intersects(bounds)) map.fitBounds(bounds, { padding: [8, 8] });
    }

    var info = [layer.run];
    if (layer.period) info.push(layer.period);
    if (layer.kind) info.push(layer.kind);
    if (unitsOf(layer.units)) info.push(unitsOf(layer.units));
    layerInfo.textContent = info.join(" · ");

    showLegend(layer);
    saveHash();
    if (!previous || previous.run !== layer.run) loadAdmin(layer.run);
  }

  function makeTiles(layer, time) {
    var bounds = boundsOf(layer);
    return L.tileLayer(tileUrl(layer, time), {
      opacity: state.opacity,
      maxZoom: 18,
      bounds: bounds || undefined,
      attribution: "run " + layer.run,
      className: "data-tiles",
    });
  }

  function removeTiles() {
    map.eachLayer(function (l) {
      if (l instanceof L.TileLayer) map.removeLayer(l);
    });
    state.tiles = null;
  }

  function setTime() {
    var layer = state.active;
    if (!layer || !state.tiles) return;
    timeLabel.textContent = shortTime(currentTime());
    // a new tile layer, not setUrl(): Leaflet's redraw() asks for tiles at the map's
    // fractional zoom (zoomSnap 0.25); the old one goes once the new one has loaded
    var old = state.tiles;
    var fresh = makeTiles(layer, currentTime());
    var drop = function () {
      if (old && map.hasLayer(old) && old !== state.tiles) map.removeLayer(old);
    };
    fresh.once("load", drop);
    setTimeout(drop, 4000);
    state.tiles = fresh.addTo(map);
    map.closePopup();
    saveHash();
  }

  /* ------------------------------------------------------------ legend */

  function showLegend(layer) {
    if (layer.legend) {
      drawLegend(layer, layer.legend);
      return;
    }
    LW.clear(legendBox).append(el("p", { className: "muted", text: "Loading legend…" }));
    LW.get(layerPath(layer) + "/legend")
      .then(function (legend) {
        if (state.active === layer) drawLegend(layer, legend);
      })
      .catch(function (err) {
        if (state.active === layer)
          LW.clear(legendBox).append(el("p", { className: "error-text", text: err.message }));
      });
  }

  function gradient(colormap) {
    var colors = null;
    if (Array.isArray(colormap)) colors = colormap;
    else if (typeof colormap === "string") {
      var name = colormap.toLowerCase();
      var reversed = /_r$/.test(name);
      colors = COLORMAPS[name.replace(/_r$/, "")];
      if (colors && reversed) colors = colors.slice().reverse();
    }
    return colors && colors.length > 1 ? "linear-gradient(to right, " + colors.join(", ") + ")" : null;
  }

  function drawLegend(layer, legend) {
    LW.clear(legendBox);
    var title = el("p", { className: "legend-title", text: layer.title || layer.id });
    legendBox.setAttribute("data-layer", layer.id);
    legendBox.append(title);
    if (Array.isArray(legend)) {
      var list = el("ul", { className: "legend-classes" });
      legend.forEach(function (item) {
        list.append(
          el(
            "li",
            null,
            el("span", { className: "swatch", style: "background:" + safeColor(item.color) }),
            el("span", { text: item.label !== undefined && item.label !== null ? item.label : String(item.value) })
          )
        );
      });
      legendBox.append(list);
    } else if (legend && typeof legend === "object") {
      var bg = gradient(legend.colormap);
      var bar = el("div", { className: "legend-ramp" });
      if (bg) bar.style.backgroundImage = bg;
      else bar.classList.add("legend-ramp-unknown");
      var units = unitsOf(layer.units) ? " " + unitsOf(layer.units) : "";
      legendBox.append(
        bar,
        el(
          "div",
          { className: "legend-scale" },
          el("span", { text: LW.fmt(legend.min) + units }),
          el("span", { text: legend.colormap && !bg ? String(legend.colormap) : "" }),
          el("span", { text: LW.fmt(legend.max) + units })
        )
      );
    } else {
      legendBox.append(el("p", { className: "muted", text: "This layer has no legend." }));
    }
  }

  function safeColor(color) {
    var c = String(color || "");
    return /^(#[0-9a-f]{3,8}|rgba?\([\d\s.,%]+\)|[a-z]+)$/i.test(c) ? c : "transparent";
  }

  /* ------------------------------------------------------------ click: value and series */

  function describeValue(v, layer) {
    if (!v || v.value === null || v.value === undefined) return "No data here";
    var units = unitsOf(v.units !== undefined && v.units !== null ? v.units : layer.units);
    if (v.label !== null && v.label !== undefined && v.label !== "") {
      return v.label + " (" + LW.fmt(v.value) + (units ? " " + units : "") + ")";
    }
    return LW.fmt(v.value) + (units ? " " + units : "");
  }

  function onMapClick(e) {
    var layer = state.active;
    if (!layer) return;
    var lon = e.latlng.wrap().lng;
    var lat = e.latlng.lat;
    var coords = lat.toFixed(4) + ", " + lon.toFixed(4);
    var variable = variableFor(layer);
    var valueEl = el("p", { className: "popup-value", text: "Loading value…" });
    var canvas = el("canvas", { className: "series-canvas", "aria-label": variable + " time series" });
    var chartBox = el("div", { className: "popup-chart" }, canvas);
    var seriesNote = el("p", { className: "muted small", text: "Loading " + variable + " time series…" });
    var content = el(
      "div",
      { className: "popup-body" },
      el("p", { className: "popup-title", text: layer.title || layer.id }),
      valueEl,
      el("p", { className: "muted small", text: coords }),
      seriesNote,
      chartBox
    );
    L.popup({ maxWidth: 320, minWidth: 240, autoPanPadding: [12, 12] })
      .setLatLng(e.latlng)
      .setContent(content)
      .openOn(map);

    var pointText = el("p", { className: "popup-value", text: "Loading…" });
    LW.clear(pointPanel).append(
      el("h2", { id: "point-title", text: "At a point" }),
      el("p", { className: "muted small", text: coords + " · " + (layer.title || layer.id) }),
      pointText
    );

    LW.get(layerPath(layer) + "/value" + LW.qs({ lon: lon, lat: lat, time: currentTime() }))
      .then(function (v) {
        var text = describeValue(v, layer);
        valueEl.textContent = text;
        pointText.textContent = text;
        valueEl.setAttribute("data-value", v && v.value !== null && v.value !== undefined ? String(v.value) : "");
      })
      .catch(function (err) {
        valueEl.textContent = err.status === 404 || err.status === 422 ? err.message : "Value not available: " + err.message;
        valueEl.classList.add("error-text");
        pointText.textContent = valueEl.textContent;
      });

    LW.get("/timeseries" + LW.qs({ run: layer.run, lon: lon, lat: lat, variable: variable }))
      .then(function (ts) {
        drawSeries(canvas, ts);
        var u = unitsOf(ts.units);
        seriesNote.textContent = (ts.variable || variable).toUpperCase() + (u ? " (" + u + ")" : "");
      })
      .catch(function (err) {
        chartBox.hidden = true;
        seriesNote.textContent = "No " + variable + " time series here: " + err.message;
      });
  }

  function drawSeries(canvas, ts) {
    if (state.pointChart) state.pointChart.destroy();
    var times = (ts.times || []).map(shortTime);
    var values = (ts.values || []).map(function (v) {
      return v === null || v === undefined ? null : Number(v);
    });
    state.pointChart = new Chart(canvas, {
      type: "line",
      data: {
        labels: times,
        datasets: [
          {
            label: ts.variable || "value",
            data: values,
            borderColor: "#2f6f4e",
            backgroundColor: "rgba(47,111,78,0.15)",
            borderWidth: 1.5,
            pointRadius: values.length > 40 ? 0 : 2,
            spanGaps: true,
            fill: false,
          },
        ],
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: false } },
        scales: {
          x: { ticks: { maxTicksLimit: 5, maxRotation: 0, font: { size: 10 } } },
          y: { ticks: { maxTicksLimit: 5, font: { size: 10 } } },
        },
      },
    });
  }

  map.on("click", onMapClick);
  map.on("popupclose", function () {
    if (state.pointChart) {
      state.pointChart.destroy();
      state.pointChart = null;
    }
  });

  /* ------------------------------------------------------------ admin units */

  var adminSelect = document.getElementById("admin-select");
  var adminPeriod = document.getElementById("admin-period");
  var adminIndicator = document.getElementById("admin-indicator");
  var adminTable = document.getElementById("admin-table");
  var adminChartBox = document.getElementById("admin-chart-box");

  function tableNames(data) {
    var list = Array.isArray(data) ? data : (data && (data.tables || data.names)) || [];
    return list.map(function (t) {
      return typeof t === "string" ? t : t && t.name;
    });
  }

  function records(data) {
    return Array.isArray(data) ? data : (data && (data.records || data.rows || data.data)) || [];
  }

  function adminEmpty(detail) {
    document.getElementById("admin-controls").hidden = true;
    adminTable.hidden = true;
    adminChartBox.hidden = true;
    document.getElementById("admin-empty").hidden = false;
    document.getElementById("admin-empty-detail").textContent = detail || "";
  }

  function loadAdmin(preferredRun) {
    // the run of the active layer first; while a table is shown, only that run may
    // replace it (an LDN layer keeps the SDG run's areas on screen)
    var ids = [preferredRun];
    if (!state.adminRun) {
      ids = ids.concat(
        Object.keys(state.runs).filter(function (r) {
          return r !== preferredRun;
        })
      );
    }
    var tried = [];
    function next(i) {
      if (i >= ids.length) {
        if (!state.adminRun) adminEmpty(tried.join(" "));
        return;
      }
      var run = ids[i];
      if (!run) return next(i + 1);
      if (run === state.adminRun) return;
      LW.get("/runs/" + encodeURIComponent(run) + "/tables")
        .then(function (data) {
          if (tableNames(data).indexOf("areas_by_class") < 0) return next(i + 1);
          return LW.get("/runs/" + encodeURIComponent(run) + "/tables/areas_by_class").then(function (rows) {
            showAdminRun(run, records(rows));
          });
        })
        .catch(function (err) {
          tried.push(run + ": " + err.message + ".");
          next(i + 1);
        });
    }
    next(0);
  }

  function uniq(rows, key) {
    var seen = {};
    var out = [];
    rows.forEach(function (r) {
      var v = r[key];
      if (v === undefined || v === null || seen[v]) return;
      seen[v] = true;
      out.push(r);
    });
    return out;
  }

  function fillSelect(node, items, chosen) {
    LW.clear(node);
    items.forEach(function (it) {
      node.append(el("option", { value: it[0], text: it[1] }));
    });
    if (chosen !== undefined && chosen !== null) node.value = chosen;
  }

  function showAdminRun(run, rows) {
    if (!rows.length) return adminEmpty("The table areas_by_class of run " + run + " is empty.");
    state.adminRun = run;
    state.adminRows = rows;
    state.adminCache = {};
    document.getElementById("admin-empty").hidden = true;
    document.getElementById("admin-controls").hidden = false;
    var units = uniq(rows, "admin_id").map(function (r) {
      var name = r.admin_name || r.admin_id;
      return [r.admin_id, r.admin_id === "ALL" ? name + " (all)" : name + " (" + r.admin_id + ")"];
    });
    var periods = uniq(rows, "period").map(function (r) {
      return [r.period, r.period];
    });
    var indicators = uniq(rows, "indicator").map(function (r) {
      return [r.indicator, r.indicator];
    });
    fillSelect(adminSelect, units, units.length ? units[0][0] : null);
    fillSelect(adminPeriod, periods, periods.length ? periods[periods.length - 1][0] : null);
    var ind = indicators.some(function (i) {
      return i[0] === "sdg";
    })
      ? "sdg"
      : indicators.length
        ? indicators[0][0]
        : null;
    fillSelect(adminIndicator, indicators, ind);
    document.getElementById("admin-period").parentNode.hidden = !periods.length;
    document.getElementById("admin-indicator").parentNode.hidden = !indicators.length;
    showAdminUnit();
  }

  function showAdminUnit() {
    var run = state.adminRun;
    var admin = adminSelect.value;
    if (!run) return;
    var cached = state.adminCache[admin];
    var load = cached
      ? Promise.resolve(cached)
      : LW.get("/runs/" + encodeURIComponent(run) + "/tables/areas_by_class" + LW.qs({ admin: admin })).then(
          function (data) {
            state.adminCache[admin] = records(data);
            return state.adminCache[admin];
          }
        );
    load
      .then(function (rows) {
        if (adminSelect.value !== admin) return;
        drawAdmin(
          rows.filter(function (r) {
            return (
              (r.admin_id === undefined || String(r.admin_id) === admin) &&
              (!adminPeriod.value || r.period === adminPeriod.value) &&
              (!adminIndicator.value || r.indicator === adminIndicator.value)
            );
          })
        );
      })
      .catch(function (err) {
        adminEmpty("Could not read the areas of " + admin + ": " + err.message);
      });
  }

  function drawAdmin(rows) {
    var body = adminTable.querySelector("tbody");
    LW.clear(body);
    rows.forEach(function (r) {
      body.append(
        el(
          "tr",
          null,
          el("td", { text: r.class_name || r.label || String(r.class_code) }),
          el("td", { className: "num", text: LW.fmt(r.area_km2, 1) }),
          el("td", { className: "num", text: LW.fmt(r.percent_of_land !== undefined ? r.percent_of_land : r.percent, 1) })
        )
      );
    });
    adminTable.hidden = !rows.length;
    adminChartBox.hidden = !rows.length;
    if (state.adminChart) state.adminChart.destroy();
    if (!rows.length) return;
    var shown = rows.filter(function (r) {
      return Number(r.area_km2) > 0 || !/no data/i.test(r.class_name || "");
    });
    state.adminChart = new Chart(document.getElementById("admin-chart"), {
      type: "bar",
      data: {
        labels: shown.map(function (r) {
          return r.class_name || String(r.class_code);
        }),
        datasets: [
          {
            label: "km²",
            data: shown.map(function (r) {
              return Number(r.area_km2);
            }),
            backgroundColor: shown.map(function (r) {
              return state.colorsByLabel[String(r.class_name || "").toLowerCase()] || "#7a8ca3";
            }),
            borderColor: "#445",
            borderWidth: 0.5,
          },
        ],
      },
      options: {
        animation: false,
        indexAxis: "y",
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: false } },
        scales: { x: { title: { display: true, text: "km²" } }, y: { ticks: { font: { size: 11 } } } },
      },
    });
  }

  [adminSelect, adminPeriod, adminIndicator].forEach(function (node) {
    node.addEventListener("change", showAdminUnit);
  });

  /* ------------------------------------------------------------ alerts */

  function levelClass(level) {
    var l = String(level || "").toLowerCase();
    if (/emerg|extreme|severe|red/.test(l)) return "level-high";
    if (/warn|alert|orange|moderate/.test(l)) return "level-mid";
    if (/watch|advis|yellow|minor/.test(l)) return "level-low";
    return "level-none";
  }

  var LEVEL_COLORS = { "level-high": "#c0392b", "level-mid": "#e67e22", "level-low": "#d4ac0d", "level-none": "#7f8c8d" };

  function loadAlerts() {
    var list = document.getElementById("alert-list");
    LW.get("/alerts")
      .then(function (fc) {
        var features = (fc && fc.features) || [];
        LW.clear(list);
        if (!features.length) {
          list.hidden = true;
          document.getElementById("alerts-empty").hidden = false;
          return;
        }
        features.slice(0, 20).forEach(function (f) {
          var p = f.properties || {};
          list.append(
            el(
              "li",
              null,
              el("span", { className: "badge " + levelClass(p.level), text: p.level || "alert" }),
              " ",
              el("strong", { text: p.unit || "" }),
              el("div", { className: "small", text: p.headline || "" }),
              el("div", { className: "muted small", text: "since " + LW.fmtTime(p.started) })
            )
          );
        });
        var withGeometry = features.filter(function (f) {
          return f.geometry;
        });
        if (withGeometry.length) {
          L.geoJSON(
            { type: "FeatureCollection", features: withGeometry },
            {
              interactive: false,
              style: function (f) {
                var c = LEVEL_COLORS[levelClass((f.properties || {}).level)];
                return { color: c, weight: 2, fillColor: c, fillOpacity: 0.12 };
              },
            }
          ).addTo(map);
        }
      })
      .catch(function (err) {
        LW.clear(list);
        list.hidden = true;
        document.getElementById("alerts-empty").hidden = false;
        document.getElementById("alerts-empty-detail").textContent = "Could not read /alerts: " + err.message;
      });
  }

  /* ------------------------------------------------------------ start */

  select.addEventListener("change", function () {
    setLayer(select.value);
  });
  var timer = null;
  timeSlider.addEventListener("input", function () {
    timeLabel.textContent = shortTime(currentTime());
    clearTimeout(timer);
    timer = setTimeout(setTime, 200);
  });
  opacitySlider.addEventListener("input", function () {
    state.opacity = Number(opacitySlider.value) / 100;
    if (state.tiles) state.tiles.setOpacity(state.opacity);
  });

  Promise.all([
    LW.get("/layers"),
    LW.get("/runs").catch(function () {
      return [];
    }),
  ])
    .then(function (res) {
      var layers = Array.isArray(res[0]) ? res[0] : (res[0] && res[0].layers) || [];
      (Array.isArray(res[1]) ? res[1] : []).forEach(function (r) {
        state.runs[r.id] = r;
      });
      layers.forEach(function (l) {
        if (!state.runs[l.run]) state.runs[l.run] = { id: l.run };
        state.byId[l.id] = l;
        if (Array.isArray(l.legend)) {
          l.legend.forEach(function (item) {
            var key = String(item.label || "").toLowerCase();
            if (key && !state.colorsByLabel[key]) state.colorsByLabel[key] = safeColor(item.color);
          });
        }
      });
      state.layers = layers;
      if (!layers.length) {
        showEmptyMap("");
        loadAdmin(null);
        return;
      }
      buildSelect(layers);
      setLayer(defaultLayer().id, { time: hashParams().get("time") });
    })
    .catch(function (err) {
      showEmptyMap("Could not read /layers: " + err.message);
      adminEmpty("");
    });
  loadAlerts();
})();
