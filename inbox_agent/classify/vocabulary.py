"""The words the rule classifier listens for, kept as data so the rules read as a table.

A *term* is a named list of phrases (matched on lower-case tokens; a one-letter slip of a signal
word of six letters or more still counts) and regexes (for shapes tokens describe badly: amounts,
reference numbers). Term names start with their category's family (``el_``, ``md_``...): a
phrase inside a longer phrase of another family yields to it ("briefing pack" over "briefing").
A *rule* gives a category weight when all its terms occur in one sentence. Cue terms
(``cue_*``) are never scored; they change how a nearby hit counts: a negation cue cancels it,
an incidental cue ("now that", "obtained under") discounts it, an ask cue marks a sentence as
a question or request. Wording comes from the joint election protocols and the national
guidance in ``shared/protocols``; the weights are judgement, tuned on the unit table.
"""

from __future__ import annotations

from dataclasses import dataclass

from inbox_agent.classify import Category

C = Category


@dataclass(frozen=True)
class Rule:
    """A category gains ``weight`` when every term in ``terms`` occurs in one sentence.

    ``asked``: count only in the subject or a sentence that asks (requests are asked for;
    the same words in a statement are usually background). ``discounted_by``: cue terms that
    discount a hit they closely precede. ``unless``: no score when any of these terms shares
    the sentence.
    """

    category: Category
    terms: tuple[str, ...]
    weight: float
    asked: bool = False
    discounted_by: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()


INCIDENTAL = ("cue_incidental",)
AS_SOMEONE = ("cue_incidental", "cue_identity", "cue_company")
_ITEMS = ("wallet", "phone", "purse", "bag", "handbag", "keys", "passport", "bank card", "dog")
_LOST_ITEMS = tuple(
    f"{verb} {item}" for verb in ("lost my", "left my", "found a", "dropped my") for item in _ITEMS
)


# Words whose one-slip variants are other common words ("officer" less an r is "office",
# "stalking" less an s is "talking", "contract" less an r is "contact"): matched exactly.
EXACT_WORDS = frozenset(
    {
        "hustings", "reporter", "reporters", "deadline", "officer", "officers", "offices",
        "election", "elections", "verification", "commissioner", "commissioned", "property",
        "nominated", "counting", "statement", "statements", "spending", "speeding",
        "correspondent", "stalking", "filming", "livery", "advert", "contract", "contracts",
        "accounts", "danger",
    }
)  # fmt: skip

# fmt: off
TERMS: dict[str, tuple[str, ...]] = {
    # --- subject access: the sender's own personal data --------------------------------------
    "sar_own": (
        "my personal data", "my personal information", "my own data", "my own information",
        "my own personal", "my data", "personal data about me", "data about me",
        "information about me", "data held about me", "information held about me", "held about me",
        "hold about me", "holds about me", "held on me", "hold on me", "holds on me", "kept on me",
        "data you hold on me", "which mention me", "that mention me", "mentioning me",
        "in which i am named", "where i am named", "where i am mentioned", "relating to me",
        "concerning me", "my own records", "with my name on it", "my name on it", "my file",
        "my complaint file",
    ),
    "sar_about_me": ("about me",),
    "sar_data_noun": (
        "data", "information", "records", "record", "file", "files", "notes", "emails",
        "correspondence", "everything", "anything", "recorded", "kept", "held", "hold", "holds",
        "documents", "copies",
    ),
    "sar_access": (
        "subject access", "subject access request", "subject access requests", "subject acess",
        "right of access", "right of acess", "right to access", "article 15", "art 15", "art. 15",
    ),
    "sar_law": (
        "data protection act", "data protection act 2018", "dpa 2018", "gdpr", "uk gdpr",
        "data protection law", "data protection legislation", "data protection rights",
        "data protection",
    ),
    # --- freedom of information -------------------------------------------------------------
    "foi_act": (
        "freedom of information act", "freedom of information", "freedom of info",
        "fredom of information", "freedom of information request", "foi", "foia", "foi act",
        "foi request", "f.o.i", "environmental information regulations",
        "environmental information regulations 2004", "eir", "eirs", "2000 act", "section 1 of the",
        "information commissioner",
    ),
    "foi_recorded": ("recorded information", "information held by", "information you hold"),
    # --- electoral process: for the PARO ----------------------------------------------------
    "el_nomination": (
        "nomination", "nominations", "nomination paper", "nomination papers", "nomination form",
        "nomination forms", "nomination pack", "close of nominations",
        "statement of persons nominated", "persons nominated", "notice of election",
        "notice of poll", "consent to nomination", "home address form",
        "certificate of authorisation", "withdraw my candidacy", "withdrawal of candidature",
        "party emblem", "description on the ballot paper",
    ),
    "el_subscribers": ("subscribers", "assentors", "subscriber", "assentor"),
    "el_signatures": ("signatures", "signatories", "signed by"),
    "el_electors": ("electors", "elector", "registered voters", "forms", "force area", "live in"),
    "el_deposit": ("deposit", "deposits"),
    "el_deposit_amount": ("£5,000", "£5000", "5,000 pounds", "five thousand pounds"),
    "el_eligibility": (
        "eligible to stand", "eligibility to stand", "eligibility", "eligible", "allowed to stand",
        "able to stand", "can i stand", "could i stand", "qualify to stand", "qualified to stand",
        "right to stand", "disqualified", "disqualification", "disqualify",
        "politically restricted post", "barred from standing", "politically restricted",
        "cannot stand for", "can't stand for", "resign to stand", "resign before standing",
        "becoming a candidate", "become a candidate", "stop me standing", "stop me from standing",
        "prevent me from standing", "stop me becoming", "stop me from becoming",
    ),
    "el_timetable": (
        "election timetable", "timetable for the election", "polling day", "election day",
        "day of the poll", "date of the poll", "close of poll", "polls open", "polls close",
    ),
    "el_polling": (
        "polling station", "polling stations", "polling place", "poll card", "polling card",
        "ballot paper", "ballot papers", "ballot box", "presiding officer", "poll clerk",
        "polling clerk", "tellers", "voter id", "voter identification", "register to vote",
        "electoral register", "electoral roll", "voter authority certificate", "photo id",
        "id to vote", "identification to vote", "bring to vote", "where do i vote",
        "where can i vote", "how do i vote", "eligible to vote", "vote in person", "what id",
        "which id", "id do i need", "what identification", "photo identification",
    ),
    "el_absent": (
        "postal vote", "postal votes", "postal ballot", "postal ballots", "postal voting",
        "proxy vote", "proxy voting", "vote by proxy", "emergency proxy", "proxy application",
        "postal vote pack", "postal voter", "proxy voter",
    ),
    # Context: time references, longer than the "polling day" inside them, which they absorb
    # (a phrase yields to a longer one of another family). No rule scores them.
    "ctx_when": (
        "on polling day", "on election day", "on the day of the poll", "around polling day",
        "over polling day", "on the day of the election",
    ),
    "el_vote": ("vote", "votes", "voting", "voter", "voters"),
    "el_count": (
        "counting of votes", "vote counting", "counting centre", "count centre", "verification",
        "recount", "declaration of the result", "election result", "result be declared",
        "first preference", "second preference", "supplementary vote", "spoilt ballots",
        "spoilt papers", "rejected ballots", "doubtful ballots",
    ),
    "el_agents": (
        "election agent", "counting agent", "counting agents", "polling agent", "polling agents",
        "sub-agent", "sub agent", "appointment of agents", "appoint an agent",
    ),
    "el_spending": (
        "election expenses", "spending limit", "spending limits", "expenses return",
        "expense limit", "candidate spending", "campaign spending", "campaign expenditure",
        "notional expenditure", "return of expenses", "election spending",
        "donations to my campaign", "campaign donations",
    ),
    "el_imprint": ("imprint", "imprints", "digital imprint"),
    "el_officer": (
        "returning officer", "paro", "police area returning officer", "local returning officer",
        "deputy returning officer", "electoral services", "elections office", "elections team",
        "electoral commission",
    ),
    "el_misconduct": (
        "false statement", "false statements", "false statement about a candidate",
        "electoral fraud", "election fraud", "voter fraud", "electoral offence", "election offence",
        "breach of electoral law", "electoral law", "personation", "undue influence",
        "election petition", "election complaint", "complaint about the election", "lies about me",
        "defamatory",
    ),
    # --- meeting requests ---------------------------------------------------------------------
    "mt_meet": (
        "meet", "meeting", "meet with", "meet up", "one-to-one", "one to one", "1:1", "1-2-1",
        "sit down with", "sit-down", "catch up", "catch-up", "get together", "appointment",
        "video call", "teams call", "zoom call", "teams meeting", "call with", "chat with",
        "a chat", "for a chat", "a coffee", "over coffee",
    ),
    "mt_not": (
        "targets", "target", "standards", "criteria", "requirements", "demand", "expectations",
        "minutes", "agenda", "costs",
    ),
    "mt_visit": (
        "visit", "a visit", "site visit", "tour", "tour of", "look round", "look around",
        "show me round", "show me around", "come and see", "drop in", "pop in",
    ),
    "mt_ride": (
        "ride-along", "ride along", "ridealong", "ride out", "go out on patrol", "join a patrol",
        "shadow", "shadowing", "observe a shift", "spend a shift", "accompany officers",
    ),
    "mt_event": (
        "hustings", "attend our", "attend the event", "speak at", "speaker at", "come along to",
        "invite the", "invitation to", "panel discussion", "be able to attend", "to attend",
    ),
    "mt_photo": (
        "photo opportunity", "photo op", "photo-op", "photo call", "photocall",
        "have my photo taken", "have a photo taken", "take a photo", "take some photos",
    ),
    "mt_briefing": ("briefing", "briefing session", "briefing with", "briefings"),
    "mt_time": (
        "half an hour", "30 minutes", "an hour", "coffee", "chat", "diary", "availability",
        "convenient time", "which day", "what day", "in person", "face to face", "face-to-face",
        "any time", "next week", "suits",
    ),
    # --- conduct concerns: police neutrality in the campaign ---------------------------------
    "cd_imagery": (
        "uniform", "uniforms", "unifrom", "in uniform", "uniformed", "livery", "police livery",
        "logo", "police logo", "crest", "force crest", "badge", "police badge", "branding",
        "police branding", "police car", "police cars", "patrol car", "police vehicle",
        "police van", "marked car", "police helicopter", "photo of officers", "photos of officers",
        "photographs of officers", "pictures of officers", "picture of officers", "police images",
        "police imagery", "imagery", "police photos",
    ),
    "cd_material": (
        "leaflet", "leaflets", "leafet", "leaflett", "flyer", "flyers", "campaign material",
        "campaign materials", "campaign leaflet", "campaign video", "campaign website",
        "campaigning", "election material", "literature", "election address", "manifesto", "poster",
        "posters", "banner", "website", "facebook page", "advert", "advertisement", "mailshot",
        "election leaflet",
    ),
    "cd_photo": (
        "photo", "photos", "photograph", "photographs", "picture", "pictures", "image", "images",
        "pictured", "filmed", "video", "selfie",
    ),
    "cd_candidate": (
        "candidate", "candidates", "candidate's", "party", "campaign", "campaigning", "election",
        "councillor", "incumbent", "conservative", "labour", "lib dem", "liberal democrat",
        "green party", "reform", "independent", "his", "her", "their",
    ),
    "cd_staff": (
        "officer", "officers", "pcso", "pcsos", "constable", "sergeant", "inspector",
        "superintendent", "police staff", "staff", "member of staff", "staff member", "employee",
        "opcc staff", "special constable", "detective", "chief executive", "chief constable",
        "the force", "opcc",
    ),
    "cd_sides": (
        "campaigning", "canvassing", "canvass", "knocking on doors", "handing out leaflets",
        "delivering leaflets", "leafleting", "leafletting", "taking sides", "take sides", "endorse",
        "endorsing", "endorsed", "endorsement", "backing a candidate", "backing the candidate",
        "backing one candidate", "backed by", "vote for", "rosette", "campaign for", "campaigned",
        "political views", "political comments", "partisan", "retweeting", "retweeted",
        "liked a post", "liked posts", "supporting a candidate", "supporting the candidate",
        "supporting one candidate", "attacking another", "support for a candidate", "post support",
        "posted support", "shared a post", "vote labour", "vote conservative", "vote reform",
        "vote green", "vote lib dem", "vote tory",
    ),
    "cd_social": (
        "social media", "facebook", "twitter", "instagram", "tiktok", "x/twitter", "posted",
        "posts", "tweets", "tweet", "retweeting", "whatsapp",
    ),
    "cd_resources": (
        "office resources", "public money", "office email", "work email", "official email",
        "office account", "official account", "official twitter", "official website",
        "office equipment", "office printer", "work phone", "working hours", "on duty",
        "staff time", "franking", "office premises", "council resources", "opcc resources",
        "force resources", "police resources", "public resources",
    ),
    "cd_neutrality": (
        "impartiality", "impartial", "political neutrality", "politically neutral", "neutrality",
        "purdah",
    ),
    # --- media --------------------------------------------------------------------------------
    "md_identity": (
        "journalist", "reporter", "correspondent", "newsdesk", "news desk", "newsroom",
        "news editor", "political editor", "press enquiry", "media enquiry", "press query",
        "media query", "press inquiry", "media inquiry", "local democracy reporter",
    ),
    "md_story": (
        "for a story", "writing a story", "working on a story", "our story", "for an article",
        "writing an article", "our article", "for a piece", "running a piece", "writing a piece",
        "working on a piece", "our piece", "for publication", "going to print", "our readers",
        "our listeners", "our viewers", "our audience", "tomorrow's paper", "saturday's paper",
        "sunday's paper", "our paper", "we're covering", "we are covering", "live blog", "liveblog",
        "will be reporting", "we are reporting", "we're reporting", "edition", "this week's paper",
        "next week's paper",
    ),
    "md_comment": (
        "any comment", "a comment", "for comment", "request for comment", "on the record",
        "off the record", "a statement", "a quote", "quote the", "response for", "right of reply",
        "spokesperson", "spokesman", "spokeswoman", "a line on", "give us a line", "a line from",
        "would you like to respond", "like to respond", "wish to respond", "want to respond",
    ),
    "md_comment_weak": ("comment", "statement", "quote", "comments"),
    "md_deadline": ("deadline", "publishing", "publish", "broadcast"),
    "md_broadcast": (
        "podcast", "interview", "live interview", "breakfast show", "episode", "bbc", "itv",
        "sky news", "channel 4", "on air", "filming", "camera crew", "pre-record", "prerecord",
        "pre-recorded", "drive-time", "drivetime", "our show", "down the line", "our programme",
        "live on air",
    ),
    "md_broadcast_weak": ("radio", "tv", "television", "programme", "show"),
    "md_outlet": (
        "newspaper", "gazette", "echo", "herald", "chronicle", "telegraph", "mirror",
        "press association", "pa media", "valley live", "radio",
    ),
    # --- information requests ------------------------------------------------------------------
    "in_money": (
        "budget", "budgets", "precept", "council tax", "band d", "funding", "grant", "grants",
        "spend", "spends", "spending", "spent", "expenditure", "reserves", "accounts",
        "medium term financial plan", "financial plan", "cost of", "how much", "salary", "salaries",
    ),
    "in_crime": (
        "crime statistics", "crime figures", "crime data", "crime rates", "crime rate",
        "crime levels", "knife crime", "statistics", "figures", "data", "numbers", "stats",
        "how many", "number of", "trend", "trends", "breakdown", "broken down by",
    ),
    "in_plan": (
        "police and crime plan", "police & crime plan", "crime plan", "strategy", "priorities",
        "annual report", "performance", "performance report", "hmicfrs", "inspection report",
        "police and crime panel", "panel meeting", "minutes of", "agenda", "decision notices",
        "register of interests", "policy",
    ),
    "in_staff": (
        "staffing", "officer numbers", "number of officers", "headcount", "vacancies",
        "recruitment", "pcso numbers", "overtime", "response times", "response time", "999 calls",
        "101 calls", "999 call", "101 call", "call handling", "detection rate", "charge rate",
        "custody",
    ),
    "in_pack": (
        "briefing pack", "candidate pack", "information pack", "candidate briefing pack",
        "briefing note", "briefing material", "briefing materials", "background information",
        "factual information", "information on", "information about",
    ),
    "in_services": (
        "commissioned services", "victim services", "victims' services", "support services",
        "victims", "domestic abuse", "community safety", "contract", "contracts",
    ),
    # --- out of scope: not about the election -------------------------------------------------
    "oo_crime": (
        "report a crime", "report an incident", "want to report", "like to report", "broke into",
        "broken into", "break-in", "burgled", "stolen", "stollen", "nicked", "assaulted",
        "attacked me", "hit me", "threatened me", "harassing me", "harassment", "stalking", "scam",
        "scammed", "vandalised", "criminal damage", "took my", "report a theft", "reported a theft",
        "report a burglary", "reported a burglary", "tried to report",
    ),
    "oo_case": (
        "crime reference", "crime ref", "crime number", "crime no", "incident number",
        "reference number", "my case number", "case number", "officer in charge",
        "investigating officer", "update on my", "officer dealing with",
    ),
    "oo_emergency": (
        "emergency", "right now", "happening now", "call 999", "dial 999", "dialled 999",
        "rang 999", "knife", "weapon", "in danger", "help me", "pls help", "urgent help",
    ),
    "oo_lost": (
        "lost property", "found property", "missing dog", "lost dog", *_LOST_ITEMS, "missing cat",
        "lost cat", "finding a", "has anyone found", "stray",
    ),
    "oo_wrong": (
        "wrong address", "wrong email", "wrong inbox", "wrong person", "wrong department",
        "sent in error", "sent to you in error", "sent to you by mistake", "not meant for you",
        "meant for someone else", "apologies if this", "right email", "right address",
        "right inbox", "right person", "right department", "trying to reach",
        "trying to get hold of",
    ),
    # Putting someone forward for an award, and applying for a job: "nomination", "the count"
    # and "polling day" in these are no business of the PARO's.
    "oo_award": (
        "award", "awards", "award nomination", "awards nomination", "of the year",
        "recognition awards", "community awards", "volunteer awards", "put forward for",
        "nominate her for", "nominate him for", "nominate them for",
    ),
    "oo_job": (
        "my cv", "cv attached", "cv is attached", "hiring manager", "job application",
        "post advertised", "role advertised", "vacancy", "vacancies", "like to apply",
        "application for the post", "application for the role", "apply for the post",
        "apply for the role", "apply for the job", "currently recruiting", "you're recruiting",
        "you are recruiting", "looking for work", "paid work", "does it pay", "volunteer",
        "volunteering", "to volunteer",
    ),
    "oo_marketing": (
        "unsubscribe", "free demo", "book a demo", "free trial", "special offer", "webinar",
        "our services", "our solution", "we help", "limited time", "invoice", "pricing",
    ),
    "oo_local": (
        "speeding", "speed limit", "parking", "parked", "noise", "loud music", "neighbour",
        "neighbours", "antisocial", "anti-social", "fly-tipping", "fly tipping", "dog fouling",
        "potholes", "nobody does anything", "race through", "outside my house", "every night",
        "youths", "teenagers", "asb", "scooters", "e-scooters", "drug dealing", "dealing drugs",
    ),
    "oo_police_complaint": (
        "professional standards", "complaint about an officer", "complaint against", "rude officer",
        "iopc", "police complaint", "rude to me", "was rude", "ignored me", "complain about him",
        "complain about her", "complain about an officer", "complaint about a police officer",
        "complain about a police officer",
    ),
    # --- cues ---------------------------------------------------------------------------------
    "cue_ask": (
        "could you", "can you", "would you", "will you", "could i", "can i", "may i", "could we",
        "can we", "would it be possible", "is it possible", "please", "pls", "plz", "i would like",
        "i'd like", "id like", "we would like", "we'd like", "would welcome", "i would be grateful",
        "grateful if", "i am writing to", "i'm writing to", "im writing to", "i write to", "i want",
        "i wish", "we want", "i need", "we need", "request", "requesting", "wonder if",
        "wondered if", "wondering if", "let me know", "tell me", "send me", "i'd like to know",
        "whether", "complain", "complaint", "concerned", "problem", "hasn't", "hasnt", "haven't",
        "havent", "has not", "have not", "not received", "not allowed", "seeking", "advise",
        "advice", "query", "would love", "we'd love", "would be delighted", "invite", "invitation",
        "would you be", "if you could", "hoping", "keen to", "interested in",
    ),
    # Question words ask only when they open a sentence: "candidates who have..." does not.
    "cue_question": (
        "how", "what", "whats", "when", "where", "which", "who", "why", "do i", "am i", "is there",
        "are there", "are you", "do you", "does the", "is it",
    ),
    # A bare auxiliary asks only as the first word: "Is this allowed", not "Teenagers are".
    "cue_aux": (
        "can", "could", "would", "will", "should", "is", "are", "does", "do", "has", "have", "did",
        "may", "shall",
    ),
    "cue_negation": (
        "not a", "not an", "isn't a", "isnt a", "is not a", "not making a", "not asking about",
        "not about", "nothing to do with", "not related to", "unrelated to", "rather than",
        "instead of", "no need for", "don't want", "do not want", "dont want", "not a formal",
        "not formally", "not under", "not via", "not through", "not asking for",
    ),
    "cue_incidental": (
        "obtained under", "obtained through", "obtained via", "obtained using", "obtained",
        "released under", "released", "revealed", "revealed under", "disclosed under", "disclosed",
        "published under", "according to", "following an", "following a", "following", "after",
        "before", "since", "now that", "once", "ahead of", "prior to", "in the run-up to",
        "in the run up to", "run-up to", "until", "by the time", "as a result of", "in response to",
        "previous", "previously", "last year's", "i've", "i have", "having", "i am now", "i'm now",
    ),
    # Sending something is not asking: "please" inside these does not ask.
    "cue_enclosure": (
        "please find", "please see attached", "please see below", "please note",
        "please be advised", "please ignore", "please accept",
    ),
    "cue_identity": (
        "as the", "as a", "as an", "as his", "as her", "as their", "i am the", "i'm the", "im the",
        "i am a", "i'm a",
    ),
    # After the hit: "my election agent and I would like to meet..." names who is coming.
    "cue_company": (
        "and i", "and me", "and myself", "will attend", "will be attending", "will accompany",
        "will come", "would like to attend", "will join",
    ),
    "cue_send": ("send me", "send us", "email me", "copy of", "a copy", "forward me", "share the"),
    "cue_statistics": (
        "how many", "number of", "statistics", "figures", "how often", "total", "proportion",
        "percentage", "received in",
    ),
}
# fmt: on

# Welsh (an office in Wales receives both languages). Added to the English terms of the same
# name, so a rule fires on either. Welsh mutates a word's first letter after some words
# ("Deddf" / "o dan Ddeddf", "pleidlais" / "ei bleidlais", "gwybodaeth" / "am wybodaeth"):
# the common mutated forms are listed, and the one-letter slips of a word of six letters or
# more match anyway (see ``rules._typo_table``).
# fmt: off
WELSH_TERMS: dict[str, tuple[str, ...]] = {
    "sar_own": (
        "fy nata personol", "fy ngwybodaeth bersonol", "data personol amdanaf",
        "gwybodaeth bersonol amdanaf", "sydd gennych amdanaf", "sydd gynnoch chi amdana i",
        "amdanaf i", "amdana i", "amdanaf", "fy ffeil", "fy nghofnodion", "fy nghofnod",
        "lle mae fy enw", "sy'n fy enwi", "lle rwyf wedi fy enwi", "sy'n cyfeirio ataf",
        "sy'n ymwneud â mi", "sy'n sôn amdanaf",
    ),
    "sar_access": (
        "cais gwrthrych am wybodaeth", "cais gwrthrych", "cais mynediad at ddata gwrthrych",
        "cais am fynediad at ddata gwrthrych", "mynediad at ddata gwrthrych", "hawl mynediad",
        "fy hawl mynediad", "erthygl 15",
    ),
    "sar_law": (
        "deddf diogelu data", "ddeddf diogelu data", "diogelu data", "gdpr y du",
        "deddfwriaeth diogelu data", "cyfraith diogelu data", "gyfraith diogelu data",
    ),
    "foi_act": (
        "deddf rhyddid gwybodaeth", "ddeddf rhyddid gwybodaeth", "rhyddid gwybodaeth",
        "ryddid gwybodaeth", "cais rhg", "rhg", "rheoliadau gwybodaeth amgylcheddol",
        "reoliadau gwybodaeth amgylcheddol", "deddf 2000", "ddeddf 2000",
        "adran 1 o ddeddf", "adran 1 deddf",
    ),
    "foi_recorded": ("gwybodaeth a gofnodwyd", "wybodaeth a gofnodwyd", "gwybodaeth gofnodedig",
                     "wybodaeth gofnodedig"),
    "el_nomination": (
        "papurau enwebu", "papur enwebu", "ffurflenni enwebu", "ffurflen enwebu", "pecyn enwebu",
        "dyddiad cau enwebiadau", "datganiad y personau a enwebwyd", "hysbysiad etholiad",
        "tynnu'n ôl fel ymgeisydd", "tynnu'n ôl o'r etholiad", "disgrifiad ar y papur pleidleisio",
    ),
    "el_signatures": ("llofnodion", "lofnodion"),
    "el_electors": ("etholwyr", "etholwyr cofrestredig", "ardal yr heddlu"),
    "el_deposit": ("ernes",),
    "el_eligibility": (
        "cymhwyso i sefyll", "cymwys i sefyll", "hawl i sefyll", "cael sefyll",
            "ymddiswyddo cyn sefyll",
        "ymddiswyddo cyn sefyll yn", "rhaid i mi ymddiswyddo", "sefyll fel ymgeisydd",
    ),
    "el_timetable": ("amserlen yr etholiad", "diwrnod pleidleisio", "diwrnod yr etholiad",
                     "dyddiad y bleidlais"),
    "el_polling": (
        "gorsaf bleidleisio", "gorsafoedd pleidleisio", "ngorsaf bleidleisio", "cerdyn pleidleisio",
        "ngherdyn pleidleisio", "papur pleidleisio", "papurau pleidleisio", "blwch pleidleisio",
        "prawf adnabod", "brawf adnabod", "cofrestru i bleidleisio", "y gofrestr etholwyr",
        "tystysgrif awdurdod pleidleisiwr",
    ),
    "el_absent": (
        "pleidlais bost", "bleidlais bost", "pleidleisiau post", "bleidleisiau post",
        "drwy ddirprwy", "pleidlais drwy ddirprwy", "pleidleisio drwy ddirprwy",
    ),
    "el_count": ("y cyfrif", "cyfrif y pleidleisiau", "ail-gyfrif", "y dilysu", "dilysu a'r cyfrif",
                 "canolfan gyfrif", "cyhoeddi'r canlyniad"),
    "el_agents": ("asiant etholiad", "asiantau cyfrif", "asiant cyfrif", "asiantau pleidleisio",
                  "asiant pleidleisio", "penodi asiantau"),
    "el_spending": ("terfyn gwariant", "treuliau etholiad", "ffurflen treuliau",
        "gwariant ymgyrch"),
    "el_imprint": ("argraffnod", "argraffnodau"),
    "el_officer": (
        "swyddog canlyniadau", "swyddog canlyniadau ardal yr heddlu", "swyddog canlyniadau lleol",
        "gwasanaethau etholiadol", "comisiwn etholiadol", "y comisiwn etholiadol",
    ),
    "el_misconduct": ("datganiad ffug", "twyll etholiadol", "twyll etholiad",
                      "cyfraith etholiadol", "trosedd etholiadol"),
    "el_vote": ("pleidleisio", "bleidleisio", "pleidlais", "bleidlais"),
    "mt_meet": ("cyfarfod gyda", "cyfarfod â", "gyfarfod gyda", "gyfarfod â", "cwrdd â", "gwrdd â",
                "cyfarfod byr", "cyfarfod teams", "sgwrs gyda", "cyfarfod ar-lein"),
    "mt_visit": ("ymweld â", "ymweliad â", "ymweliad", "taith o amgylch", "dod draw"),
    "mt_ride": ("mynd allan gyda swyddogion", "treulio diwrnod gyda", "ymuno â'r tîm",
                "allan gyda swyddogion ymateb"),
    "mt_event": ("hystings", "cyfarfod hystings", "siarad yn ein", "dod i siarad", "gwahodd"),
    "mt_photo": ("tynnu llun", "tynnu ei llun", "tynnu ei lun", "cyfle i dynnu lluniau",
                 "llun wedi'i dynnu", "cyfle llun"),
    "cd_imagery": ("lifrai", "mewn lifrai", "gwisg heddlu", "logo'r heddlu", "arfbais",
                   "arfbais yr heddlu", "car heddlu", "fan heddlu", "lluniau o swyddogion"),
    "cd_material": ("taflen", "taflenni", "deunydd ymgyrch", "fideo ymgyrch", "gwefan ymgyrch",
                    "arwydd ymgyrch", "hysbyseb", "tudalen facebook"),
    "cd_candidate": ("ymgeisydd", "ymgeiswyr", "ymgyrch", "plaid", "gwrthwynebydd"),
    "cd_staff": ("swyddog", "swyddogion", "rhingyll", "arolygydd", "staff y swyddfa",
                 "aelod o staff", "prif arolygydd"),
    "cd_sides": ("canfasio", "cefnogi ymgeisydd", "cymeradwyo", "rhannu negeseuon ymgyrch",
                 "dosbarthu taflenni ymgyrch", "yn cymryd ochr", "cymryd ochr", "o'u plaid"),
    "cd_resources": ("adnoddau'r swyddfa", "adnoddau cyhoeddus", "oriau gwaith",
        "cyfrif swyddogol"),
    "cd_neutrality": ("niwtraliaeth", "diduedd", "ddiduedd", "niwtraliaeth wleidyddol"),
    "md_identity": ("newyddiadurwr", "newyddiadurwraig", "gohebydd", "ohebydd", "cynhyrchydd",
                    "gynhyrchydd", "ymholiad y wasg", "ymholiad gan y wasg", "golygydd"),
    "md_story": ("ar gyfer stori", "ar gyfer erthygl", "ein stori", "ein herthygl",
        "erthygl nodwedd",
                 "blog byw"),
    "md_comment": ("datganiad byr", "sylw ar", "roi sylw", "rhoi sylw", "hawl i ymateb",
                   "ar y record", "hoffech chi ymateb", "eich dyfynnu", "ddyfynnu"),
    "md_comment_weak": ("datganiad", "sylw", "sylwadau"),
    "md_deadline": ("terfyn amser", "erbyn diwedd y dydd", "darlledu", "cyhoeddi'r stori"),
    "md_broadcast": ("podlediad", "cyfweliad", "gyfweliad", "rhaglen newyddion", "ar yr awyr",
                     "s4c", "radio cymru", "bbc cymru", "itv cymru", "newyddion s4c", "ffilmio"),
    "md_outlet": ("golwg", "golwg360", "papur newydd", "cylchgrawn", "daily post", "argus",
                  "cambrian news", "barn"),
    "in_money": ("cyllideb", "gyllideb", "praesept", "treth gyngor", "nhreth gyngor", "cyllid",
                 "arian", "grant", "grantiau", "gwariant", "faint o arian", "cyflog", "costau"),
    "in_crime": ("ffigurau troseddu", "ffigurau", "ystadegau", "nifer y", "faint o"),
    "in_plan": ("cynllun heddlu a throseddu", "adroddiad blynyddol", "panel heddlu a throseddu",
                "blaenoriaethau", "strategaeth", "arolwg"),
    "in_staff": ("swyddogion bro", "staffio", "strwythur staff", "amseroedd ymateb", "galwadau 999",
                 "galwadau 101"),
    "in_pack": ("pecyn briffio", "deunydd briffio", "pecyn gwybodaeth"),
    "in_services": ("gwasanaethau i ddioddefwyr", "dioddefwyr", "cam-drin domestig",
                    "diogelwch cymunedol", "contract", "contractau"),
    "oo_crime": ("rhoi gwybod am drosedd", "torri i mewn", "wedi'i ddwyn", "wedi'i dwyn", "dwyn fy",
                 "ymosodiad", "sgam", "riportio"),
    "oo_case": ("rhif trosedd", "rhif cyfeirnod", "fy achos", "diweddariad ar fy"),
    "oo_emergency": ("argyfwng", "ffoniwch 999", "mewn perygl"),
    "oo_lost": ("ar goll", "wedi colli", "collais", "eiddo coll"),
    "oo_wrong": ("lle anghywir", "cyfeiriad anghywir", "person anghywir", "drwy gamgymeriad"),
    "oo_award": ("gwobr", "gwobrau", "ar gyfer gwobr"),
    "oo_job": ("swydd", "swyddi", "recriwtio", "gwneud cais am swydd", "fy cv", "gwirfoddoli",
               "gwirfoddolwr", "chwilio am waith", "gwaith am dâl", "faint mae'n talu"),
    "oo_marketing": ("dad-danysgrifio", "cynnig arbennig", "ein gwasanaethau", "gweminar"),
    "oo_local": ("parcio", "sŵn", "swnllyd", "cymdogion", "ymddygiad gwrthgymdeithasol",
                 "twll yn y ffordd", "goryrru"),
    "oo_police_complaint": ("cwyn am swyddog", "cwyno am swyddog", "safonau proffesiynol",
                            "anghwrtais"),
    "cue_ask": (
        "a allech chi", "allech chi", "allwch chi", "a allwch chi", "a fyddech chi", "fyddech chi",
        "a fyddai", "fyddai", "hoffwn", "hoffem", "hoffai", "a gaf i", "ga i", "oes modd",
        "a oes modd", "a wnewch chi", "wnewch chi", "anfonwch", "rhowch wybod", "gofynnaf",
        "gofyn am", "rwy'n gofyn", "dwi isio", "dwi eisiau", "dwi moyn", "rwyf am", "cwyn",
        "pryder", "fasech chi", "a fyddech cystal", "byddwn yn ddiolchgar",
    ),
    "cue_question": ("sut", "beth", "pryd", "ble", "pa", "pwy", "pam", "faint", "oes", "ydy",
                     "ydw i", "a oes", "a yw", "ydych chi", "a ydych"),
    "cue_negation": ("nid cais", "nid gofyn am", "nid gofyn", "yn hytrach na", "nid yw hwn yn"),
    "cue_incidental": ("gan fy mod", "nawr bod", "ar ôl", "ers", "unwaith y bydd", "a gafwyd o dan",
                       "a ryddhawyd", "mewn ymateb i"),
    "cue_identity": ("fel ymgeisydd", "fel asiant", "rwy'n asiant", "fi yw asiant",
        "rwy'n gweithio i"),
    "cue_statistics": ("faint o", "nifer y", "ystadegau", "ffigurau", "cyfanswm", "canran"),
}
# fmt: on

# Welsh mutates a word's first consonant after certain words: "taflen" is "daflen" after "y"
# (soft), "nhaflen" after "fy" (nasal), "thaflen" after "ei" her (aspirate); "cais" is "gais",
# "nghais", "chais". A writer's phrase may start with any of them, so each Welsh signal phrase
# also matches with its first word mutated (cue words, short function words, are left as
# written). Soft mutation drops an initial "g", which only counts when five letters or more
# remain ("grant" would become the English "rant").
MUTATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ll", ("l",)),
    ("rh", ("r",)),
    ("p", ("b", "mh", "ph")),
    ("t", ("d", "nh", "th")),
    ("c", ("g", "ngh", "ch")),
    ("b", ("f", "m")),
    ("d", ("dd", "n")),
    ("g", ("", "ng")),
    ("m", ("f",)),
)
MUTATION_MIN_LETTERS = 5


def welsh_mutations(phrase: str) -> tuple[str, ...]:
    """The phrase with its first word in each mutated form (the phrase itself not included)."""
    first, _, rest = phrase.partition(" ")
    if len(first) < 3 or first.startswith(("ff", "dd", "ng", "ch", "ph")):
        return ()
    for radical, forms in MUTATIONS:
        if first.startswith(radical):
            stem = first[len(radical) :]
            words = [f + stem for f in forms if len(f + stem) >= MUTATION_MIN_LETTERS or f]
            return tuple(" ".join((w, rest)).strip() for w in words if w != first)
    return ()


for _name, _phrases in WELSH_TERMS.items():
    _mutated = (
        ()
        if _name.startswith("cue_")
        else tuple(m for phrase in _phrases for m in welsh_mutations(phrase) if m not in _phrases)
    )
    TERMS[_name] = TERMS.get(_name, ()) + _phrases + tuple(dict.fromkeys(_mutated))

REGEXES: dict[str, tuple[str, ...]] = {
    "sar_access": (r"\bSARs?\b",),
    "el_deposit_amount": (r"£\s?5,?000\b",),
    "el_count": (r"(?i)\bthe count\b(?!\s+of\b)", r"(?i)\bcount(ing)? of (the )?(votes|ballots)"),
    "el_signatures": (r"\b100 (signatures|names|electors)\b",),
    "md_deadline": (r"(?i)\bby \d{1,2}([:.]\d{2})?\s?(am|pm)\b", r"(?i)\bdeadline is\b"),
    "oo_case": (r"\b\d{2}/\d{4,}/\d{2}\b", r"\b\d{2}/\d{5,}\b", r"\b[A-Z]{2,3}-?\d{6,}\b"),
}

RULES: tuple[Rule, ...] = (
    # subject access: own data beats the FOI Act when both are cited
    Rule(C.SUBJECT_ACCESS_REQUEST, ("sar_own",), 3.0, unless=("cue_statistics",)),
    Rule(C.SUBJECT_ACCESS_REQUEST, ("sar_about_me", "sar_data_noun"), 2.5),
    Rule(
        C.SUBJECT_ACCESS_REQUEST,
        ("sar_access",),
        3.0,
        discounted_by=INCIDENTAL,
        unless=("cue_statistics",),
    ),
    Rule(C.SUBJECT_ACCESS_REQUEST, ("sar_law",), 1.0, unless=("cue_statistics",)),
    # freedom of information; "figures obtained under FOI" is a journalist's source, not a request
    Rule(C.FOI_REQUEST, ("foi_act",), 3.0, discounted_by=INCIDENTAL),
    Rule(C.FOI_REQUEST, ("foi_recorded",), 1.5, discounted_by=INCIDENTAL),
    # electoral process: incidental mentions ("now that nominations have closed") are discounted
    Rule(C.ELECTORAL_PROCESS, ("el_nomination",), 2.5, discounted_by=INCIDENTAL),
    Rule(C.ELECTORAL_PROCESS, ("el_subscribers",), 2.5, discounted_by=INCIDENTAL),
    Rule(C.ELECTORAL_PROCESS, ("el_signatures", "el_electors"), 2.5, discounted_by=INCIDENTAL),
    Rule(C.ELECTORAL_PROCESS, ("el_signatures",), 1.0, discounted_by=INCIDENTAL),
    Rule(
        C.ELECTORAL_PROCESS,
        ("el_deposit",),
        2.5,
        discounted_by=INCIDENTAL,
        unless=("in_services",),
    ),
    Rule(C.ELECTORAL_PROCESS, ("el_deposit_amount",), 2.5, discounted_by=INCIDENTAL),
    Rule(C.ELECTORAL_PROCESS, ("el_eligibility",), 2.5, discounted_by=INCIDENTAL),
    Rule(C.ELECTORAL_PROCESS, ("el_timetable",), 2.5, discounted_by=INCIDENTAL),
    Rule(C.ELECTORAL_PROCESS, ("el_polling",), 2.5, discounted_by=INCIDENTAL),
    Rule(C.ELECTORAL_PROCESS, ("el_absent",), 2.5, discounted_by=INCIDENTAL),
    Rule(C.ELECTORAL_PROCESS, ("el_count",), 2.5, discounted_by=INCIDENTAL),
    Rule(C.ELECTORAL_PROCESS, ("el_agents",), 2.5, discounted_by=AS_SOMEONE),
    Rule(C.ELECTORAL_PROCESS, ("el_spending",), 2.5, discounted_by=INCIDENTAL),
    Rule(C.ELECTORAL_PROCESS, ("el_imprint",), 2.5, discounted_by=INCIDENTAL),
    Rule(C.ELECTORAL_PROCESS, ("el_officer",), 2.5, discounted_by=AS_SOMEONE),
    Rule(
        C.ELECTORAL_PROCESS,
        ("el_misconduct",),
        2.5,
        discounted_by=INCIDENTAL,
        unless=("cd_imagery",),
    ),
    Rule(C.ELECTORAL_PROCESS, ("el_vote",), 1.0, discounted_by=INCIDENTAL),
    # meetings are asked for; an interview or a comment is the press office's, not a meeting
    Rule(
        C.MEETING_REQUEST,
        ("mt_meet",),
        2.5,
        asked=True,
        unless=("md_broadcast", "md_comment", "md_identity", "mt_not", "cue_send"),
    ),
    Rule(C.MEETING_REQUEST, ("mt_visit",), 2.5, asked=True),
    Rule(C.MEETING_REQUEST, ("mt_ride",), 2.5, asked=True),
    Rule(
        C.MEETING_REQUEST,
        ("mt_event",),
        2.5,
        asked=True,
        unless=("md_broadcast", "md_comment", "md_identity"),
    ),
    Rule(C.MEETING_REQUEST, ("mt_photo",), 2.5, asked=True),
    Rule(C.MEETING_REQUEST, ("mt_briefing",), 2.0, asked=True, unless=("cue_send",)),
    Rule(C.MEETING_REQUEST, ("mt_time",), 1.0, asked=True),
    # conduct: police imagery or people taking sides in a campaign, office resources used for it
    Rule(C.CONDUCT_CONCERN, ("cd_imagery", "cd_material", "cd_candidate"), 3.0),
    Rule(C.CONDUCT_CONCERN, ("cd_imagery", "cd_material"), 1.5),
    Rule(C.CONDUCT_CONCERN, ("cd_imagery", "cd_sides"), 3.0),
    Rule(C.CONDUCT_CONCERN, ("cd_photo", "cd_staff", "cd_material"), 3.0),
    Rule(C.CONDUCT_CONCERN, ("cd_staff", "cd_sides"), 3.0),
    Rule(C.CONDUCT_CONCERN, ("cd_staff", "cd_social", "cd_candidate"), 2.5),
    Rule(C.CONDUCT_CONCERN, ("cd_resources", "cd_material"), 3.0),
    Rule(C.CONDUCT_CONCERN, ("cd_resources", "cd_sides"), 3.0),
    Rule(C.CONDUCT_CONCERN, ("cd_neutrality",), 1.5),
    Rule(C.CONDUCT_CONCERN, ("cd_imagery",), 1.0),
    # media: who is asking, for what, by when
    Rule(C.MEDIA_ENQUIRY, ("md_identity",), 2.5),
    Rule(C.MEDIA_ENQUIRY, ("md_story",), 2.0),
    Rule(C.MEDIA_ENQUIRY, ("md_comment",), 2.0),
    Rule(C.MEDIA_ENQUIRY, ("md_comment_weak",), 1.0),
    Rule(C.MEDIA_ENQUIRY, ("md_deadline",), 1.0),
    Rule(C.MEDIA_ENQUIRY, ("md_broadcast",), 2.0, asked=True),
    Rule(C.MEDIA_ENQUIRY, ("md_broadcast_weak",), 1.0, asked=True),
    Rule(C.MEDIA_ENQUIRY, ("md_outlet",), 1.5),
    # information requests: the topics, when asked about
    Rule(C.INFORMATION_REQUEST, ("in_money",), 2.5, asked=True),
    Rule(C.INFORMATION_REQUEST, ("in_crime",), 2.5, asked=True),
    Rule(C.INFORMATION_REQUEST, ("in_plan",), 2.5, asked=True),
    Rule(C.INFORMATION_REQUEST, ("in_staff",), 2.5, asked=True),
    Rule(C.INFORMATION_REQUEST, ("in_pack",), 3.0, asked=True),
    Rule(C.INFORMATION_REQUEST, ("in_services",), 1.5, asked=True),
    # out of scope: crimes, cases, emergencies, lost property, misdirected and unsolicited mail
    Rule(C.OUT_OF_SCOPE, ("oo_crime",), 3.0),
    Rule(C.OUT_OF_SCOPE, ("oo_case",), 3.0),
    Rule(C.OUT_OF_SCOPE, ("oo_emergency",), 2.5),
    Rule(C.OUT_OF_SCOPE, ("oo_lost",), 3.0),
    Rule(C.OUT_OF_SCOPE, ("oo_wrong",), 3.0),
    Rule(C.OUT_OF_SCOPE, ("oo_award",), 3.0),
    Rule(C.OUT_OF_SCOPE, ("oo_job",), 3.0),
    Rule(C.OUT_OF_SCOPE, ("oo_marketing",), 2.0),
    Rule(C.OUT_OF_SCOPE, ("oo_local",), 2.0),
    Rule(C.OUT_OF_SCOPE, ("oo_police_complaint",), 3.0),
)

CUE_TERMS = frozenset(name for name in TERMS if name.startswith("cue_"))
