"""The demo Maildir; shipped as ``inbox_agent.demo``.

A folder of data, not code: the file is here so ``importlib.resources`` finds it (setup.py).
"""
