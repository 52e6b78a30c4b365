/* landwatch dashboard: helpers shared by every page (no third-party code).
 *
 * LW.api(path, options)   fetch the JSON API (always Accept: application/json);
 *                         writes carry the token kept in sessionStorage.
 * LW.el(tag, attrs, ...)  build DOM nodes; text is set as text, never as HTML.
 * LW.showErrors(form, body) put a 422 answer's field errors next to the fields.
 */
(function () {
  "use strict";

  var TOKEN_KEY = "landwatch.token";
  var root = document.body.getAttribute("data-root") || "";
  var LW = (window.LW = {});

  LW.url = function (path) {
    return root + path;
  };

  LW.token = function () {
    try {
      return window.sessionStorage.getItem(TOKEN_KEY) || "";
    } catch (e) {
      return "";
    }
  };

  LW.setToken = function (token) {
    try {
      if (token) window.sessionStorage.setItem(TOKEN_KEY, token);
      else window.sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) {
      /* storage disabled: the token lives until the page is left */
    }
  };

  /** Encode a layer id ("run/maps/report_2/sdg") for a URL path, keeping its slashes. */
  LW.idPath = function (id) {
    return String(id).split("/").map(encodeURIComponent).join("/");
  };

  LW.qs = function (params) {
    var parts = [];
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      if (v === null || v === undefined || v === "") return;
      parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(v));
    });
    return parts.length ? "?" + parts.join("&") : "";
  };

  function ApiError(status, body) {
    var detail = body && typeof body === "object" ? body.detail : body;
    this.name = "ApiError";
    this.status = status;
    this.body = body;
    this.message = (detail ? String(detail) : "request failed") + " (HTTP " + status + ")";
  }
  ApiError.prototype = Object.create(Error.prototype);
  LW.ApiError = ApiError;

  /**
   * Call the JSON API. Resolves to {ok, status, data, headers}; network errors reject.
   * options: method, body (object -> JSON, FormData as is), auth (send the token on a
   * read too; writes always send it when there is one).
   */
  LW.api = function (path, options) {
    options = options || {};
    var method = options.method || "GET";
    var headers = { Accept: "application/json" };
    var token = LW.token();
    if (token && (options.auth || method !== "GET")) headers.Authorization = "Bearer " + token;
    var body = options.body;
    if (body !== undefined && !(body instanceof FormData)) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(body);
    }
    return fetch(LW.url(path), { method: method, headers: headers, body: body }).then(
      function (r) {
        var type = r.headers.get("content-type") || "";
        var read = type.indexOf("json") >= 0 ? r.json() : r.text();
        return read
          .catch(function () {
            return null;
          })
          .then(function (data) {
            return { ok: r.ok, status: r.status, data: data, headers: r.headers };
          });
      }
    );
  };

  /** GET the JSON API; resolves to the body, rejects with LW.ApiError. */
  LW.get = function (path, options) {
    return LW.api(path, options).then(function (r) {
      if (!r.ok) throw new ApiError(r.status, r.data);
      return r.data;
    });
  };

  LW.el = function (tag, attrs) {
    var node = document.createElement(tag);
    attrs = attrs || {};
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") node.textContent = v;
      else if (k === "className") node.className = v;
      else if (k === "style") node.style.cssText = v;
      else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    });
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) {
        child.forEach(function (c) {
          if (c !== null && c !== undefined) node.append(c);
        });
      } else node.append(child);
    }
    return node;
  };

  LW.clear = function (node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  };

  LW.fmt = function (value, digits) {
    if (value === null || value === undefined || value === "") return "–";
    var n = Number(value);
    if (!isFinite(n)) return String(value);
    if (digits === undefined) digits = Math.abs(n) >= 100 ? 1 : Math.abs(n) >= 1 ? 2 : 3;
    return n.toLocaleString(undefined, { maximumFractionDigits: digits });
  };

  LW.fmtTime = function (iso) {
    if (!iso) return "–";
    if (/^\d{4}(-\d{2}){0,2}$/.test(String(iso))) return String(iso); // a year, month or day
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    return d.toISOString().replace("T", " ").slice(0, 16) + " UTC";
  };

  /* ------------------------------------------------------------ field errors */

  /** The element that shows errors of `field` ("sources[0].url" falls back to
   * "sources[0]", then "sources"), or null. */
  function errorSlot(form, field) {
    var path = String(field || "");
    while (path) {
      var slot = form.querySelector('[data-error-for="' + CSS.escape(path) + '"]');
      if (slot) return slot;
      var cut = Math.max(path.lastIndexOf("."), path.lastIndexOf("["));
      if (cut <= 0) break;
      path = path.slice(0, cut);
    }
    return null;
  }

  LW.clearErrors = function (form) {
    form.querySelectorAll("[data-error-for]").forEach(function (slot) {
      slot.textContent = "";
      slot.hidden = true;
    });
    form.querySelectorAll("[aria-invalid]").forEach(function (input) {
      input.removeAttribute("aria-invalid");
    });
    var box = form.querySelector(".form-errors");
    if (box) {
      LW.clear(box);
      box.hidden = true;
    }
  };

  /** Show an error answer of the API next to the fields it names; what names no field
   * goes to the form's .form-errors box. Returns the number of errors shown. */
  LW.showErrors = function (form, status, body) {
    LW.clearErrors(form);
    var box = form.querySelector(".form-errors");
    var errors = body && Array.isArray(body.errors) ? body.errors : [];
    var general = [];
    if (!errors.length) {
      var detail = body && typeof body === "object" ? body.detail : body;
      general.push((detail || "the request failed") + " (HTTP " + status + ")");
      if (status === 401 || status === 403) {
        general.push("Type a token with the contributor role into the Token box at the top.");
      }
    }
    var first = null;
    errors.forEach(function (e) {
      var field = e.field || "";
      var slot = field ? errorSlot(form, field) : null;
      var input = field ? form.querySelector('[data-field="' + CSS.escape(field) + '"]') : null;
      if (input) {
        input.setAttribute("aria-invalid", "true");
        first = first || input;
      }
      if (slot) {
        var text = slot.getAttribute("data-error-for") === field ? e.message : field + ": " + e.message;
        slot.textContent = slot.textContent ? slot.textContent + " " + text : text;
        slot.hidden = false;
        first = first || slot;
      } else {
        general.push((field ? field + ": " : "") + e.message);
      }
    });
    if (box && general.length) {
      general.forEach(function (msg) {
        box.append(LW.el("p", { text: msg }));
      });
      box.hidden = false;
      first = first || box;
    }
    if (first && first.scrollIntoView) first.scrollIntoView({ block: "center" });
    if (first && first.focus && first.matches("input, select, textarea")) first.focus();
    return errors.length || general.length;
  };

  /** Number from an input's text: "" -> null, a number -> Number, else the text (so the
   * API can say what is wrong with it). */
  LW.num = function (text) {
    var t = String(text === undefined || text === null ? "" : text).trim();
    if (!t) return null;
    var n = Number(t.replace(",", "."));
    return isFinite(n) ? n : t;
  };

  /* ------------------------------------------------------------ token box */

  function initTokenBox() {
    var form = document.getElementById("token-box");
    if (!form) return;
    var input = document.getElementById("token-input");
    var status = document.getElementById("token-status");
    var clearBtn = document.getElementById("token-clear");

    function show() {
      var token = LW.token();
      input.value = "";
      input.placeholder = token ? "token saved (" + token.slice(0, 8) + "…)" : "API token (lw_...)";
      if (!token) {
        status.textContent = "reading only";
        status.className = "token-status muted";
        return;
      }
      status.textContent = "checking…";
      LW.api("/users/me", { auth: true })
        .then(function (r) {
          if (r.ok && r.data && r.data.name) {
            status.textContent = r.data.name + " (" + r.data.role + ")";
            status.className = "token-status ok";
          } else if (r.status === 401) {
            status.textContent = "token refused";
            status.className = "token-status bad";
          } else {
            status.textContent = "token saved";
            status.className = "token-status ok";
          }
        })
        .catch(function () {
          status.textContent = "token saved";
          status.className = "token-status";
        });
    }

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var token = input.value.trim();
      if (token) LW.setToken(token);
      show();
      document.dispatchEvent(new CustomEvent("lw:token"));
    });
    clearBtn.addEventListener("click", function () {
      LW.setToken("");
      show();
      document.dispatchEvent(new CustomEvent("lw:token"));
    });
    show();
  }

  initTokenBox();
})();
