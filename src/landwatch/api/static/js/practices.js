/* landwatch dashboard: the knowledge-base search re-runs when a facet is ticked. */
(function () {
  "use strict";
  var form = document.getElementById("practice-search");
  if (!form) return;
  form.addEventListener("change", function (ev) {
    if (ev.target && ev.target.type === "checkbox") form.submit();
  });
})();
