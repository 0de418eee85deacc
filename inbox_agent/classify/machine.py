"""Machine mail: bounces, auto-replies, lists and loops, told apart from people by their headers.

An acknowledgement sent to a machine is at best noise and at worst a mail loop with another
robot, so every rule here errs towards "machine". The rules are RFC 3834 (Auto-Submitted, the
null return path), RFC 2369/2919 (list headers), RFC 3464/3798/5965 (delivery, disposition and
feedback reports), and what Zammad, osTicket and Mailman learned from clients that ignore the
RFCs: Exchange's X-Auto-Response-Suppress, Precedence, and out-of-office subjects.
"""

from __future__ import annotations

import re

from inbox_agent.parse import MachineHeaders, ParsedMail, local_part

_ROBOT_LOCAL_PARTS = frozenset({"mailer-daemon", "mailerdaemon", "mail-daemon", "postmaster"})
_NOREPLY = re.compile(
    r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|dont[-_.]?reply|no[-_.]?respon[sd]e?|bounces?)"
    r"(?:[-_.+].*)?$"
)
_BULK_PRECEDENCE = frozenset({"bulk", "list", "junk", "auto_reply", "auto-reply"})
_SUPPRESS_VALUES = frozenset({"all", "oof", "autoreply"})

# Subjects that only robots write, in the languages an English or Welsh force meets. Anchored
# at the start: "Out of office hours policing" is a person, "Out of Office: ..." is not.
_MACHINE_SUBJECT = re.compile(
    r"^\s*(?:\[[^\]]*\]\s*)?(?:"
    r"automatic reply|auto(?:matic)?[- ]?(?:reply|response|respon[sd]er)|autoreply|auto:"
    r"|out of (?:the )?office(?:\s*(?:auto)?[- ]?reply)?\s*(?::|$|-|\()|ooo\s*:"
    r"|away from (?:the )?office\s*:|on leave\s*:|absence notice"
    r"|undeliver(?:able|ed)|undelivered mail|non[- ]?deliver|not delivered|delivery (?:status|failure"
    r"|notification|has failed|delayed|report|problem)|delivery failed|failure notice"
    r"|returned mail|returned to sender|mail delivery (?:failed|failure|system|subsystem)"
    r"|mail system error|message (?:not delivered|delivery failure)|could not send message"
    r"|warning: could not|delayed mail|nondeliverable|delivered:|not read:"
    r"|ateb awtomatig|allan o'?r swyddfa|neges heb ei danfon"  # Welsh
    r"|automatische antwort|abwesenheitsnotiz|unzustellbar|nicht zustellbar"  # German
    r"|r[ée]ponse automatique|absence du bureau|absent du bureau|non remis|message d'absence"
    r"|respuesta autom[áa]tica|fuera de la oficina|no se puede entregar"  # Spanish
    r"|automatisch antwoord|afwezig|onbestelbaar"  # Dutch
    r"|risposta automatica|fuori sede|non recapitabile"  # Italian
    r"|resposta autom[áa]tica|aus[êe]ncia|n[ãa]o [ée] poss[íi]vel entregar"  # Portuguese
    r"|automatyczna odpowied[źz]|niedostarczalne|automatiskt svar|automatisk svar"
    r"|自動応答|自動返信|自动回复|不在通知|配信エラー"
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
    elif return_path and local_part(return_path) in _ROBOT_LOCAL_PARTS:
        reasons.append(f"Return-Path is {local_part(return_path)}")
    senders = _sender_addresses(mail)
    if mail.sender is None or not mail.sender.email:
        reasons.append("no From address")
    for address in senders:
        name = local_part(address)
        if name in _ROBOT_LOCAL_PARTS:
            reasons.append(f"sender is {name}")
        elif _NOREPLY.match(name):
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
