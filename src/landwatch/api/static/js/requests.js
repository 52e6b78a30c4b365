/* landwatch dashboard: requests for information products.
 *
 * The form sends POST /requests (any token); a 422 answer's `errors` ([{field,
 * message}]) are shown next to the fields. The queue (GET /requests, by priority) and
 * one request (GET /requests/{id}: breakdown and audit trail) need a token too;
 * moderators get a form for the next step (POST /requests/{id}/<action>). After
 * `accept` the request is polled until its brief is delivered (or its job failed).
 */
(function () {
  "use strict";

  var LW = window.LW;
  var el = LW.el;
  var form = document.getElementById("request-form");
  var result = document.getElementById("request-result");
  var table = document.getElementById("queue-table");
  var empty = document.getElementById("queue-empty");
  var panel = document.getElementById("request-panel");
  var actionForm = document.getElementById("action-form");
  var actionSelect = document.getElementById("a-action");
  var RUNS = ["sdg_run", "ldn_run", "so3_run", "warning_run"];
  var current = null;
  var role = null;
  var timer = null;

  function val(f, name) {
    var node = f.elements.namedItem(name);
    return node && "value" in node ? String(node.value).trim() : "";
  }

  /** A link of a request: a path on this service (under the root) or an http(s) URL. */
  function linkHref(link) {
    var text = String(link || "");
    if (/^https?:\/\//i.test(text)) return text;
    if (text.charAt(0) === "/") return LW.url(text);
    return null;
  }

  function isModerator() {
    return role === "moderator" || role === "admin";
  }

  /* ------------------------------------------------------------ submit */

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    result.hidden = true;
    LW.clearErrors(form);
    var body = {};
    [
      "requester",
      "organization",
      "requester_type",
      "email",
      "country",
      "topic",
      "admin_id",
      "question",
      "deadline",
      "intended_use",
    ]
      .concat(RUNS)
      .forEach(function (name) {
        var v = val(form, name);
        if (v) body[name] = v;
      });
    var pop = LW.num(val(form, "population"));
    if (pop !== null) body.population = pop;
    var area = val(form, "area");
    if (area) {
      try {
        body.area = JSON.parse(area);
      } catch (e) {
        LW.showErrors(form, 422, { errors: [{ field: "area", message: "is not valid JSON: " + e.message }] });
        return;
      }
    }
    var button = document.getElementById("request-submit");
    button.disabled = true;
    LW.api("/requests", { method: "POST", body: body })
      .then(function (r) {
        if (!r.ok) {
          LW.showErrors(form, r.status, r.data);
          return;
        }
        var p = (r.data && r.data.priority) || {};
        LW.clear(result).append(
          el("strong", { text: "Request " + r.data.id + " received." }),
          " ",
          el("span", {
            text: "Priority " + LW.fmt(p.score, 1) + " (" + (p.tier_label || p.tier || "") + "). A moderator will triage it; follow it in the queue.",
          })
        );
        result.hidden = false;
        form.reset();
        loadQueue();
        show(r.data.id);
      })
      .catch(function (err) {
        LW.showErrors(form, 0, { detail: "could not reach the server: " + err.message });
      })
      .then(function () {
        button.disabled = false;
      });
  });

  /* ------------------------------------------------------------ queue */

  function loadQueue() {
    var body = LW.clear(table.querySelector("tbody"));
    if (!LW.token()) {
      table.hidden = true;
      empty.hidden = false;
      empty.textContent = "Type your token into the Token box at the top to see your requests.";
      return;
    }
    var status = document.getElementById("queue-status").value;
    LW.get("/requests" + LW.qs({ status: status }), { auth: true })
      .then(function (data) {
        var rows = (data && data.requests) || [];
        rows.forEach(function (r) {
          var p = r.priority || {};
          body.append(
            el(
              "tr",
              { className: current === r.id ? "selected" : null },
              el("td", { className: "num" }, el("a", {
                href: "#request=" + r.id,
                text: String(r.id),
                onclick: function (ev) {
                  ev.preventDefault();
                  show(r.id);
                },
              })),
              el("td", { className: "num", text: LW.fmt(p.score, 1) }),
              el("td", { text: p.tier_label || p.tier || "" }),
              el("td", null, el("span", { className: "badge request-" + r.status, text: r.status.replace("_", " ") })),
              el("td", { text: r.deadline }),
              el("td", { className: "hide-narrow", text: r.topic }),
              el("td", { className: "hide-narrow", text: r.admin_id || "polygon" })
            )
          );
        });
        table.hidden = !rows.length;
        empty.hidden = !!rows.length;
        empty.textContent = rows.length ? "" : "No requests here yet.";
      })
      .catch(function (err) {
        table.hidden = true;
        empty.hidden = false;
        empty.textContent = "Could not list requests: " + err.message;
      });
  }

  /* ------------------------------------------------------------ one request */

  function kv(list, key, value) {
    if (value === null || value === undefined || value === "") return;
    list.append(el("div", { className: "kv-row" }, el("dt", { text: key }), el("dd", { text: String(value) })));
  }

  function render(r) {
    current = r.id;
    panel.hidden = false;
    document.getElementById("request-title").textContent = "Request " + r.id;
    var badge = document.getElementById("request-status");
    badge.textContent = r.status.replace("_", " ");
    badge.className = "badge request-" + r.status;
    var p = r.priority || {};
    document.getElementById("request-priority").textContent =
      "priority " + LW.fmt(p.score, 1) + " · " + (p.tier_label || "") + " · deadline " + r.deadline;

    var list = LW.clear(document.getElementById("request-fields"));
    kv(list, "Requester", r.requester + " (" + r.organization + ", " + r.requester_type.replace(/_/g, " ") + ")");
    kv(list, "E-mail", r.email);
    kv(list, "Country", r.country);
    kv(list, "Topic", r.topic.replace(/_/g, " "));
    kv(list, "Area", r.admin_id || "polygon");
    kv(list, "Admin units", (r.units || []).join(", "));
    kv(list, "Question", r.question);
    kv(list, "Intended use", r.intended_use.replace(/_/g, " "));
    kv(
      list,
      "People exposed",
      r.population_exposed === null || r.population_exposed === undefined
        ? "unknown"
        : LW.fmt(r.population_exposed, 0) + " (" + r.population_source + ")"
    );
    RUNS.forEach(function (name) {
      kv(list, name.replace("_", " "), r[name]);
    });
    if (r.job_id) {
      list.append(el("div", { className: "kv-row" }, el("dt", { text: "Brief job" }),
        el("dd", null, el("a", { href: LW.url("/jobs") + "#job=" + encodeURIComponent(r.job_id), text: r.job_id }))));
    }
    kv(list, "Received", LW.fmtTime(r.received));

    var links = LW.clear(document.getElementById("request-links"));
    if ((r.links || []).length) {
      var ul = el("ul", { className: "results" });
      r.links.forEach(function (link) {
        var href = linkHref(link);
        var name = String(link).split("/").pop() || String(link);
        ul.append(el("li", null, href ? el("a", { href: href, text: name }) : el("span", { text: String(link) })));
      });
      links.append(el("h3", { text: "Delivered" }), ul);
    }

    var bd = LW.clear(document.querySelector("#breakdown-table tbody"));
    (p.breakdown || []).forEach(function (c) {
      bd.append(el("tr", null,
        el("td", { text: c.criterion.replace(/_/g, " ") }),
        el("td", { className: "num", text: LW.fmt(c.score, 2) }),
        el("td", { className: "num", text: LW.fmt(c.weight, 0) }),
        el("td", { className: "num", text: LW.fmt(c.points, 1) }),
        el("td", { text: c.reason })));
    });
    bd.append(el("tr", null, el("th", { text: "total" }), el("td"), el("td"),
      el("th", { className: "num", text: LW.fmt(p.score, 1) }), el("td", { text: p.tier_label || "" })));

    var audit = LW.clear(document.querySelector("#audit-table tbody"));
    (r.events || []).forEach(function (e) {
      audit.append(el("tr", null,
        el("td", { text: LW.fmtTime(e.at) }),
        el("td", { text: e.actor }),
        el("td", { text: e.action.replace("_", " ") }),
        el("td", { text: (e.from_status || "–") + " → " + e.to_status }),
        el("td", { text: e.note })));
    });

    var actions = isModerator() ? r.allowed_actions || [] : [];
    LW.clear(actionSelect);
    actions.forEach(function (a) {
      actionSelect.append(el("option", { value: a, text: a }));
    });
    actionForm.hidden = !actions.length;
    LW.clearErrors(actionForm);
    showActionFields();

    clearTimeout(timer);
    if (r.status === "in_progress" && r.job_id) {
      timer = setTimeout(function () {
        show(r.id, true);
      }, 2000);
    }
  }

  function show(id, quiet) {
    LW.api("/requests/" + encodeURIComponent(id), { auth: true })
      .then(function (r) {
        if (!r.ok) {
          if (quiet) return;
          panel.hidden = false;
          LW.clear(document.getElementById("request-fields")).append(
            el("p", { className: "error-text", text: ((r.data && r.data.detail) || "HTTP " + r.status) })
          );
          return;
        }
        var before = current === r.data.id ? document.getElementById("request-status").textContent : null;
        render(r.data);
        if (!quiet) {
          history.replaceState(null, "", "#request=" + r.data.id);
          panel.scrollIntoView({ block: "start" });
        } else if (before !== null && before !== r.data.status.replace("_", " ")) {
          loadQueue();
        }
      })
      .catch(function () {
        if (quiet) timer = setTimeout(function () { show(id, true); }, 5000);
      });
  }

  /* ------------------------------------------------------------ moderation */

  function showActionFields() {
    var action = actionSelect.value;
    actionForm.querySelectorAll("[data-for]").forEach(function (node) {
      node.hidden = node.getAttribute("data-for").split(" ").indexOf(action) < 0;
    });
  }

  actionSelect.addEventListener("change", showActionFields);

  actionForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (current === null) return;
    var action = actionSelect.value;
    var body = {};
    if (action === "reject") body.reason = val(actionForm, "reason");
    else body.note = val(actionForm, "note");
    if (action === "deliver") {
      body.links = val(actionForm, "links").split(/\n+/).map(function (s) {
        return s.trim();
      }).filter(Boolean);
    }
    if (action === "triage") {
      RUNS.forEach(function (name) {
        var v = val(actionForm, name);
        if (v) body[name] = v;
      });
    }
    var button = document.getElementById("action-submit");
    button.disabled = true;
    LW.clearErrors(actionForm);
    LW.api("/requests/" + current + "/" + action, { method: "POST", body: body })
      .then(function (r) {
        if (!r.ok) {
          LW.showErrors(actionForm, r.status, r.data);
          return;
        }
        actionForm.reset();
        render(r.data);
        loadQueue();
      })
      .catch(function (err) {
        LW.showErrors(actionForm, 0, { detail: "could not reach the server: " + err.message });
      })
      .then(function () {
        button.disabled = false;
      });
  });

  /* ------------------------------------------------------------ start */

  function loadRuns() {
    LW.get("/runs")
      .then(function (runs) {
        var list = LW.clear(document.getElementById("run-ids"));
        (runs || []).forEach(function (run) {
          list.append(el("option", { value: run.id, text: (run.workflow || "") + " · " + (run.title || run.id) }));
        });
      })
      .catch(function () {
        /* no run list: ids are typed */
      });
  }

  function whoAmI(retry) {
    role = null;
    if (!LW.token()) return Promise.resolve();
    return LW.api("/users/me", { auth: true })
      .then(function (r) {
        if (r.status >= 500 && retry !== false) {
          // e.g. a busy database while the token box asks the same: ask once more
          return new Promise(function (done) {
            setTimeout(done, 400);
          }).then(function () {
            return whoAmI(false);
          });
        }
        role = r.ok && r.data ? r.data.role : null;
      })
      .catch(function () {
        role = null;
      });
  }

  function start() {
    whoAmI().then(function () {
      loadQueue();
      var wanted = new URLSearchParams(location.hash.replace(/^#/, "")).get("request");
      if (wanted) show(wanted);
      else if (current !== null) show(current, true);
    });
  }

  document.getElementById("queue-refresh").addEventListener("click", loadQueue);
  document.getElementById("queue-status").addEventListener("change", loadQueue);
  document.addEventListener("lw:token", start);
  loadRuns();
  start();
})();
