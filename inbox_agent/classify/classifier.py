"""The classifier entry point: machine mail from headers first, then rules and model together.

Headers decide machine mail before any text is read, because an out-of-office that quotes a
candidate's question must never look like the question itself. A person's message is read by
the rules (``rules.py``: spaCy Matcher/PhraseMatcher over subject and body, every zone weighed)
and by the trained textcat (``textcat.py``: ``text.mail_text``, the sender's own words, plus
the rules' evidence as words), and ``fusion.py`` decides between them. A website form's
relay is a person's message, so the model's "automated" is set aside for it. Without a
shipped model the rules decide alone. Only the header path sets ``machine_headers``: the
model's "automated" is a reading of the words, and ``decide`` opens a case for review on it
rather than dropping what may be a person's message.
"""

from __future__ import annotations

from inbox_agent.classify import Category, Classification
from inbox_agent.classify.fusion import fuse
from inbox_agent.classify.machine import is_form_submission, machine_reasons
from inbox_agent.classify.rules import rule_evidence
from inbox_agent.classify.text import classify_subject, mail_text
from inbox_agent.classify.textcat import TextModel, evidence_words, shipped_model
from inbox_agent.parse import ParsedMail

MACHINE_VERSION = "machine-1"


def classify_message(mail: ParsedMail, own_addresses: frozenset[str]) -> Classification:
    """Classify with the shipped model (or by rules alone when none is shipped)."""
    return classify_with_model(mail, own_addresses, shipped_model())


def classify_with_model(
    mail: ParsedMail, own_addresses: frozenset[str], model: TextModel | None
) -> Classification:
    reasons = machine_reasons(mail, own_addresses)
    if reasons:
        return Classification(
            Category.AUTOMATED, 1.0, reasons, MACHINE_VERSION, machine_headers=True
        )
    rules, rule_scores = rule_evidence(classify_subject(mail), mail.request_text)
    if model is None:
        return rules
    evidence = evidence_words(rules.category, rule_scores)
    scores = model.scores(mail_text(mail), evidence)
    if is_form_submission(mail.request_text):
        # A website form relayed a person's words (its "Name:"/"Email:" fields): the robot's
        # boilerplate around them must not make the model call the person machine text.
        scores = {c: p for c, p in scores.items() if c is not Category.AUTOMATED}
    return fuse(rules, rule_scores, scores, model.version)
