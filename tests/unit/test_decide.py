"""The protocol as a table: facts in, decision out."""

from __future__ import annotations

import datetime as dt

import pytest

from inbox_agent.classify import Category, Classification
from inbox_agent.deadlines import UkCalendar
from inbox_agent.decide import Action, Facts, decide

CAL = UkCalendar()
THURSDAY = dt.date(2027, 4, 1)  # Easter 2027 is 28 March, so April starts clear of it


def facts(
    category: Category,
    confidence: float = 0.9,
    *,
    thread: str | None = None,
    requester: bool = True,
    received: dt.date = THURSDAY,
    machine_headers: bool = False,
) -> Facts:
    return Facts(
        classification=Classification(
            category, confidence, ("test",), "t", machine_headers=machine_headers
        ),
        received_on=received,
        thread_case=thread,
        has_requester=requester,
        review_below=0.5,
        target_working_days=10,
    )


@pytest.mark.parametrize(
    ("category", "acknowledge", "forward"),
    [
        (Category.INFORMATION_REQUEST, True, False),
        (Category.FOI_REQUEST, True, False),
        (Category.SUBJECT_ACCESS_REQUEST, True, False),
        (Category.ELECTORAL_PROCESS, True, True),
        (Category.MEETING_REQUEST, True, False),
        (Category.CONDUCT_CONCERN, True, False),
        (Category.MEDIA_ENQUIRY, True, False),
        (Category.OUT_OF_SCOPE, True, False),
    ],
)
def test_confident_human_mail_opens_a_case(
    category: Category, acknowledge: bool, forward: bool
) -> None:
    d = decide(facts(category), CAL)
    assert d.action is Action.OPEN_CASE
    assert (d.acknowledge, d.forward_paro, d.needs_review) == (acknowledge, forward, False)


def test_machine_mail_is_logged_never_acknowledged() -> None:
    d = decide(facts(Category.AUTOMATED, 1.0, machine_headers=True), CAL)
    assert d.action is Action.LOG_MACHINE
    assert not d.acknowledge and not d.forward_paro and d.due_date is None


def test_machine_mail_in_a_thread_is_still_machine_mail() -> None:
    d = decide(facts(Category.AUTOMATED, 1.0, thread="TST-2027-0001", machine_headers=True), CAL)
    assert d.action is Action.LOG_MACHINE


@pytest.mark.parametrize("confidence", [0.45, 0.99])
def test_machine_text_without_machine_headers_opens_a_review_case(confidence: float) -> None:
    """The words alone may be a person's: a case for staff, never an acknowledgement."""
    d = decide(facts(Category.AUTOMATED, confidence), CAL)
    assert d.action is Action.OPEN_CASE
    assert (d.category, d.acknowledge, d.forward_paro, d.needs_review, d.due_date) == (
        Category.AUTOMATED,
        False,
        False,
        True,
        None,
    )
    assert "only the text model" in d.reasons[0]


def test_machine_text_in_a_thread_joins_its_case() -> None:
    d = decide(facts(Category.AUTOMATED, 0.9, thread="TST-2027-0002"), CAL)
    assert d.action is Action.JOIN_CASE and not d.acknowledge


def test_reply_joins_its_case_without_a_new_acknowledgement() -> None:
    d = decide(facts(Category.INFORMATION_REQUEST, thread="TST-2027-0004"), CAL)
    assert d.action is Action.JOIN_CASE
    assert not d.acknowledge and not d.forward_paro


def test_unsure_electoral_process_is_reviewed_and_never_forwarded() -> None:
    d = decide(facts(Category.ELECTORAL_PROCESS, 0.3), CAL)
    assert d.needs_review and not d.forward_paro and d.acknowledge


def test_no_reply_address_means_no_acknowledgement() -> None:
    d = decide(facts(Category.INFORMATION_REQUEST, requester=False), CAL)
    assert d.action is Action.OPEN_CASE and not d.acknowledge


@pytest.mark.parametrize(
    ("category", "received", "due"),
    [
        # Thu 1 Apr 2027; working days from Fri 2 Apr: no holidays until 3 May (Early May).
        # 20 working days: Apr 2,5..9,12..16,19..23,26..29 -> day 20 is Thu 29 Apr.
        (Category.FOI_REQUEST, dt.date(2027, 4, 1), dt.date(2027, 4, 29)),
        # one calendar month; 1 May 2027 is a Saturday -> next working day Tue 4 May? no:
        # 1 Apr + 1 month = Sat 1 May 2027; Mon 3 May is the Early May bank holiday -> Tue 4 May
        (Category.SUBJECT_ACCESS_REQUEST, dt.date(2027, 4, 1), dt.date(2027, 5, 4)),
        # 10 working days from Thu 1 Apr 2027 -> Thu 15 Apr
        (Category.MEETING_REQUEST, dt.date(2027, 4, 1), dt.date(2027, 4, 15)),
        (Category.OUT_OF_SCOPE, dt.date(2027, 4, 1), None),
    ],
)
def test_due_dates(category: Category, received: dt.date, due: dt.date | None) -> None:
    assert decide(facts(category, received=received), CAL).due_date == due
