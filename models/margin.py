"""Robustness margins: plan every kernel at a quantile of the runtime's latency noise.

The runtime (:mod:`xpuplan.runtime.platform_sim`) multiplies each kernel's duration by a
lognormal factor with mean 1 and coefficient of variation :math:`c`:
:math:`\\sigma^2 = \\ln(1 + c^2)`, :math:`\\mu = -\\sigma^2 / 2`. A :class:`Margin` plans each
kernel at the ``quantile`` :math:`q` of that factor,
:math:`F(q) = \\exp(\\mu + \\sigma\\,\\Phi^{-1}(q))` (the lognormal quantile function; Johnson,
Kotz & Balakrishnan, *Continuous Univariate Distributions* vol. 1, 2nd ed., ch. 14), so that each
planned slot holds its kernel's noisy run with probability :math:`q`.

The margin is a *planning* assumption only. :func:`inflate` gives the instance a plan is solved
on (every mode's duration ``ceil(duration * F(q))``, its power, demands, edges and deadlines
unchanged, so a power cap is checked over the longer interval); the workload the runtime executes
keeps its nominal durations. A :class:`xpuplan.models.plan.Plan` with a margin holds the nominal
instance and the margin, and derives the planned one (:attr:`Plan.planned_instance`).

Quantiles below the one of the mean (about 0.52 at :math:`c = 0.1`) give factors below 1: the plan
then assumes kernels faster than their nominal duration, which only makes sense to chart the
trade-off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from statistics import NormalDist
from typing import Any

from xpuplan.models.errors import InvalidInput
from xpuplan.models.instance import Instance, Kernel, Mode

#: The largest coefficient of variation a margin accepts (the simulator's ``--noise-cv`` bound).
MAX_NOISE_CV = 10.0


def lognormal_quantile(noise_cv: float, quantile: float) -> float:
    """The ``quantile`` of the runtime's latency factor (lognormal, mean 1, CV ``noise_cv``).

    Parameters
    ----------
    noise_cv
        Coefficient of variation, finite and >= 0 (0: no noise, the factor is exactly 1).
    quantile
        Probability in (0, 1).

    Returns
    -------
    float
        :math:`\\exp(\\mu + \\sigma\\,\\Phi^{-1}(q))` with :math:`\\sigma^2 = \\ln(1 + c^2)`,
        :math:`\\mu = -\\sigma^2/2`.

    Examples
    --------
    >>> round(lognormal_quantile(0.1, 0.99), 4)
    1.2549
    >>> lognormal_quantile(0.0, 0.99)
    1.0
    """
    _check(noise_cv, quantile)
    if noise_cv == 0:
        return 1.0
    mu, sigma = lognormal_params(noise_cv)
    return math.exp(mu + sigma * NormalDist().inv_cdf(quantile))


def lognormal_params(noise_cv: float) -> tuple[float, float]:
    r""":math:`(\mu, \sigma)` of the runtime's lognormal latency factor with mean 1 and
    coefficient of variation ``noise_cv``: :math:`\sigma^2 = \ln(1 + c^2)`,
    :math:`\mu = -\sigma^2 / 2` (the simulator draws its noise with these)."""
    sigma2 = math.log1p(noise_cv**2)
    return -sigma2 / 2, math.sqrt(sigma2)


def _check(noise_cv: Any, quantile: Any) -> None:
    if (
        isinstance(noise_cv, bool)
        or not isinstance(noise_cv, int | float)
        or not math.isfinite(noise_cv)
        or not 0 <= noise_cv <= MAX_NOISE_CV
    ):
        raise InvalidInput(
            f"must be a finite number between 0 and {MAX_NOISE_CV:g}",
            field="noise_cv",
            value=noise_cv,
        )
    if (
        isinstance(quantile, bool)
        or not isinstance(quantile, int | float)
        or not math.isfinite(quantile)
        or not 0 < quantile < 1
    ):
        raise InvalidInput(
            "must be a number strictly between 0 and 1", field="quantile", value=quantile
        )


@dataclass(frozen=True)
class Margin:
    """Plan each kernel at ``quantile`` of a lognormal latency noise of CV ``noise_cv``.

    Parameters
    ----------
    noise_cv
        The coefficient of variation the plan must withstand (the runtime's ``noise_cv``).
    quantile
        The probability that a kernel's noisy run fits its planned slot, in (0, 1).

    Raises
    ------
    InvalidInput
        Naming ``noise_cv`` or ``quantile`` when one is out of range or not a finite number.

    Examples
    --------
    >>> margin = Margin(0.1, 0.99)
    >>> margin.factor, margin.duration(1000)
    (1.25493171937, 1255)
    """

    noise_cv: float
    quantile: float

    def __post_init__(self) -> None:
        _check(self.noise_cv, self.quantile)

    @cached_property
    def factor(self) -> float:
        """:func:`lognormal_quantile`, rounded to 12 significant digits so that the planned
        durations do not hang on the last bit of a platform's ``exp``."""
        return float(f"{lognormal_quantile(self.noise_cv, self.quantile):.12g}")

    def duration(self, nominal: int) -> int:
        """The planned duration of a mode of ``nominal`` duration: ``ceil(nominal * factor)``,
        at least 1."""
        return max(1, math.ceil(nominal * self.factor))

    def to_json(self) -> dict[str, float]:
        """The margin as a plan file records it (the factor is for the reader)."""
        return {"noise_cv": self.noise_cv, "quantile": self.quantile, "factor": self.factor}

    @classmethod
    def from_json(cls, data: Any) -> Margin:
        """Read :meth:`to_json`'s document; a ``factor`` that disagrees is refused.

        Raises
        ------
        InvalidInput
            Naming the field (``noise_cv``, ``quantile``, ``factor``) at fault.
        """
        if not isinstance(data, dict):
            raise InvalidInput("must be a JSON object", value=data)
        unknown = sorted(set(data) - {"noise_cv", "quantile", "factor"})
        if unknown:
            raise InvalidInput("is not a known field", field=unknown[0], value=data[unknown[0]])
        for key in ("noise_cv", "quantile"):
            if key not in data:
                raise InvalidInput("is missing", field=key, value=None, show_value=False)
        margin = cls(data["noise_cv"], data["quantile"])
        factor = data.get("factor", margin.factor)
        if (
            isinstance(factor, bool)
            or not isinstance(factor, int | float)
            or not math.isclose(factor, margin.factor, rel_tol=1e-9)
        ):
            raise InvalidInput(
                f"disagrees with noise_cv and quantile ({margin.factor!r})",
                field="factor",
                value=factor,
            )
        return margin


def inflate(instance: Instance, margin: Margin | None) -> Instance:
    """``instance`` with every mode's duration at the margin's quantile (see the module
    docstring); ``instance`` itself when there is no margin.

    Names, power, demands, edges, jobs, deadlines and the objective are unchanged, so a schedule
    of the result is checked (:func:`xpuplan.models.check_schedule`) by the usual rules.

    Examples
    --------
    >>> from xpuplan.models import Device, Instance, Job, Kernel, Mode
    >>> inst = Instance("tiny", devices=(Device("cpu"),), jobs=(Job("j"),),
    ...                 kernels=(Kernel("k", "j", (Mode("cpu", "max", 100),)),))
    >>> inflate(inst, Margin(0.1, 0.99)).kernels[0].modes[0].duration
    126
    """
    if margin is None:
        return instance
    kernels = tuple(
        Kernel(
            ker.name,
            ker.job,
            tuple(
                Mode(m.device, m.level, margin.duration(m.duration), m.power_w, m.demands)
                for m in ker.modes
            ),
            ker.attrs,
        )
        for ker in instance.kernels
    )
    return instance.replace(kernels=kernels)
