// earshot listening test: the JSON API, with retries and idempotency keys.
// A POSTed answer carries an Idempotency-Key kept in sessionStorage until the server
// acknowledges it, so a retry (network error, reload) can never store an answer twice.
"use strict";
window.Earshot = window.Earshot || {};
(function (E) {
  const token = document.body.dataset.token;

  function newKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function request(method, url, body, headers) {
    let wait = 500;
    for (let attempt = 0; ; attempt++) {
      let response = null;
      try {
        response = await fetch(url, {
          method,
          headers: Object.assign({ "Content-Type": "application/json" }, headers || {}),
          body: body === undefined ? undefined : JSON.stringify(body),
          cache: "no-store",
          credentials: "same-origin",
        });
      } catch (err) {
        if (attempt >= 8) throw new Error("The server cannot be reached. Please check your connection and reload.");
      }
      if (response && response.ok) return response.json();
      if (response && response.status !== 429 && response.status < 500) {
        let detail = response.statusText;
        try { detail = (await response.json()).detail || detail; } catch (e) { /* not JSON */ }
        throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
      }
      if (attempt >= 8) throw new Error("The server is busy. Please reload the page in a moment.");
      const retryAfter = response ? Number(response.headers.get("Retry-After")) : 0;
      await sleep(retryAfter > 0 ? retryAfter * 1000 : wait);
      wait = Math.min(wait * 2, 8000);
    }
  }

  E.api = {
    token,
    state: () => request("GET", `/api/s/${token}/state`),
    async answer(trialId, response, extra) {
      const slot = `earshot:key:${trialId}`;
      let key = sessionStorage.getItem(slot);
      if (!key) {
        key = newKey();
        sessionStorage.setItem(slot, key);
      }
      const body = Object.assign({ trial: trialId, response }, extra || {});
      const reply = await request("POST", `/api/s/${token}/answer`, body, { "Idempotency-Key": key });
      sessionStorage.removeItem(slot);
      return reply;
    },
  };
})(window.Earshot);
