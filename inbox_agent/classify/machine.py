"""Machine mail: bounces, auto-replies, lists and loops, told apart from people by their headers.

An acknowledgement sent to a machine is at best noise and at worst a mail loop with another
robot, so every rule here errs towards "machine". The rules are RFC 3834 (Auto-Submitted, the
null return path), RFC 2369/2919 (list headers), RFC 3464/3798/5965 (delivery, disposition and
feedback reports), and what Zammad, osTicket and Mailman learned from clients that ignore the
RFCs: Exchange's X-Auto-Response-Suppress, Precedence, and out-of-office subjects. One
exception to "no-reply means robot": a website contact form relays a person's words from a
no-reply address, with the person's "Name:" and "Email:" fields, and a person must answer it.
"""

from __future__ import annotations

import re

from inbox_agent.parse import (
    MachineHeaders,
    ParsedMail,
    form_fields,
    is_mail_daemon,
    is_noreply,
    local_part,
)

_BULK_PRECEDENCE = frozenset({"bulk", "list", "junk", "auto_reply", "auto-reply"})
_SUPPRESS_VALUES = frozenset({"all", "oof", "autoreply"})

# Subjects that only robots write, in the languages an English or Welsh force meets. Anchored
# at the start and tied to the robot's punctuation, because people write to an election inbox
# about "Out of office hours" surgeries and "Undelivered poll cards".
_MACHINE_SUBJECT = re.compile(
    r"^\s*(?:\[[^\]]*\]\s*)?(?:"
    r"(?:automatic|auto)[- ]?(?:reply|response|answer)\s*:|autoreply\b|autoresponse\b|auto\s*:"
    r"|out of (?:the )?office(?:\s*(?:auto)?[- ]?reply)?\s*(?:[:(\-]|$)|ooo\s*:"
    r"|away from (?:the )?office\s*:|delivered\s*:|not read\s*:"
    r"|undeliverable\s*(?::|mail\b|message\b)|undelivered mail returned to sender"
    r"|delivery status notification|delivery notification\s*:|returned mail\s*:"
    r"|mail delivery (?:failed|failure|system)|message delivery (?:has )?failed|failure notice"
    r"|delayed mail \(still being retried\)|warning\W+could not send (?:message|mail) for past"
    r"|mail system error - returned mail"
    r"|ateb awtomatig\s*:|allan o'?r swyddfa\s*(?:[:(\-]|$)"  # Welsh
    r"|automatische antwort\s*:|abwesenheitsnotiz|unzustellbar\s*:"  # German
    r"|r[ée]ponse automatique\s*:|absente? du bureau|non remis\s*:"  # French
    r"|respuesta autom[áa]tica\s*:|fuera de la oficina\s*:|no se puede entregar\s*:"  # Spanish
    r"|automatisch antwoord\s*:|onbestelbaar\s*:"  # Dutch
    r"|risposta automatica\s*:|non recapitabile\s*:"  # Italian
    r"|resposta autom[áa]tica\s*:|n[ãa]o (?:foi )?poss[íi]vel entregar"  # Portuguese
    r"|automatyczna odpowied[źz]\s*:|automatiskt? svar\s*:"  # Polish, Scandinavian
    r"|автоматический ответ|недоставленное сообщение|ваше сообщение не доставлено"  # Russian
    r"|自動応答|自動返信|自动回复|メールエラー通知"  # Japanese, Chinese
    r")",
    re.IGNORECASE,
)


def machine_reasons(mail: ParsedMail, own_addresses: frozenset[str]) -> tuple[str, ...]:
    """Why a machine sent this message; the empty tuple means a person wrote it."""
    return (
        *_header_reasons(mail.machine),
        *_report_reasons(mail.machine),
        *_sender_reasons(mail, frozenset(a.strip().lower() for a in own_addresses)),
        *_subject_reasons(mail.subject),
        *_forwarded_reasons(mail),
    )


def _header_reasons(headers: MachineHeaders) -> list[str]:
    """RFC 3834 and list headers: the machine says so itself."""
    reasons: list[str] = []
    auto_submitted = headers.auto_submitted.split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        reasons.append(f"Auto-Submitted: {auto_submitted} (RFC 3834)")
    precedence = headers.precedence.strip().lower()
    if precedence in _BULK_PRECEDENCE:
        reasons.append(f"Precedence: {precedence}")
    if headers.list_id:
        reasons.append("List-Id present: mailing-list traffic (RFC 2919)")
    if headers.list_unsubscribe:
        reasons.append("List-Unsubscribe present: bulk or list mail (RFC 2369)")
    if headers.list_headers:
        reasons.append(f"mailing-list headers present: {', '.join(headers.list_headers)}")
    if headers.x_autoreply:
        reasons.append("X-Autoreply present")
    if headers.x_autorespond:
        reasons.append("X-Autorespond present")
    suppress = {v.strip().lower() for v in headers.x_auto_response_suppress.split(",")}
    if suppress & _SUPPRESS_VALUES:
        values = ", ".join(sorted(suppress & _SUPPRESS_VALUES))
        reasons.append(f"X-Auto-Response-Suppress: {values} (Exchange auto-reply)")
    return reasons


def _report_reasons(headers: MachineHeaders) -> list[str]:
    reasons: list[str] = []
    if headers.is_delivery_report:
        reasons.append("delivery status notification (bounce)")
    if headers.is_read_receipt:
        reasons.append("read receipt (message disposition notification)")
    if headers.is_feedback_report:
        reasons.append("abuse feedback report (ARF)")
    return reasons


def _sender_reasons(mail: ParsedMail, own: frozenset[str]) -> list[str]:
    """Who sent it: nobody, a mail daemon, a no-reply robot, or this inbox itself."""
    reasons: list[str] = []
    return_path = mail.machine.return_path.strip()
    if return_path == "<>":
        reasons.append("empty Return-Path (<>): bounces and auto-replies use the null sender")
    elif is_mail_daemon(return_path):
        reasons.append(f"Return-Path is {local_part(return_path)}")
    senders = _sender_addresses(mail)
    if mail.sender is None or not mail.sender.email:
        reasons.append("no From address")
    for address in senders:
        name = local_part(address)
        if is_mail_daemon(address):
            reasons.append(f"sender is {name}")
        elif is_noreply(address) and not is_form_submission(mail.text):
            reasons.append(f"sender is a no-reply address ({name})")
        if address in own:
            reasons.append("sent from this inbox's own address: a mail loop")
    return reasons


def _sender_addresses(mail: ParsedMail) -> list[str]:
    """From, then the Sender header when it names someone else (a list or a robot)."""
    addresses = [mail.sender.email] if mail.sender is not None and mail.sender.email else []
    sender_header = _bare_address(mail.machine.sender_header)
    if sender_header and sender_header not in addresses:
        addresses.append(sender_header)
    return addresses


def _bare_address(value: str) -> str:
    match = re.search(r"<([^<>]*)>", value)
    return (match.group(1) if match else value).strip().lower()


def _subject_reasons(subject: str) -> list[str]:
    if _MACHINE_SUBJECT.search(subject):
        return [f"subject looks automatic: {subject[:80]!r}"]
    return []


def _forwarded_reasons(mail: ParsedMail) -> list[str]:
    """A person forwarding a bounce in makes the robot the requester: never acknowledge it."""
    original = mail.forwarded
    if original is None:
        return []
    name = local_part(original.sender.email)
    if is_mail_daemon(original.sender.email):
        return [f"forwards a message from {name}"]
    if name and is_noreply(original.sender.email) and not is_form_submission(original.text):
        return [f"forwards a message from {name}"]
    if _MACHINE_SUBJECT.search(original.subject):
        return [f"forwards an automatic message: {original.subject[:80]!r}"]
    return []


def is_form_submission(text: str) -> bool:
    """A website contact form relayed from a no-reply address: a person wrote the message.

    The form's "Name:" and "Email:" fields carry the person; the robot only carried them.
    """
    return form_fields(text) is not None
