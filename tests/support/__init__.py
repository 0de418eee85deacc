"""What tests share that is not a pytest fixture: message builders, offices, a browser, a clock.

The real peers (Dovecot, PostgreSQL, SMTP) stay in ``tests/servers.py``.
"""
