"""The classifier entry point: machine mail from headers first, then the text rules.

Headers decide machine mail before any text is read, because an out-of-office that quotes a
candidate's question must never look like the question itself.
"""

from __future__ import annotations

from inbox_agent.classify import Category, Classification
from inbox_agent.classify.machine import machine_reasons
from inbox_agent.classify.rules import classify_text
from inbox_agent.parse import ParsedMail

MACHINE_VERSION = "machine-1"


def classify_message(mail: ParsedMail, own_addresses: frozenset[str]) -> Classification:
    reasons = machine_reasons(mail, own_addresses)
    if reasons:
        return Classification(Category.AUTOMATED, 1.0, reasons, MACHINE_VERSION)
    subject = mail.forwarded.subject if mail.forwarded is not None else mail.subject
    return classify_text(subject, mail.request_text)
