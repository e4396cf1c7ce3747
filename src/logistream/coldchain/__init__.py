"""The cold-chain maths, pure and layer-free: how long each reading stands for (``timeline``),
mean kinetic temperature (``mkt``), excursions and sensor faults (``excursions``), a carriage's
compliance and verdict (``compliance``) and the thresholds they take (``params``).

The batch layer computes the trip views with it (``logistream.batch.views`` re-exports each
module under its old name), and a shipment's lot figures (``logistream.shipments.lot_figures``)
use the very same functions, so the trip report, the lot verdict and the proof of delivery's
summary can never count one reading two ways.
"""
