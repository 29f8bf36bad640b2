// earshot listening test: the session controller. Shows the current trial from the server,
// posts the answer, then shows the next one. A reload asks the server where we are, so a
// session resumes exactly where it stopped.
"use strict";
(function (E) {
  const player = new E.Player();
  const error = document.getElementById("error");
  const progress = document.getElementById("progress");
  let busy = false;

  function fail(err) {
    error.textContent = err && err.message ? err.message : String(err);
    error.hidden = false;
  }

  function hideAll() {
    document.querySelectorAll("section.trial").forEach((s) => { s.hidden = true; });
    document.getElementById("loading").hidden = true;
  }

  function showFeedback(section, feedback) {
    const box = section.querySelector(".feedback");
    if (!box || !feedback) return Promise.resolve();
    box.querySelector(".feedback-text").textContent = feedback.correct
      ? `Correct: the two sounds were ${feedback.expected}.`
      : `Not quite: the two sounds were ${feedback.expected}.`;
    box.hidden = false;
    const next = box.querySelector(".continue");
    next.disabled = false;
    return new Promise((resolve) => {
      next.onclick = () => { box.hidden = true; resolve(); };
    });
  }

  function show(trial) {
    hideAll();
    player.forget();
    busy = false;
    if (trial.kind === "end") {
      progress.textContent = "";
      const section = document.getElementById("trial-end");
      section.querySelector(".end-message").textContent = trial.message;
      section.dataset.status = trial.status;
      section.hidden = false;
      return;
    }
    progress.textContent = `Trial ${trial.index} of ${trial.total}`;
    const section = document.getElementById(`trial-${trial.kind}`);
    section.dataset.trial = trial.id;
    section.dataset.phase = trial.phase;
    const started = performance.now();
    let plays = 0;
    const ctx = {
      player,
      fail,
      played: () => { plays += 1; },
      async submit(response, required) {
        if (busy) return;
        busy = true;
        section.querySelectorAll("button, input").forEach((el) => { el.disabled = true; });
        player.stop();
        try {
          const reply = await E.api.answer(trial.id, response, {
            replays: Math.max(0, plays - required),
            elapsed_ms: Math.round(performance.now() - started),
          });
          await showFeedback(section, reply.feedback);
          show(reply.next);
        } catch (err) {
          fail(err);
        }
      },
    };
    E.trials[trial.kind](section, trial, ctx);
    section.hidden = false;
  }

  E.api.state().then(show).catch(fail);
})(window.Earshot);
