"""Facility layer: the physical plant of a system (cabinets, floor area, power, capital cost)
and, built on it, energy and goodput. ``plant.plant(system)`` is the entry point."""
