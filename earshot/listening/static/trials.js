// earshot listening test: one renderer per trial kind. A renderer sets up its <section>
// for a trial and calls ctx.submit(response) when the participant answers. ctx.played()
// counts a press of a play button; answers unlock once every sound was played.
"use strict";
window.Earshot = window.Earshot || {};
(function (E) {
  function enable(buttons, on) {
    buttons.forEach((b) => { b.disabled = !on; });
  }

  // volume, headphone check and JND pairs: one Play button, fixed answer buttons.
  function simple(section, trial, ctx) {
    const play = section.querySelector(".play");
    const answers = Array.from(section.querySelectorAll(".answer"));
    const plays = section.querySelector(".plays");
    const title = section.querySelector(".phase-title");
    const question = section.querySelector(".question");
    if (title) {
      title.textContent = { pretest: "Listening pretest", warmup: "Practice" }[trial.phase] || "Same or different?";
    }
    if (question) question.textContent = trial.question || "";
    enable(answers, false);
    play.disabled = false;
    let count = 0;
    if (plays) plays.textContent = "";
    play.onclick = async () => {
      play.disabled = true;
      ctx.played();
      count += 1;
      try {
        await ctx.player.play(trial.audio, trial.gap_ms || 0);
      } catch (err) {
        ctx.fail(err);
      }
      if (plays) plays.textContent = count === 1 ? "played once" : `played ${count} times`;
      play.textContent = trial.kind === "jnd" ? "Play the pair again" : "Play again";
      play.disabled = false;
      enable(answers, true);
    };
    play.textContent = trial.kind === "jnd" ? "Play the pair" : "Play";
    answers.forEach((b) => {
      b.onclick = () => ctx.submit(JSON.parse(b.dataset.response), 1);
    });
  }

  function ab(section, trial, ctx) {
    section.querySelector(".question").textContent = trial.question || "";
    const players = section.querySelector(".ab-players");
    const choices = section.querySelector(".choices");
    players.replaceChildren();
    choices.replaceChildren();
    const heard = new Set();
    const answerButtons = [];
    const choiceTemplate = document.getElementById("ab-choice");
    const options = trial.stimuli.map((s) => [s.label, `Prefer ${s.label}`]);
    if (trial.no_preference) options.push(["none", "No preference"]);
    for (const [value, text] of options) {
      const b = choiceTemplate.content.firstElementChild.cloneNode(true);
      b.textContent = text;
      b.dataset.choice = value;
      b.onclick = () => ctx.submit({ choice: value }, trial.stimuli.length);
      choices.appendChild(b);
      answerButtons.push(b);
    }
    for (const s of trial.stimuli) {
      const b = document.getElementById("ab-player").content.firstElementChild.cloneNode(true);
      b.textContent = `Play ${s.label}`;
      b.dataset.label = s.label;
      b.onclick = () => {
        ctx.played();
        heard.add(s.id);
        if (heard.size === trial.stimuli.length) enable(answerButtons, true);
        ctx.player.play([s.url], 0).catch((err) => ctx.fail(err));
      };
      players.appendChild(b);
    }
  }

  function mushra(section, trial, ctx) {
    section.querySelector(".question").textContent = trial.question || "";
    const rows = section.querySelector(".mushra-rows");
    const submit = section.querySelector(".submit");
    const reference = section.querySelector(".play-reference");
    rows.replaceChildren();
    submit.disabled = true;
    reference.disabled = false;
    const heard = new Set();
    const sliders = {};
    reference.onclick = () => {
      ctx.played();
      ctx.player.play([trial.reference], 0).catch((err) => ctx.fail(err));
    };
    for (const s of trial.stimuli) {
      const row = document.getElementById("mushra-row").content.firstElementChild.cloneNode(true);
      const play = row.querySelector(".play-one");
      const slider = row.querySelector("input");
      const out = row.querySelector("output");
      play.textContent = s.label;
      row.dataset.label = s.label;
      slider.setAttribute("aria-label", `rating of ${s.label}`);
      slider.oninput = () => { out.textContent = slider.value; };
      play.onclick = () => {
        ctx.played();
        heard.add(s.id);
        slider.disabled = false;
        if (heard.size === trial.stimuli.length) submit.disabled = false;
        ctx.player.play([s.url], 0).catch((err) => ctx.fail(err));
      };
      sliders[s.id] = slider;
      rows.appendChild(row);
    }
    submit.onclick = () => {
      const ratings = {};
      for (const [id, slider] of Object.entries(sliders)) ratings[id] = Number(slider.value);
      ctx.submit({ ratings }, trial.stimuli.length);
    };
  }

  E.trials = { volume: simple, headphone: simple, jnd: simple, ab, mushra };
})(window.Earshot);
