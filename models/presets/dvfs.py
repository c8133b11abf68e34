"""DVFS levels of the presets: relative speed and dynamic power from the clock frequency.

Vendors publish a device's clock steps and (sometimes) its power at the top clock, rarely the
power at every step. The presets therefore derive each level from one anchored figure, the
dynamic power :math:`P_{top}` of one unit running flat out at the top frequency :math:`f_{top}`:

.. math::

    r = f / f_{top}, \\qquad s(f) = r, \\qquad
    v(r) = v_0 + (1 - v_0)\\, r, \\qquad
    P(f) = P_{top} \\cdot r \\cdot v(r)^2

* Speed is the frequency ratio: the compute array does the same work per cycle at every clock.
* Dynamic power is :math:`C V^2 f`. Supply voltage falls with frequency but not to zero; the
  linear voltage model with :math:`v_0 = 0.6` (a unit at a very low clock still needs about 60% of
  its top-clock voltage) makes power fall faster than frequency, as measured DVFS curves do, so
  lower levels are more energy-efficient per operation. Both the model and :math:`v_0` are an
  assumption of this project, not a vendor figure; each preset cites its :math:`P_{top}`.
"""

from __future__ import annotations

from collections.abc import Sequence

from xpuplan.models.platform import DvfsLevel

# Relative supply voltage a unit needs as its clock approaches zero (see the module docstring).
VOLTAGE_FLOOR = 0.6


def level_name(freq_mhz: float) -> str:
    """``"918MHz"``, ``"729.6MHz"``: the label of a level in instances and schedules."""
    return f"{freq_mhz:g}MHz"


def scaled_levels(freqs_mhz: Sequence[float], top_power_w: float) -> tuple[DvfsLevel, ...]:
    """DVFS levels at ``freqs_mhz`` (increasing) with the speed and power model above.

    Parameters
    ----------
    freqs_mhz
        The clock steps, lowest first; the last one is the top level.
    top_power_w
        Dynamic power of one unit running flat out at the top level.

    Examples
    --------
    >>> [(lv.name, lv.speed, lv.power_w) for lv in scaled_levels((500, 1000), 10.0)]
    [('500MHz', 0.5, 3.2), ('1000MHz', 1.0, 10.0)]
    """
    top = freqs_mhz[-1]
    levels = []
    for freq in freqs_mhz:
        ratio = freq / top
        voltage = VOLTAGE_FLOOR + (1.0 - VOLTAGE_FLOOR) * ratio
        levels.append(
            DvfsLevel(
                name=level_name(freq),
                freq_mhz=float(freq),
                speed=round(ratio, 4),
                power_w=round(top_power_w * ratio * voltage**2, 3),
            )
        )
    return tuple(levels)
