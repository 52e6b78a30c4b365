/* landwatch dashboard: the observation and practice forms.
 *
 * Each form is sent as JSON (POST /observations, POST /practices) with the token of
 * the nav's token box. A 422 answer's `errors` ([{field, message}]) are shown next to
 * the fields (elements with data-error-for="<field path>").
 */
(function () {
  "use strict";

  var LW = window.LW;
  var el = LW.el;

  function val(form, name) {
    var node = form.elements.namedItem(name);
    return node && "value" in node ? String(node.value).trim() : "";
  }

  function checked(form, name) {
    return Array.prototype.map.call(form.querySelectorAll('input[name="' + name + '"]:checked'), function (n) {
      return n.value;
    });
  }

  function lines(text, separator) {
    return String(text || "")
      .split(separator)
      .map(function (s) {
        return s.trim();
      })
      .filter(Boolean);
  }

  function submitJson(form, path, body, onSuccess) {
    var button = form.querySelector('button[type="submit"]');
    LW.clearErrors(form);
    button.disabled = true;
    var old = button.textContent;
    button.textContent = "Sending…";
    return LW.api(path, { method: "POST", body: body })
      .then(function (r) {
        if (r.ok) onSuccess(r.data);
        else LW.showErrors(form, r.status, r.data);
      })
      .catch(function (err) {
        LW.showErrors(form, 0, { detail: "could not reach the server: " + err.message });
      })
      .then(function () {
        button.disabled = false;
        button.textContent = old;
      });
  }

  /* ------------------------------------------------------------ observation */

  function initObservation(form) {
    var result = document.getElementById("observation-result");
    var locate = document.getElementById("use-location");
    var locStatus = document.getElementById("location-status");
    if (locate) {
      if (!navigator.geolocation) locate.hidden = true;
      locate.addEventListener("click", function () {
        locStatus.textContent = "locating…";
        navigator.geolocation.getCurrentPosition(
          function (pos) {
            form.elements.namedItem("lon").value = pos.coords.longitude.toFixed(6);
            form.elements.namedItem("lat").value = pos.coords.latitude.toFixed(6);
            locStatus.textContent = "±" + Math.round(pos.coords.accuracy) + " m";
          },
          function (err) {
            locStatus.textContent = "no location: " + err.message;
          },
          { enableHighAccuracy: true, timeout: 15000 }
        );
      });
    }
    var TEXT = [
      "observed_on",
      "observer_role",
      "category",
      "land_state",
      "impact_severity",
      "description",
      "language",
      "lik_indicator_name",
      "area_wkt",
      "admin_id",
      "source",
    ];
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      result.hidden = true;
      var body = {};
      ["lon", "lat"].forEach(function (name) {
        var v = LW.num(val(form, name));
        if (v !== null) body[name] = v;
      });
      TEXT.forEach(function (name) {
        var v = val(form, name);
        if (v) body[name] = v;
      });
      submitJson(form, "/observations", body, function (data) {
        var obs = (data && (data.properties || data)) || {};
        var uuid = obs.uuid || (data && data.id) || "";
        LW.clear(result).append(
          el("strong", { text: "Observation accepted." }),
          " ",
          el("span", {
            text:
              (uuid ? "Id " + uuid + ", " : "") +
              "status " +
              (obs.validation_status || "submitted") +
              (obs.map_flag ? ", map check: " + obs.map_flag.replace(/_/g, " ") : "") +
              ". A moderator will review it.",
          })
        );
        result.hidden = false;
        result.scrollIntoView({ block: "center" });
      });
    });
  }

  /* ------------------------------------------------------------ practice */

  function ratingSelect(field) {
    var s = el("select", { "data-field": field, "aria-label": "rating" });
    for (var r = 3; r >= -3; r--) {
      s.append(el("option", { value: String(r), text: (r > 0 ? "+" : "") + r, selected: r === 1 }));
    }
    return s;
  }

  function reindex(form) {
    ["on_site", "off_site"].forEach(function (kind) {
      var rows = form.querySelectorAll("#impacts-" + kind + " .row");
      Array.prototype.forEach.call(rows, function (row, i) {
        var base = "impacts." + kind + "[" + i + "]";
        row.querySelector(".impact").setAttribute("data-field", base + ".impact");
        row.querySelector(".rating").setAttribute("data-field", base + ".rating");
        row.querySelector(".field-error").setAttribute("data-error-for", base);
      });
    });
    var sources = form.querySelectorAll("#sources .row");
    Array.prototype.forEach.call(sources, function (row, i) {
      row.querySelector("legend").textContent = "Source " + (i + 1);
      row.querySelectorAll("[data-key]").forEach(function (input) {
        input.setAttribute("data-field", "sources[" + i + "]." + input.getAttribute("data-key"));
      });
      row.querySelectorAll("[data-error-key]").forEach(function (slot) {
        var key = slot.getAttribute("data-error-key");
        slot.setAttribute("data-error-for", "sources[" + i + "]" + (key ? "." + key : ""));
      });
    });
  }

  function removeButton(form, row) {
    return el("button", {
      type: "button",
      className: "secondary remove-row",
      "aria-label": "remove",
      text: "×",
      onclick: function () {
        row.remove();
        reindex(form);
      },
    });
  }

  function addImpact(form, kind) {
    var options = document.getElementById("impact-options-" + kind);
    var impact = el("select", { className: "impact", "aria-label": "impact" });
    impact.append(options.content.cloneNode(true));
    var rating = ratingSelect("");
    rating.className = "rating";
    var row = el("div", { className: "row impact-row" });
    row.append(impact, rating, removeButton(form, row), el("p", { className: "field-error", role: "alert", hidden: true }));
    document.getElementById("impacts-" + kind).append(row);
    reindex(form);
    return row;
  }

  function addSource(form) {
    var row = el("fieldset", { className: "row source-row" }, el("legend", { text: "Source" }));
    [
      ["title", "Title *"],
      ["authors", "Authors"],
      ["year", "Year"],
      ["publisher", "Publisher"],
      ["url", "Link (https://…)"],
      ["doi", "DOI"],
    ].forEach(function (f) {
      var id = "src-" + Math.random().toString(36).slice(2);
      row.append(
        el(
          "div",
          { className: "field" },
          el("label", { for: id, text: f[1] }),
          el("input", { id: id, "data-key": f[0], inputmode: f[0] === "year" ? "numeric" : null }),
          el("p", { className: "field-error", role: "alert", hidden: true, "data-error-key": f[0] })
        )
      );
    });
    row.append(
      el("p", { className: "field-error", role: "alert", hidden: true, "data-error-key": "" }),
      removeButton(form, row)
    );
    document.getElementById("sources").append(row);
    reindex(form);
    return row;
  }

  function practiceBody(form) {
    var rec = {
      name: val(form, "name"),
      summary: val(form, "summary"),
      description: val(form, "description"),
    };
    [
      "land_use",
      "degradation_types",
      "measure_types",
      "goals",
      "climate_zones",
      "aridity",
      "slope",
      "soil_texture",
      "scale",
    ].forEach(function (name) {
      rec[name] = checked(form, name);
    });
    var costs = {
      establishment_per_ha: LW.num(val(form, "establishment_per_ha")),
      maintenance_per_ha_year: LW.num(val(form, "maintenance_per_ha_year")),
      currency: val(form, "currency") || null,
      year: LW.num(val(form, "year")),
      note: val(form, "cost_note"),
    };
    if (Object.keys(costs).some(function (k) {
      return costs[k] !== null && costs[k] !== "";
    })) {
      rec.costs = costs;
    }
    rec.impacts = {};
    ["on_site", "off_site"].forEach(function (kind) {
      rec.impacts[kind] = Array.prototype.map.call(
        form.querySelectorAll("#impacts-" + kind + " .row"),
        function (row) {
          return { impact: row.querySelector(".impact").value, rating: Number(row.querySelector(".rating").value) };
        }
      );
    });
    rec.adoption = { level: val(form, "adoption_level"), note: val(form, "adoption_note") };
    var lat = LW.num(val(form, "lat"));
    var lon = LW.num(val(form, "lon"));
    rec.location = {
      countries: lines(val(form, "countries"), /[,;\s]+/).map(function (c) {
        return c.toUpperCase();
      }),
      lat: lat,
      lon: lon,
    };
    rec.keywords = lines(val(form, "keywords"), /\n/);
    rec.sources = Array.prototype.map
      .call(form.querySelectorAll("#sources .row"), function (row) {
        var s = {};
        row.querySelectorAll("[data-key]").forEach(function (input) {
          var key = input.getAttribute("data-key");
          var v = input.value.trim();
          s[key] = key === "year" ? LW.num(v) : v || null;
        });
        if (s.title === null) s.title = "";
        return s;
      })
      .filter(function (s) {
        return Object.keys(s).some(function (k) {
          return s[k] !== null && s[k] !== "";
        });
      });
    rec.licence = val(form, "licence");
    rec.language = val(form, "language");
    return rec;
  }

  function initPractice(form) {
    var result = document.getElementById("practice-result");
    form.querySelectorAll("[data-add]").forEach(function (button) {
      button.addEventListener("click", function () {
        var what = button.getAttribute("data-add");
        if (what === "source") addSource(form);
        else addImpact(form, what);
      });
    });
    addImpact(form, "on_site");
    addSource(form);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      result.hidden = true;
      submitJson(form, "/practices", practiceBody(form), function (data) {
        var rec = (data && (data.record || data)) || {};
        var uuid = rec.uuid || "";
        LW.clear(result).append(
          el("strong", { text: "Practice submitted." }),
          " ",
          el("span", {
            text: (uuid ? "Id " + uuid + ", " : "") + "status " + (rec.status || "submitted") + ", version " + (rec.version || 1) + ". It becomes public once a moderator approves it.",
          })
        );
        result.hidden = false;
        result.scrollIntoView({ block: "center" });
      });
    });
  }

  var obs = document.getElementById("observation-form");
  if (obs) initObservation(obs);
  var practice = document.getElementById("practice-form");
  if (practice) initPractice(practice);
})();
