"""Equal treatment made visible: the roster, parity checks, the disclosure log and anonymisation.

The protocols promise candidates even-handed treatment and publish what one is told for all;
these modules hold who is who, check the promise, and publish the anonymised answers.
"""
