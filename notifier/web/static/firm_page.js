// The firm's policy page: once it has loaded, tell the server a person's browser showed it.
// One same-origin post carrying the page's CSRF value; a link preview or a scanner that fetches
// the page without running it records nothing. The page works the same without this script.
(function () {
  "use strict";
  var page = document.getElementById("firm-page");
  if (!page || !window.fetch || !window.URLSearchParams) {
    return;
  }
  function beacon() {
    var body = new URLSearchParams();
    body.set("csrf", page.getAttribute("data-csrf"));
    fetch(page.getAttribute("data-beacon"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      keepalive: true
    }).catch(function () {});
  }
  if (document.readyState === "complete") {
    beacon();
  } else {
    window.addEventListener("load", beacon);
  }
})();
