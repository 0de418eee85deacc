"""Casework: what staff do with a case once the pipeline has opened it.

The statutory FOI and subject-access workflow (its clock, exemptions, letters and the figures
the ICO asks for), the checks on what a reply attaches, the FOI officer's s.12/s.14 flags,
contacts that did not come by email, follow-ups that join an open case, and the quarantine of
messages the pipeline could not handle. The pipeline only calls into here to note a follow-up;
everything else is driven by staff through the web UI and the cli.
"""
