"""Truck and reefer physics as pure functions over plain numbers: no state, no I/O, no randomness.

The simulated truck (``truck.py``) keeps the state and draws the noise; everything that decides
*how* a value changes lives here, so the curves can be tested on their own.

Assumptions, stated once:

* Cargo air temperature is a first-order system: it relaxes exponentially towards a target
  (the setpoint while the reefer cools, the ambient air when the door is open or the compressor
  has failed) with a time constant that depends on what drives it.
* A failed compressor leaves an insulated, loaded box (about 40 m³, walls K ≈ 0.4 W/m²K, tonnes
  of product with a large heat capacity) warming towards ambient with a time constant of about
  three hours: hours, not seconds.
* An open door (strip curtains, loaded box) pulls the air towards ambient in tens of minutes; a
  working unit pulls it back to the setpoint over several minutes once the door is shut.
* Ambient air follows the mean annual temperature of the nearest Kenyan stations (the coast is
  hotter than the highlands) plus a daily cycle peaking at 15:00 East Africa Time.
"""

from __future__ import annotations

import math
from typing import Final

# --- temperature ---------------------------------------------------------------------------------

TAU_FAILURE_S: Final = 3.0 * 3600.0
"""Compressor failure: the box drifts towards ambient with this time constant (3 h)."""
TAU_DOOR_S: Final = 20.0 * 60.0
"""Door open: the cargo air drifts towards ambient with this time constant (20 min)."""
TAU_PULLDOWN_S: Final = 5.0 * 60.0
"""A working reefer pulls the air back to its setpoint with this time constant (5 min)."""

DEFROST_MAX_S: Final = 45.0 * 60.0
DEFROST_MIN_INTERVAL_S: Final = 6.0 * 3600.0
DEFROST_MAX_INTERVAL_S: Final = 12.0 * 3600.0

EAT_OFFSET_S: Final = 3 * 3600  # East Africa Time, UTC+3, no daylight saving
DIURNAL_AMPLITUDE_C: Final = 5.0
DIURNAL_PEAK_HOUR: Final = 15.0

# Mean annual air temperature of Kenyan stations (°C), from coast to highlands: (lat, lon, °C).
AMBIENT_STATIONS: Final[tuple[tuple[float, float, float], ...]] = (
    (-4.0435, 39.6682, 27.0),  # Mombasa, sea level
    (-3.8640, 39.4730, 26.0),  # Mariakani
    (-3.3961, 38.5561, 25.0),  # Voi, 560 m
    (-2.6900, 38.1660, 24.0),  # Mtito Andei, 750 m
    (-2.0830, 37.4730, 21.0),  # Emali, 1150 m
    (-1.4560, 36.9780, 20.0),  # Athi River, 1500 m
    (-1.2864, 36.8172, 19.0),  # Nairobi, 1700 m
    (-1.1136, 36.6422, 16.0),  # Limuru, 2200 m
    (-0.7172, 36.4310, 17.5),  # Naivasha, 1900 m
    (-0.3031, 36.0800, 18.0),  # Nakuru, 1850 m
    (-0.1667, 35.6833, 14.0),  # Mau Summit, 2600 m
    (0.5143, 35.2698, 16.5),  # Eldoret, 2100 m
    (-0.3689, 35.2863, 17.0),  # Kericho, 2000 m
    (-0.0917, 34.7680, 23.5),  # Kisumu, 1130 m
    (-0.4201, 36.9476, 17.5),  # Nyeri, 1750 m
    (-1.0333, 37.0693, 20.0),  # Thika, 1600 m
)


def relax(value: float, target: float, dt_s: float, tau_s: float) -> float:
    """First-order approach of ``value`` towards ``target`` over ``dt_s`` seconds."""
    return target + (value - target) * math.exp(-dt_s / tau_s)


def relax_factor(dt_s: float, tau_s: float) -> float:
    """``exp(-dt/tau)``: precomputed once per time step so the hot path does no ``exp``."""
    return math.exp(-dt_s / tau_s)


def cargo_target(
    setpoint_c: float, ambient_c: float, *, door_open: bool, failed: bool
) -> tuple[float, float]:
    """What the cargo air drifts towards, and with which time constant (s)."""
    if door_open:
        return ambient_c, TAU_DOOR_S
    if failed:
        return ambient_c, TAU_FAILURE_S
    return setpoint_c, TAU_PULLDOWN_S


def defrost_offset(elapsed_s: float, duration_s: float, peak_c: float) -> float:
    """Rise of the cargo air above the setpoint ``elapsed_s`` into a defrost cycle.

    A half sine: heaters warm the evaporator, then the unit pulls down again; zero outside the
    cycle. The cycle (including its pull-down) is flagged ``defrost: true`` for its whole length.
    """
    if elapsed_s < 0.0 or elapsed_s > duration_s or duration_s <= 0.0:
        return 0.0
    return peak_c * math.sin(math.pi * elapsed_s / duration_s)


def defrost_peak(defrost_allowance_c: float) -> float:
    """How far a defrost raises the air: a few °C, kept inside the profile's allowance."""
    return max(1.0, min(3.0, 0.8 * defrost_allowance_c))


def mean_ambient_c(lat: float, lon: float) -> float:
    """Mean air temperature at a place: inverse-distance weighting of the nearest stations."""
    weighted = 0.0
    weights = 0.0
    for s_lat, s_lon, s_temp in AMBIENT_STATIONS:
        # Degrees are fine for weighting: Kenya sits on the equator.
        d2 = (lat - s_lat) ** 2 + (lon - s_lon) ** 2
        if d2 < 1e-8:
            return s_temp
        w = 1.0 / (d2 * d2)
        weighted += w * s_temp
        weights += w
    return weighted / weights


def diurnal_offset_c(epoch_s: float) -> float:
    """Daily swing around the mean air temperature: warmest at 15:00, coolest at 03:00 EAT."""
    hour = ((epoch_s + EAT_OFFSET_S) % 86400.0) / 3600.0
    return DIURNAL_AMPLITUDE_C * math.cos(2.0 * math.pi * (hour - DIURNAL_PEAK_HOUR) / 24.0)


def ambient_c(lat: float, lon: float, epoch_s: float) -> float:
    """Ambient air temperature at a place and moment."""
    return mean_ambient_c(lat, lon) + diurnal_offset_c(epoch_s)


# --- fuel ----------------------------------------------------------------------------------------

REEFER_LPH_MIN: Final = 1.5
REEFER_LPH_MAX: Final = 4.0


def reefer_litres_per_hour(ambient_c: float, setpoint_c: float, *, door_open: bool) -> float:
    """The reefer's diesel use: more work the further the setpoint is below ambient."""
    lift = (ambient_c - setpoint_c) / 45.0
    if door_open:
        lift += 0.3
    return REEFER_LPH_MIN + (REEFER_LPH_MAX - REEFER_LPH_MIN) * min(1.0, max(0.0, lift))


def fuel_burn_litres(
    distance_km: float, dt_s: float, drive_l_per_km: float, reefer_lph: float
) -> float:
    """Diesel burnt over one step: the engine by distance, the reefer by time."""
    return distance_km * drive_l_per_km + reefer_lph * dt_s / 3600.0


# --- driving -------------------------------------------------------------------------------------

HIGHWAY_LIMIT_KMH: Final = 80.0
"""Heavy commercial vehicles in Kenya (Traffic Act, 8th schedule)."""
TOWN_LIMIT_KMH: Final = 50.0
ACCEL_MS2: Final = 0.45
"""A loaded truck gathers speed gently."""
BRAKE_MS2: Final = 1.2
"""Service braking."""
PLAN_BRAKE_MS2: Final = 0.7
"""Drivers plan to slow for towns and stops at this deceleration, leaving margin to BRAKE_MS2."""
KMH: Final = 1.0 / 3.6


def step_speed(
    v_ms: float, target_ms: float, dt_s: float, accel_ms2: float, brake_ms2: float
) -> float:
    """Speed after one step towards ``target_ms`` within the acceleration limits (m/s)."""
    if target_ms > v_ms:
        return min(target_ms, v_ms + accel_ms2 * dt_s)
    return max(target_ms, v_ms - brake_ms2 * dt_s, 0.0)


def braking_speed_ms(distance_m: float, brake_ms2: float = PLAN_BRAKE_MS2) -> float:
    """Highest speed from which a truck still stops within ``distance_m``."""
    return math.sqrt(2.0 * brake_ms2 * max(0.0, distance_m))


def cruise_kmh(base_kmh: float, epoch_s: float, phase: float) -> float:
    """The driver's wish: a base speed that wanders slowly (traffic, hills), never above 80."""
    wander = 2.5 * math.sin(epoch_s / 420.0 + phase) + 1.5 * math.sin(epoch_s / 97.0 + 2.0 * phase)
    return min(HIGHWAY_LIMIT_KMH, base_kmh + wander)


# --- position ------------------------------------------------------------------------------------

GPS_SIGMA_M: Final = 3.0
M_PER_DEG_LAT: Final = 111_320.0


def offset_position(
    lat: float, lon: float, heading_deg: float, lateral_m: float
) -> tuple[float, float]:
    """A point ``lateral_m`` to the right of travel (negative: left), for detours."""
    right = math.radians(heading_deg + 90.0)
    d_lat = lateral_m * math.cos(right) / M_PER_DEG_LAT
    d_lon = lateral_m * math.sin(right) / (M_PER_DEG_LAT * math.cos(math.radians(lat)))
    return lat + d_lat, lon + d_lon


def detour_offset_m(elapsed_s: float, duration_s: float, peak_m: float) -> float:
    """Lateral distance from the route during a detour: out and back as a half sine."""
    if elapsed_s < 0.0 or elapsed_s > duration_s or duration_s <= 0.0:
        return 0.0
    return peak_m * math.sin(math.pi * elapsed_s / duration_s)
