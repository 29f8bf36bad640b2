// earshot listening test: sample-accurate playback with the Web Audio API.
// play([a, b], gapMs) schedules the sounds back to back with gapMs of silence between them
// and resolves when the last one ends (or is stopped by a newer play()).
"use strict";
window.Earshot = window.Earshot || {};
(function (E) {
  class Player {
    constructor() {
      this.ctx = null;
      this.buffers = new Map();
      this.sources = [];
    }

    context() {
      if (!this.ctx) this.ctx = new (window.AudioContext || window.webkitAudioContext)();
      return this.ctx;
    }

    async load(url) {
      if (this.buffers.has(url)) return this.buffers.get(url);
      const response = await fetch(url, { cache: "no-store", credentials: "same-origin" });
      if (!response.ok) throw new Error(`could not load a sound (${response.status})`);
      const data = await response.arrayBuffer();
      const buffer = await this.context().decodeAudioData(data);
      this.buffers.set(url, buffer);
      return buffer;
    }

    preload(urls) {
      return Promise.all(urls.map((u) => this.load(u)));
    }

    stop() {
      for (const s of this.sources) {
        try { s.stop(); } catch (e) { /* already stopped */ }
      }
      this.sources = [];
    }

    forget() {
      this.stop();
      this.buffers.clear();
    }

    async play(urls, gapMs) {
      const ctx = this.context();
      if (ctx.state === "suspended") await ctx.resume();
      const buffers = await this.preload(urls);
      this.stop();
      let t = ctx.currentTime + 0.05;
      return new Promise((resolve) => {
        buffers.forEach((buffer, i) => {
          const source = ctx.createBufferSource();
          source.buffer = buffer;
          source.connect(ctx.destination);
          source.start(t);
          t += buffer.duration + (gapMs || 0) / 1000;
          if (i === buffers.length - 1) source.onended = () => resolve();
          this.sources.push(source);
        });
      });
    }
  }

  E.Player = Player;
})(window.Earshot);
