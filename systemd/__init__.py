"""The systemd units; shipped as ``inbox_agent.systemd``.

A folder of data, not code: the file is here so ``importlib.resources`` finds it (setup.py).
"""
