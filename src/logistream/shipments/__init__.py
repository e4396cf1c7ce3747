"""Shipments: consignments of lots carried by one truck through an ordered list of geofenced stops.

Layer-free: the model, the geofences and the file parser are pure, so the CLI, the API and the
speed layer may all use them.
"""
