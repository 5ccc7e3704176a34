// The queue: Enter starts reviewing the first open sheet (unless typing in a filter).
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    const start = document.getElementById("start");
    const inForm = event.target && event.target.closest && event.target.closest("form");
    if (event.key === "Enter" && start && !inForm) {
      event.preventDefault();
      window.location.assign(start.href);
    }
  });
})();
