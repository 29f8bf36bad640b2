// earshot listening test: the join page. A participant's session token is kept in
// localStorage, so coming back to the link resumes the same session.
"use strict";
(function () {
  const experiment = document.body.dataset.experiment;
  const slot = `earshot:session:${experiment}`;
  const start = document.getElementById("start");
  const error = document.getElementById("error");
  const saved = localStorage.getItem(slot);

  if (saved) {
    document.getElementById("resume").hidden = false;
    document.getElementById("resume-link").href = saved;
    start.textContent = "Start again as a new participant";
  }

  start.onclick = async () => {
    start.disabled = true;
    error.hidden = true;
    try {
      const r = await fetch(`/api/e/${encodeURIComponent(experiment)}/join`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: "{}",
      });
      const body = await r.json();
      if (!r.ok) throw new Error(body.detail || r.statusText);
      localStorage.setItem(slot, body.url);
      window.location.assign(body.url);
    } catch (err) {
      error.textContent = `Could not start: ${err.message}`;
      error.hidden = false;
      start.disabled = false;
    }
  };
})();
