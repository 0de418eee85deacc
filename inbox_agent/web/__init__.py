"""The staff triage web UI: the queue the office works from.

Server-rendered pages (Starlette + Jinja2, no JavaScript needed) over the same register the
daemon writes. Each module owns one thing:

* ``accounts``  staff accounts (argon2 hashes, roles) and the ``inbox-agent users`` command;
* ``security``  response headers (CSP), CSRF tokens, login throttling;
* ``queue``     the filtered, searchable list of cases;
* ``mailview``  a stored message as safe text, sanitised HTML, attachments with safe names;
* ``casework``  what staff do to a case; every action is an audit event with the user;
* ``dashboard`` health of the daemon and the figures the SPOC reports;
* ``downloads`` the protocol register as CSV and XLSX;
* ``publication`` the disclosure log: drafts beside originals, approve, withhold, write;
* ``parity_view`` equal treatment of candidates, as ``parity.build_parity`` reports it;
* ``app``       routes: login required everywhere, roles, forms;
* ``server``    ``inbox-agent web``: uvicorn on 127.0.0.1 for a TLS reverse proxy.
"""
