"""Classification: which of the protocol's categories a message belongs to, and why.

The taxonomy is fixed by the intake issue; precedence is the order of ``Category``: the first
category whose rule applies wins. Machine mail is decided from headers before any text is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    AUTOMATED = "automated"
    SUBJECT_ACCESS_REQUEST = "subject_access_request"
    FOI_REQUEST = "foi_request"
    ELECTORAL_PROCESS = "electoral_process"
    MEETING_REQUEST = "meeting_request"
    CONDUCT_CONCERN = "conduct_concern"
    MEDIA_ENQUIRY = "media_enquiry"
    INFORMATION_REQUEST = "information_request"
    OUT_OF_SCOPE = "out_of_scope"


STATUTORY = frozenset({Category.FOI_REQUEST, Category.SUBJECT_ACCESS_REQUEST})
"""The categories on a clock the law sets (FOIA s.10, UK GDPR art. 12(3)), not the office's."""


@dataclass(frozen=True)
class Classification:
    category: Category
    confidence: float  # 0..1
    reasons: tuple[str, ...]  # human-readable: which rules fired, model scores
    version: str  # classifier version, stored with the case
    # The message says it is machine mail (headers, a bounce or auto-reply's structure, a
    # robot's subject or sender). Only then is it logged without a case: ``automated`` from
    # the words alone may be a person, so it opens a case for review instead (``decide``).
    machine_headers: bool = False
