"""Acknowledgement, forward, alert, report and web templates; shipped as ``inbox_agent.templates``.

A folder of data, not code: the file is here so ``importlib.resources`` finds it (setup.py).
"""
