/* landwatch dashboard: launch a process (GET /processes, POST /processes/{id}/execution)
 * and follow its job (GET /jobs/{id} every second: progress bar, log, results). */
(function () {
  "use strict";

  var LW = window.LW;
  var el = LW.el;
  var TERMINAL = { successful: true, failed: true, dismissed: true };

  var form = document.getElementById("job-form");
  var select = document.getElementById("process-select");
  var inputsBox = document.getElementById("job-inputs");
  var submit = document.getElementById("job-submit");
  var panel = document.getElementById("job-panel");
  var following = null;
  var timer = null;

  /* ------------------------------------------------------------ processes */

  function placeholder(schema) {
    schema = schema || {};
    if (schema.default !== undefined) return schema.default;
    if (schema.example !== undefined) return schema.example;
    if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
    var type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
    if (type === "array") return [];
    if (type === "object") return {};
    if (type === "number" || type === "integer") return 0;
    if (type === "boolean") return false;
    return "";
  }

  function showProcess(id) {
    var desc = document.getElementById("process-description");
    var list = LW.clear(document.getElementById("process-inputs"));
    desc.textContent = "Loading…";
    LW.get("/processes/" + encodeURIComponent(id))
      .then(function (p) {
        desc.textContent = p.description || p.title || "";
        var inputs = p.inputs || {};
        var template = {};
        Object.keys(inputs).forEach(function (name) {
          var inp = inputs[name] || {};
          var schema = inp.schema || {};
          var required = inp.minOccurs === undefined ? schema.default === undefined : inp.minOccurs > 0;
          if (required || schema.default !== undefined) template[name] = placeholder(schema);
          var type = schema.type ? " (" + [].concat(schema.type).join(" | ") + ")" : "";
          list.append(
            el("div", { className: "kv-row" }, el("dt", { text: name + (required ? " *" : "") }),
              el("dd", { text: (inp.title || "") + type + (inp.description ? ": " + inp.description : "") }))
          );
        });
        inputsBox.value = JSON.stringify(template, null, 2);
      })
      .catch(function (err) {
        desc.textContent = "Could not describe the process: " + err.message;
      });
  }

  function loadProcesses() {
    LW.get("/processes")
      .then(function (data) {
        var processes = (data && data.processes) || [];
        LW.clear(select);
        if (!processes.length) {
          form.hidden = true;
          document.getElementById("processes-empty").hidden = false;
          return;
        }
        processes.forEach(function (p) {
          select.append(el("option", { value: p.id, text: p.id + (p.title ? " · " + p.title : "") }));
        });
        select.disabled = false;
        submit.disabled = false;
        var wanted = new URLSearchParams(location.hash.replace(/^#/, "")).get("process");
        if (wanted) select.value = wanted;
        showProcess(select.value);
      })
      .catch(function (err) {
        form.hidden = true;
        document.getElementById("processes-empty").hidden = false;
        document.getElementById("processes-empty-detail").textContent = "Could not read /processes: " + err.message;
      });
  }

  select.addEventListener("change", function () {
    showProcess(select.value);
  });

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    LW.clearErrors(form);
    var inputs;
    try {
      inputs = JSON.parse(inputsBox.value || "{}");
    } catch (e) {
      LW.showErrors(form, 422, { errors: [{ field: "inputs", message: "is not valid JSON: " + e.message }] });
      return;
    }
    submit.disabled = true;
    LW.api("/processes/" + encodeURIComponent(select.value) + "/execution", {
      method: "POST",
      body: { inputs: inputs },
    })
      .then(function (r) {
        if (!r.ok) {
          LW.showErrors(form, r.status, r.data);
          return;
        }
        var id = (r.data && r.data.jobID) || ((r.headers.get("location") || "").split("/").pop() || "");
        follow(id, r.data);
        loadJobs();
      })
      .catch(function (err) {
        LW.showErrors(form, 0, { detail: "could not reach the server: " + err.message });
      })
      .then(function () {
        submit.disabled = false;
      });
  });

  /* ------------------------------------------------------------ one job */

  function showStatus(job) {
    var status = job.status || "unknown";
    var badge = document.getElementById("job-status");
    badge.textContent = status;
    badge.className = "badge job-" + status;
    document.getElementById("job-id").textContent = (job.processID || "") + " · " + (job.jobID || following);
    var pct = Math.max(0, Math.min(100, Number(job.progress) || (status === "successful" ? 100 : 0)));
    document.getElementById("job-progress").value = pct;
    document.getElementById("job-percent").textContent = Math.round(pct) + " %";
    document.getElementById("job-message").textContent = job.message || "";
    var log = document.getElementById("job-log");
    var lines = Array.isArray(job.log) ? job.log : [];
    var atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.textContent = lines.join("\n");
    if (atEnd) log.scrollTop = log.scrollHeight;
    document.getElementById("job-cancel").hidden = !!TERMINAL[status];
  }

  function showResults(id) {
    var box = LW.clear(document.getElementById("job-results"));
    LW.get("/jobs/" + encodeURIComponent(id) + "/results", { auth: true })
      .then(function (data) {
        var outputs = (data && data.outputs) || [];
        if (!outputs.length) {
          box.append(el("p", { className: "muted", text: "The job wrote no files." }));
          return;
        }
        var list = el("ul", { className: "results" });
        outputs.forEach(function (o) {
          var href = String(o.href || "");
          var safe = /^(https?:\/\/|\/)/i.test(href) ? href : null;
          list.append(
            el("li", null, safe ? el("a", { href: safe, text: o.name }) : el("span", { text: o.name }),
              el("span", { className: "muted small", text: " " + (o.type || "") + (o.size ? ", " + LW.fmt(o.size / 1024, 0) + " KB" : "") }))
          );
        });
        box.append(el("h3", { text: "Results" }), list,
          el("p", { className: "small" }, el("a", { href: LW.url("/"), text: "See the layers of job-" + id + " on the map" })));
      })
      .catch(function (err) {
        box.append(el("p", { className: "error-text", text: "Results: " + err.message }));
      });
  }

  function poll() {
    var id = following;
    if (!id) return;
    LW.api("/jobs/" + encodeURIComponent(id), { auth: true })
      .then(function (r) {
        if (id !== following) return;
        if (!r.ok) {
          document.getElementById("job-message").textContent = (r.data && r.data.detail) || "HTTP " + r.status;
          if (r.status === 404 || r.status === 401 || r.status === 403) return;
        } else {
          showStatus(r.data);
          if (TERMINAL[r.data.status]) {
            if (r.data.status === "successful") showResults(id);
            loadJobs();
            return;
          }
        }
        timer = setTimeout(poll, 1000);
      })
      .catch(function () {
        timer = setTimeout(poll, 3000);
      });
  }

  function follow(id, initial) {
    if (!id) return;
    clearTimeout(timer);
    following = id;
    panel.hidden = false;
    LW.clear(document.getElementById("job-results"));
    document.getElementById("job-log").textContent = "";
    if (initial) showStatus(initial);
    history.replaceState(null, "", "#job=" + encodeURIComponent(id));
    poll();
    panel.scrollIntoView({ block: "start" });
  }

  document.getElementById("job-cancel").addEventListener("click", function () {
    if (!following) return;
    LW.api("/jobs/" + encodeURIComponent(following), { method: "DELETE" }).then(function (r) {
      if (!r.ok) document.getElementById("job-message").textContent = (r.data && r.data.detail) || "HTTP " + r.status;
      else showStatus(r.data);
    });
  });

  /* ------------------------------------------------------------ recent jobs */

  function loadJobs() {
    var table = document.getElementById("jobs-table");
    var empty = document.getElementById("jobs-empty");
    LW.get("/jobs?limit=20", { auth: true })
      .then(function (data) {
        var jobs = (data && data.jobs) || [];
        var body = LW.clear(table.querySelector("tbody"));
        jobs.forEach(function (job) {
          body.append(
            el(
              "tr",
              null,
              el("td", null, el("a", {
                href: "#job=" + encodeURIComponent(job.jobID),
                text: job.processID || job.jobID,
                onclick: function (ev) {
                  ev.preventDefault();
                  follow(job.jobID);
                },
              })),
              el("td", null, el("span", { className: "badge job-" + job.status, text: job.status })),
              el("td", { className: "num", text: job.progress !== undefined && job.progress !== null ? String(Math.round(job.progress)) : "" }),
              el("td", { text: LW.fmtTime(job.created) })
            )
          );
        });
        table.hidden = !jobs.length;
        empty.hidden = !!jobs.length;
      })
      .catch(function (err) {
        table.hidden = true;
        empty.hidden = false;
        empty.textContent = "Could not list jobs: " + err.message;
      });
  }

  document.getElementById("jobs-refresh").addEventListener("click", loadJobs);
  document.addEventListener("lw:token", loadJobs);

  loadProcesses();
  loadJobs();
  var resume = new URLSearchParams(location.hash.replace(/^#/, "")).get("job");
  if (resume) follow(resume);
})();
