"""An office for the transparency tests: a Maildir inbox, a local outbox, a register, a roster.

The real pipeline opens the cases (so the roster hook in ``cases.open_case`` runs), and the web
UI's ``send_reply`` records the answers, as staff would. The clock is passed in everywhere.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import mailbox
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select

from inbox_agent.pipeline import PassReport, Pipeline
from inbox_agent.register.db import Register
from inbox_agent.register.models import Case
from inbox_agent.settings import Settings, settings_from_dict
from inbox_agent.transparency.roster import import_roster_csv
from support.builders import INBOX, base_config, message

MONDAY = dt.datetime(2027, 4, 12, 9, 0, tzinfo=dt.UTC)  # no bank holiday for weeks after it

# candidate A, the incumbent candidate B with an agent, and a third candidate C
A = {
    "name": "Harriet Ogunleye",
    "email": "harriet@ogunleye4pcc.example.org",
    "party": "Green Party",
    "address": "14 Acacia Avenue, Lowtown, LT1 2AB",
    "phone": "07700 900123",
}
B = {
    "name": "Thomas Fairbrother",
    "email": "thomas@fairbrother2027.example.com",
    "party": "Conservative Party",
    "address": "The Old Forge, Kiln Lane, Upper Hatherley, TS9 2LP",
    "phone": "01632 960777",
}
B_AGENT = {"name": "Yusuf Demir", "email": "yusuf.demir@example.net"}
C = {"name": "Gareth Llewellyn", "email": "gareth@llewellyn.example.org"}
STAFF = "Rachel Thornbury"
ROSTER_CSV = f"""name,role,party,email,acts_for,incumbent,deputy,postal_address,phone
{A["name"]},candidate,{A["party"]},{A["email"]},,no,no,"{A["address"]}",{A["phone"]}
{B["name"]},candidate,{B["party"]},{B["email"]},,yes,no,"{B["address"]}",{B["phone"]}
{B_AGENT["name"]},agent,,{B_AGENT["email"]},{B["name"]},,,,
{C["name"]},prospective candidate,Independent,{C["email"]},,,,,
"""


class Office:
    def __init__(self, tmp_path: Path, **transparency: Any) -> None:
        self.tmp_path = tmp_path
        data = base_config(f"sqlite:///{tmp_path / 'register.sqlite3'}")
        data["maildir"] = {"path": str(tmp_path / "inbox")}
        data["smtp"] = {
            "from_address": INBOX,
            "deliver": "maildir",
            "maildir_path": str(tmp_path / "outbox"),
        }
        data["transparency"] = {"staff_names": [STAFF], **transparency}
        self.settings: Settings = settings_from_dict(data, tmp_path / "inbox-agent.toml")
        self.register = Register(self.settings.database.url)
        self.box = mailbox.Maildir(tmp_path / "inbox", create=True)

    def write_config(self) -> Path:
        """The same office as a TOML file, for tests of the CLI."""
        path = self.tmp_path / "inbox-agent.toml"
        path.write_text(
            f"""[office]
name = "{self.settings.office.name}"
inbox_address = "{INBOX}"
spoc_role = "Head of Governance"
website_url = "{self.settings.office.website_url}"
reference_prefix = "TST"
[maildir]
path = "{self.tmp_path / "inbox"}"
[smtp]
from_address = "{INBOX}"
deliver = "maildir"
maildir_path = "{self.tmp_path / "outbox"}"
[database]
url = "{self.settings.database.url}"
[paro]
name = "PARO"
email = "paro@council.testshire.example.org"
[election]
poll_date = 2027-05-06
pre_election_period_start = 2027-03-29
nominations_close = 2027-04-08
persons_nominated_published = 2027-04-09
[transparency]
staff_names = ["{STAFF}"]
""",
            encoding="utf-8",
        )
        return path

    def close(self) -> None:
        self.box.close()
        self.register.dispose()

    def import_roster(self, text: str = ROSTER_CSV, *, now: dt.datetime = MONDAY) -> list[str]:
        with self.register.transaction() as session:
            report = import_roster_csv(
                session, text, file="roster.csv", source_date=now.date(), actor="test", now=now
            )
        return report.cases_matched

    def receive(self, sender: str, subject: str, body: str, *, now: dt.datetime = MONDAY) -> Case:
        """Deliver one message and run a pass: the case it opened."""
        self.box.add(message(sender, subject, body, date=now))
        report: PassReport = Pipeline(self.settings, self.register, clock=lambda: now).run_once()
        assert report.cases_opened == 1, report
        with self.register.transaction() as session:
            return session.scalars(select(Case).order_by(Case.id.desc())).first()  # type: ignore[return-value]

    def answer(self, reference: str, text: str, *, now: dt.datetime) -> None:
        from inbox_agent.web.casework import send_reply

        with self.register.transaction() as session:
            case = self.case(session, reference)
            send_reply(session, self.settings, case, text, actor="rachel", now=now)

    @staticmethod
    def case(session: Any, reference: str) -> Case:
        found: Case = session.scalars(select(Case).where(Case.reference == reference)).one()
        return found


@contextlib.contextmanager
def opened_office(tmp_path: Path, *, roster: bool = True, **transparency: Any) -> Iterator[Office]:
    """An office for one test (its roster imported unless ``roster=False``), always closed."""
    office = Office(tmp_path, **transparency)
    try:
        if roster:
            office.import_roster()
        yield office
    finally:
        office.close()
