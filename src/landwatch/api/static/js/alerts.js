/* landwatch dashboard: the alerts page (GET /alerts, GET /alerts/{id}). */
(function () {
  "use strict";

  var LW = window.LW;
  var el = LW.el;
  var table = document.getElementById("alerts-table");
  var empty = document.getElementById("alerts-empty");
  var loading = document.getElementById("alerts-loading");
  var detail = document.getElementById("alert-detail");

  function levelClass(level) {
    var l = String(level || "").toLowerCase();
    if (/emerg|extreme|severe|red/.test(l)) return "level-high";
    if (/warn|alert|orange|moderate/.test(l)) return "level-mid";
    if (/watch|advis|yellow|minor/.test(l)) return "level-low";
    return "level-none";
  }

  function showDetail(id) {
    var body = LW.clear(document.getElementById("alert-detail-body"));
    detail.hidden = false;
    body.append(el("p", { className: "muted", text: "Loading…" }));
    LW.get("/alerts/" + encodeURIComponent(id))
      .then(function (feature) {
        var a = (feature && feature.properties) || feature || {};
        LW.clear(body);
        document.getElementById("detail-title").textContent = a.headline || "Alert " + id;
        var dl = el("dl", { className: "kv" });
        [
          ["unit", "Unit"],
          ["level", "Level"],
          ["peak_level", "Peak level"],
          ["severity", "Severity"],
          ["certainty", "Certainty"],
          ["status", "Status"],
          ["started", "Started"],
          ["last_month", "Last month"],
          ["end_month", "Ended"],
          ["updated", "Updated"],
        ].forEach(function (kv) {
          var v = a[kv[0]];
          if (v === undefined || v === null || v === "") return;
          var text = kv[0] === "updated" ? LW.fmtTime(v) : String(v);
          dl.append(el("div", { className: "kv-row" }, el("dt", { text: kv[1] }), el("dd", { text: text })));
        });
        body.append(dl);
        var history = a.history || [];
        if (history.length) {
          var table = el("table", { className: "data-table" });
          table.append(
            el("thead", null, el("tr", null, ["Month", "Message", "Level", "Headline"].map(function (h) {
              return el("th", { text: h });
            })))
          );
          var tbody = el("tbody");
          history.forEach(function (h) {
            tbody.append(
              el(
                "tr",
                null,
                el("td", { text: h.month || LW.fmtTime(h.sent) }),
                el("td", { text: [h.msg_type, h.kind].filter(Boolean).join(" · ") }),
                el("td", null, el("span", { className: "badge " + levelClass(h.level), text: h.level || "–" })),
                el("td", null, el("a", {
                  href: LW.url("/alerts/" + encodeURIComponent(id) + "/cap" + LW.qs({ seq: h.seq })),
                  text: h.headline || h.note || "CAP",
                }))
              )
            );
          });
          table.append(tbody);
          body.append(el("h3", { text: "History (" + history.length + " messages)" }), el("div", { className: "table-wrap" }, table));
        }
        body.append(el("p", { className: "small" }, el("a", { href: LW.url("/alerts/" + encodeURIComponent(id) + "/cap"), text: "CAP 1.2 XML" })));
        detail.scrollIntoView({ block: "start" });
      })
      .catch(function (err) {
        LW.clear(body).append(el("p", { className: "error-text", text: err.message }));
      });
  }

  LW.get("/alerts")
    .then(function (fc) {
      loading.hidden = true;
      var features = (fc && fc.features) || [];
      if (!features.length) {
        empty.hidden = false;
        return;
      }
      var body = table.querySelector("tbody");
      features.forEach(function (f) {
        var p = f.properties || {};
        var id = p.id !== undefined ? p.id : f.id;
        body.append(
          el(
            "tr",
            null,
            el("td", null, el("span", { className: "badge " + levelClass(p.level), text: p.level || "–" })),
            el("td", { text: p.unit || "" }),
            el("td", { text: p.headline || "" }),
            el("td", { text: LW.fmtTime(p.started) }),
            el("td", { className: "hide-narrow", text: LW.fmtTime(p.updated) }),
            el(
              "td",
              null,
              el("a", { href: "#alert-" + id, text: "history", onclick: function (ev) {
                ev.preventDefault();
                showDetail(id);
              } }),
              " · ",
              el("a", { href: LW.url("/alerts/" + encodeURIComponent(id) + "/cap"), text: "CAP" })
            )
          )
        );
      });
      table.hidden = false;
    })
    .catch(function (err) {
      loading.hidden = true;
      empty.hidden = false;
      document.getElementById("alerts-empty-detail").textContent = "Could not read /alerts: " + err.message;
    });
})();
