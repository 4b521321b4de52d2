"""Vectorised draws shared by the cohort generators.

Correlation is built with Gaussian latents: a field is a monotone transform of a standard-normal
latent that mixes shared factors (skin severity, inflammation, ...) with its own noise. Every
helper takes the latent rather than drawing by rejection, so the number of random numbers used
never depends on parameter values and two scenarios with one seed stay paired.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr, ndtri

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]


def mix(rng: np.random.Generator, shared: FloatArray, rho: float) -> FloatArray:
    """A standard-normal latent with correlation ``rho`` to ``shared`` (itself standard normal)."""
    own = rng.standard_normal(len(shared))
    return rho * shared + np.sqrt(1.0 - rho**2) * own


def truncated_normal(
    latent: FloatArray, mean: ArrayLike, sd: float, low: float, high: float
) -> FloatArray:
    """Normal(mean, sd) truncated to [low, high], by inverse CDF of a standard-normal latent."""
    mean_arr = np.asarray(mean, dtype=float)
    lower = ndtr((low - mean_arr) / sd)
    upper = ndtr((high - mean_arr) / sd)
    u = lower + ndtr(latent) * (upper - lower)
    # Guard the open interval so ndtri never returns +-inf at the truncation points.
    u = np.clip(u, 1e-12, 1.0 - 1e-12)
    return np.clip(mean_arr + sd * ndtri(u), low, high)


def lognormal(
    latent: FloatArray, median: float, sigma: float, low: float, high: float
) -> FloatArray:
    """Log-normal with the given median and log-scale SD, clipped to [low, high]."""
    return np.clip(median * np.exp(sigma * latent), low, high)


def binary(latent: FloatArray, prevalence: float) -> BoolArray:
    """True for the top ``prevalence`` fraction of the latent: exact marginal, ordered by latent."""
    return np.asarray(latent > ndtri(1.0 - prevalence), dtype=bool)


def ordinal(latent: FloatArray, probabilities: tuple[float, ...], start: int = 0) -> IntArray:
    """Ordered categories start, start+1, ... with the given marginal probabilities."""
    cuts = ndtri(np.cumsum(probabilities)[:-1])
    return np.searchsorted(cuts, latent).astype(np.int64) + start


def categorical(
    rng: np.random.Generator, n: int, labels: tuple[str, ...], probabilities: tuple[float, ...]
) -> NDArray[np.object_]:
    """Unordered labels drawn independently with the given probabilities."""
    index = np.searchsorted(np.cumsum(probabilities), rng.uniform(size=n), side="right")
    return np.asarray(labels, dtype=object)[np.minimum(index, len(labels) - 1)]


def round_to(values: FloatArray, step: float, low: float, high: float) -> FloatArray:
    """Round half up to a multiple of ``step`` and clip to [low, high]."""
    # The final round removes binary noise (39 * 0.1 = 3.9000000000000004) from CSV output.
    return np.clip(np.round(np.floor(values / step + 0.5) * step, 10), low, high)


def standardise(values: FloatArray) -> FloatArray:
    """Centre and scale to unit SD within the cohort (a constant column becomes zeros)."""
    sd = float(np.std(values))
    return (values - np.mean(values)) / sd if sd > 0 else np.zeros_like(values)
