"""DPAM's adaptive level selection for just-noticeable-difference judgments.

A JND sequence walks one segment of perturbation space in ``n_levels`` steps: level 0 is
the reference itself (an identical pair), level ``n_levels - 1`` the far end of the segment.
A listener answers, for each presented level, whether the pair is "exactly identical" or
"different". Following Manocha et al. (Interspeech 2020, "A Differentiable Perceptual Audio
Metric Learned from Just Noticeable Differences"), the next level is chosen from a fitted
psychometric function:

    P(different | level) = lapse + (1 - 2 * lapse) * Phi((level - mu) / sigma)

``mu`` (the threshold, in levels) and ``sigma`` (the width) are the maximum a-posteriori fit of
a recency-weighted likelihood (answer ``i`` of ``n`` has weight ``recency ** (n - 1 - i)``, so
a listener who warms up or tires is tracked) plus a Gaussian prior that shrinks ``mu`` toward
``prior_mu`` and ``log sigma`` toward ``log prior_sigma``. The fit is a deterministic grid
search, so it is exact to the grid and never fails to converge.

Each sequence begins with two catch trials: an identical pair (level 0) and the maximal one
(level ``n_levels - 1``). A listener who calls the identical pair different, or the maximal one
identical, fails the check (`checks_failed`); the web app and the simulated listener use that
to discard unreliable sequences. After the checks, levels are drawn around the current fit,
``round(mu + sigma * z)`` with ``z ~ N(0, 1)`` from the seeded generator, which samples where
the psychometric curve is steepest.

The state (settings, answers, generator state) round-trips through JSON via `state_dict` and
`from_state`, so a web server can keep one staircase per listener session between requests.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

from earshot.errors import ConfigError, DataError

_STATE_VERSION = 1


class AdaptiveStaircase:
    """Adaptive JND level selection (DPAM): Gaussian-CDF fit, recency weights, prior shrinkage.

    Args:
        n_levels: number of levels along the segment (0 = identical pair; ``n_levels - 1`` = maximal).
        prior_mu: prior threshold in levels (default: the middle of the segment).
        prior_sigma: prior psychometric width in levels (default: ``n_levels / 8``).
        recency: weight decay per answer, in (0, 1]; 1 weighs every answer equally.
        seed: seed of the generator that draws levels around the fit.
        prior_strength: how strongly the fit is shrunk to the prior (0 = no prior).
        lapse: rate of answers that ignore the stimulus, in [0, 0.5).

    Example:
        >>> s = AdaptiveStaircase(seed=0)
        >>> s.next_level(), s.update(0, False), s.next_level()
        (0, None, 63)
    """

    def __init__(
        self,
        *,
        n_levels: int = 64,
        prior_mu: float | None = None,
        prior_sigma: float | None = None,
        recency: float = 0.9,
        seed: int | None = None,
        prior_strength: float = 1.0,
        lapse: float = 0.02,
    ) -> None:
        if int(n_levels) != n_levels or n_levels < 3:
            raise ConfigError(f"n_levels must be an integer >= 3, got {n_levels!r}")
        self.n_levels = int(n_levels)
        self.prior_mu = float((self.n_levels - 1) / 2 if prior_mu is None else prior_mu)
        self.prior_sigma = float(self.n_levels / 8 if prior_sigma is None else prior_sigma)
        if self.prior_sigma <= 0:
            raise ConfigError(f"prior_sigma must be > 0, got {prior_sigma!r}")
        if not 0 < recency <= 1:
            raise ConfigError(f"recency must be in (0, 1], got {recency!r}")
        if prior_strength < 0:
            raise ConfigError(f"prior_strength must be >= 0, got {prior_strength!r}")
        if not 0 <= lapse < 0.5:
            raise ConfigError(f"lapse must be in [0, 0.5), got {lapse!r}")
        self.recency = float(recency)
        self.seed = seed
        self.prior_strength = float(prior_strength)
        self.lapse = float(lapse)
        self.levels: list[int] = []
        self.answers: list[bool] = []
        self._rng = np.random.default_rng(seed)

    # -- the procedure -----------------------------------------------------------------------
    def next_level(self) -> int:
        """The level to present next: 0, then ``n_levels - 1`` (the checks), then around the fit."""
        n = len(self.levels)
        if n == 0:
            return 0
        if n == 1:
            return self.n_levels - 1
        mu, sigma = self.fit()
        level = int(round(mu + sigma * float(self._rng.standard_normal())))
        return min(max(level, 1), self.n_levels - 1)

    def update(self, level: int, different: bool) -> None:
        """Record the listener's answer (``different=True``: "different") for ``level``."""
        if isinstance(level, bool) or int(level) != level or not 0 <= level < self.n_levels:
            raise DataError(f"level must be an integer in [0, {self.n_levels - 1}], got {level!r}")
        self.levels.append(int(level))
        self.answers.append(bool(different))

    def fit(self) -> tuple[float, float]:
        """MAP ``(mu, sigma)`` of the psychometric function, in levels (the prior if no answers)."""
        mu_grid, sigma_grid = self._grids()
        log_post = self._log_prior(mu_grid, sigma_grid)
        if self.levels:
            x = np.asarray(self.levels, dtype=np.float64)
            y = np.asarray(self.answers, dtype=np.float64)
            w = self.recency ** np.arange(len(x) - 1, -1, -1, dtype=np.float64)
            z = (x[None, None, :] - mu_grid[:, None, None]) / sigma_grid[None, :, None]
            p = self.lapse + (1 - 2 * self.lapse) * ndtr(z)
            p = np.clip(p, 1e-9, 1 - 1e-9)
            log_post = log_post + (w * (y * np.log(p) + (1 - y) * np.log1p(-p))).sum(-1)
        i, j = np.unravel_index(int(np.argmax(log_post)), log_post.shape)
        return float(mu_grid[i]), float(sigma_grid[j])

    def p_different(self, level: float) -> float:
        """P("different") at ``level`` under the current fit."""
        mu, sigma = self.fit()
        return float(self.lapse + (1 - 2 * self.lapse) * ndtr((level - mu) / sigma))

    @property
    def n_trials(self) -> int:
        return len(self.levels)

    @property
    def checks_failed(self) -> bool:
        """True if the listener called an identical pair different or a maximal pair identical."""
        for level, diff in zip(self.levels, self.answers):
            if (level == 0 and diff) or (level == self.n_levels - 1 and not diff):
                return True
        return False

    # -- internals ---------------------------------------------------------------------------
    def _grids(self) -> tuple[np.ndarray, np.ndarray]:
        top = self.n_levels - 1
        mu_grid = np.linspace(-0.25 * top, 1.25 * top, 3 * top + 1)
        sigma_grid = np.geomspace(0.25, float(self.n_levels), 32)
        return mu_grid, sigma_grid

    def _log_prior(self, mu_grid: np.ndarray, sigma_grid: np.ndarray) -> np.ndarray:
        spread_mu = self.n_levels / 4
        a = ((mu_grid - self.prior_mu) / spread_mu) ** 2
        b = ((np.log(sigma_grid) - math.log(self.prior_sigma)) / math.log(2.0)) ** 2
        return -0.5 * self.prior_strength * (a[:, None] + b[None, :])

    # -- persistence -------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """JSON-serialisable state: settings, answers so far, and the generator state."""
        return {
            "version": _STATE_VERSION,
            "n_levels": self.n_levels,
            "prior_mu": self.prior_mu,
            "prior_sigma": self.prior_sigma,
            "recency": self.recency,
            "seed": self.seed,
            "prior_strength": self.prior_strength,
            "lapse": self.lapse,
            "levels": list(self.levels),
            "answers": list(self.answers),
            "rng": self._rng.bit_generator.state,
        }

    @classmethod
    def from_state(cls, state: dict) -> "AdaptiveStaircase":
        """Rebuild a staircase from `state_dict` output (e.g. after ``json.loads``)."""
        try:
            if state.get("version") != _STATE_VERSION:
                raise DataError(f"unknown staircase state version {state.get('version')!r}")
            obj = cls(
                n_levels=state["n_levels"], prior_mu=state["prior_mu"],
                prior_sigma=state["prior_sigma"], recency=state["recency"], seed=state["seed"],
                prior_strength=state["prior_strength"], lapse=state["lapse"],
            )
            for level, diff in zip(state["levels"], state["answers"], strict=True):
                obj.update(level, diff)
            obj._rng.bit_generator.state = state["rng"]
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"malformed staircase state: {exc}") from exc
        return obj

    def __repr__(self) -> str:
        return f"AdaptiveStaircase(n_levels={self.n_levels}, trials={self.n_trials})"
