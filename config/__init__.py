"""``example.toml`` and the office profiles; shipped as ``inbox_agent.profiles``.

A folder of data, not code: the file is here so ``importlib.resources`` finds it (setup.py).
"""
