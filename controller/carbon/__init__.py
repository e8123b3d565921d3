"""Grid carbon intensity (Electricity Maps v3, offline fallback) and emissions per inference.

Public API:
    CarbonIntensity(settings).for_zone(zone, at=None) -> Intensity
    grams_co2(energy_j, intensity) -> float
    hourly_grams_co2(windows, lookup) -> EmissionsReport
"""

from controller.carbon.emissions import EnergyWindow, HourlyEmissions, grams_co2, hourly_grams_co2
from controller.carbon.records import Intensity
from controller.carbon.service import CarbonIntensity
from controller.carbon.settings import CarbonSettings

__all__ = [
    "CarbonIntensity",
    "CarbonSettings",
    "EnergyWindow",
    "HourlyEmissions",
    "Intensity",
    "grams_co2",
    "hourly_grams_co2",
]
