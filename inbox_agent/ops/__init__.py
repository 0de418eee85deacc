"""Keeping the clerk running for weeks: health, metrics, alerts, the watchdog, retention, reports.

Nothing in the pipeline imports from here: these modules watch and report on the register the
pipeline writes, and the scheduler wires them in.
"""
