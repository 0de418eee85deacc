"""The rule classifier against a table of messages written for it.

Each row is (subject, body, expected category). The rows cover all eight human categories,
the hard pairs (a candidate's data question vs a deposit question, a journalist's comment
request vs a journalist's FOI request, police photos on a leaflet vs a complaint about the
count, a crime report sent to the wrong inbox), typos, messages that avoid the obvious words,
signatures, disclaimers and quoted threads.
"""

from __future__ import annotations

import pytest

from inbox_agent.classify import Category, Classification
from inbox_agent.classify.rules import VERSION, classify_text, typo_variants

SAR = Category.SUBJECT_ACCESS_REQUEST
FOI = Category.FOI_REQUEST
ELECTORAL = Category.ELECTORAL_PROCESS
MEETING = Category.MEETING_REQUEST
CONDUCT = Category.CONDUCT_CONCERN
MEDIA = Category.MEDIA_ENQUIRY
INFO = Category.INFORMATION_REQUEST
OUT = Category.OUT_OF_SCOPE

COUNCIL_DISCLAIMER = (
    "This email and any files transmitted with it are confidential and intended solely for the "
    "use of the individual to whom they are addressed. If you have received this email in error "
    "please notify the sender and delete it. Emails to and from the Council may be monitored and "
    "may be disclosed under the Freedom of Information Act 2000 or the Data Protection Act 2018."
)

CANDIDATE_SIGNATURE = (
    "\n\nKind regards,\n\nAlan Price\nElection Agent to Jane Doe, candidate for Police and Crime "
    "Commissioner\nPromoted by Alan Price on behalf of Jane Doe, both of 4 Mill Lane, Westbrook"
)

CASES: list[tuple[str, str, Category]] = [
    # ---- subject access requests ----------------------------------------------------------
    (
        "Request for my records",
        "Dear Sir or Madam,\n\nUnder the Data Protection Act 2018 I would like copies of all the "
        "personal data your office holds about me, including any emails in which I am named."
        "\n\nRegards,\nPeter Hall",
        SAR,
    ),
    (
        "FOI request",
        "Under the Freedom of Information Act I request all correspondence the Commissioner's "
        "office has had about me since January, including notes of my phone calls.",
        SAR,
    ),
    (
        "Subject access request - J. Okafor",
        "Please treat this as a SAR. Your staff spoke to me about a complaint in 2022 and I want "
        "everything that was recorded about me.",
        SAR,
    ),
    (
        "Subjet acess request",
        "I want to exercise my right of acess under article 15 UK GDPR to the data you hold on me.",
        SAR,
    ),
    (
        "What do you have on me?",
        "Last year I emailed the Commissioner twice about my son's arrest. Can you send me "
        "copies of everything your office kept on file about me?",
        SAR,
    ),
    (
        "Personal data",
        "Hello, I am a PCC candidate and I believe your office has compiled notes on my "
        "campaign. Please provide all the personal data you hold relating to me under the UK "
        "GDPR.\n\nThanks\nMark Ellis\n\n" + COUNCIL_DISCLAIMER,
        SAR,
    ),
    (
        "Re: Your request",
        "Yes, it is my own information I am after, not general statistics. Please process it as "
        "a subject access request.\n\nOn 3 Apr 2024, at 09:12, OPCC Election wrote:\n> Could you "
        "clarify whether your request is under the Freedom of Information Act?\n> Many thanks",
        SAR,
    ),
    (
        "Data protection",
        "Dear OPCC, I'd like to know what personal information about me was passed to the force "
        "after my complaint last spring, as is my right under data protection law.",
        SAR,
    ),
    (
        "Records",
        "I'd like all records your office holds which name me, under my data protection rights.",
        SAR,
    ),
    ("my data", "Please send me all the data you have on me.", SAR),
    (
        "Access to my file",
        "I believe the PCC's office has a complaint file with my name on it. I'd like a copy of "
        "everything in it please.",
        SAR,
    ),
    (
        "SAR",
        "I'm writing to ask for a copy of my information held by your office, including call "
        "recordings.",
        SAR,
    ),
    # ---- freedom of information -----------------------------------------------------------
    (
        "Freedom of Information request - PCC hospitality",
        "Under the Freedom of Information Act 2000, please provide the total spent on hospitality "
        "by the OPCC in each of the last three financial years.",
        FOI,
    ),
    (
        "FOI - Echo newsroom",
        "I'm a reporter at the Northfield Echo. This is a request under the Freedom of "
        "Information Act: please provide the number of complaints received about the PCC in "
        "2023, by month.\n\nSam Reid\nChief Reporter, Northfield Echo",
        FOI,
    ),
    (
        "Environmental information",
        "Under the Environmental Information Regulations 2004, please send me recorded "
        "information about the energy use of the force headquarters building since 2020.",
        FOI,
    ),
    (
        "Request for recorded information",
        "Please treat this as a request under the 2000 Act for recorded information: copies of "
        "the register of gifts and hospitality for the Commissioner's staff.",
        FOI,
    ),
    (
        "freedom of infomation",
        "Please can you supply under freedom of infomation the contract value for the force's "
        "body-worn video supplier.",
        FOI,
    ),
    (
        "Freedom of Information request",
        "Under the FOI Act please tell me how many subject access requests the OPCC received in "
        "2023 and how many were answered late.",
        FOI,
    ),
    (
        "FOI - election costs",
        "Under FOIA, how much has the OPCC set aside for the pre-election period, including the "
        "cost of running the election inbox?",
        FOI,
    ),
    (
        "Re: Information request",
        "Thanks. In that case please handle it formally as an FOI.\n\nSent from my phone\n\nOn "
        "Tue, 2 Apr 2024 at 10:14, OPCC Election <election@opcc.example> wrote:\n> We can "
        "provide the figures informally if you prefer.",
        FOI,
    ),
    (
        "Request under FOIA",
        "Dear FOI team, please disclose the number of complaints made against the PCC since 2021.",
        FOI,
    ),
    (
        "FOI",
        "Further to my earlier email, I now wish to make this a formal request under the Freedom "
        "of Information Act.\n\n> Please could you send me your gifts register?",
        FOI,
    ),
    (
        "FOI request: consultancy spend",
        "Please supply, under the Act, details of all consultancy contracts let by the OPCC since "
        "April 2022.",
        FOI,
    ),
    (
        "Foi",
        "Under the freedom of information act how many staff does the OPCC employ and what are "
        "their salary bands?",
        FOI,
    ),
    # ---- electoral process ----------------------------------------------------------------
    (
        "Nomination papers",
        "Hello, where do I collect the nomination forms and how many signatures do I need from "
        "electors in the police area?",
        ELECTORAL,
    ),
    (
        "Deposit",
        "Can the £5,000 be paid by bank transfer, and when is it given back?",
        ELECTORAL,
    ),
    (
        "Access at my polling station",
        "The polling station at St Mary's hall has steps and no ramp. Who do I speak to so my "
        "mother can vote on 2 May?",
        ELECTORAL,
    ),
    (
        "postal vote hasnt arrived",
        "My postal vote still hasn't come and the election is next week. What should I do?",
        ELECTORAL,
    ),
    (
        "Complaint about the count",
        "I was a counting agent on Friday and want to complain that the verification of postal "
        "ballots was rushed and agents were not allowed to observe.",
        ELECTORAL,
    ),
    (
        "Spending limit",
        "What is the maximum a PCC candidate may spend on their campaign, and who receives my "
        "expenses return after the poll?",
        ELECTORAL,
    ),
    (
        "Leaflet question",
        "Does my leaflet need an imprint if it is only going out on social media?",
        ELECTORAL,
    ),
    (
        "Can I stand?",
        "I'm a special constable. Am I allowed to stand for PCC, or would I be disqualified?",
        ELECTORAL,
    ),
    (
        "Forms",
        "How do I get the forms with 100 signatures to you, and do the people signing have to "
        "live in the force area?",
        ELECTORAL,
    ),
    (
        "Appointing an agent",
        "Who do I tell if I want my wife to act as my election agent, and is there a cut-off date?",
        ELECTORAL,
    ),
    (
        "Opponent's leaflet",
        "Candidate X's leaflet claims I was convicted of fraud, which is completely untrue. Who "
        "deals with false statements about candidates during the election?",
        ELECTORAL,
    ),
    (
        "Question for the returning officer",
        "Could you pass this to the Police Area Returning Officer: what time will the result be "
        "declared?",
        ELECTORAL,
    ),
    (
        "Key dates",
        "When do nominations close and when is the list of persons nominated published?",
        ELECTORAL,
    ),
    (
        "nominaton papers",
        "hi whats the last day for handing in nominaton papers",
        ELECTORAL,
    ),
    (
        "Proxy",
        "I will be in hospital on polling day. Is it too late to arrange for my daughter to vote "
        "by proxy?",
        ELECTORAL,
    ),
    (
        "Can I vote?",
        "What ID do I need to bring with me to vote this time?",
        ELECTORAL,
    ),
    (
        "Lies on the doorstep",
        "Candidate B has been telling lies about me on doorsteps. Who do I complain to?",
        ELECTORAL,
    ),
    (
        "Staff standing",
        "I work for the OPCC as a policy officer. Can I stand in the PCC election or must I "
        "resign first?",
        ELECTORAL,
    ),
    (
        "Echo photographer",
        "I'm a reporter with the Echo. Can our photographer get access to the count on Friday?",
        ELECTORAL,
    ),
    (
        "Nominations - home address",
        "Do I have to publish my home address on the ballot paper or can I keep it private?",
        ELECTORAL,
    ),
    (
        "Counting",
        "At the verification on Friday will candidates be allowed to bring guests, and how many "
        "counting agents can I appoint?",
        ELECTORAL,
    ),
    (
        "Spending return",
        "When is the deadline for submitting my return of candidate spending after the election?",
        ELECTORAL,
    ),
    (
        "Question re standing",
        "I have a conviction for a driving offence from ten years ago. Does that stop me becoming "
        "a candidate?",
        ELECTORAL,
    ),
    (
        "Polling station worker",
        "Who should I contact about working as a poll clerk on the day?",
        ELECTORAL,
    ),
    (
        "Election spending",
        "Can my party pay for leaflets out of national funds, and does it count towards my limit?",
        ELECTORAL,
    ),
    (
        "Ballot paper question",
        "Will my party logo appear next to my name on the ballot paper?",
        ELECTORAL,
    ),
    (
        "Fwd: candidate query",
        "Hi SPOC, forwarding this from the front counter.\n\nThanks\nPC Jones\n\n---------- "
        "Forwarded message ---------\nFrom: A Voter\n\nWhere do I hand in my postal vote if I miss "
        "the post?",
        ELECTORAL,
    ),
    # ---- meeting requests -----------------------------------------------------------------
    (
        "Request to meet the Chief Constable",
        "As an independent candidate I would welcome a one-to-one meeting with the Chief "
        "Constable to discuss neighbourhood policing.",
        MEETING,
    ),
    (
        "Riverside station",
        "Could I visit Riverside station and see the custody suite before polling day?",
        MEETING,
    ),
    (
        "Ride along",
        "Is it possible to go out on a ride-along with response officers one evening next week?",
        MEETING,
    ),
    (
        "Hustings 18 April",
        "Our residents' association is holding a hustings for the PCC candidates. Would the "
        "Chief Constable or a senior officer be able to attend and answer questions on "
        "policing?",
        MEETING,
    ),
    (
        "Photo call",
        "We'd like to arrange a photo opportunity with the new dog unit for our candidate. Which "
        "day suits?",
        MEETING,
    ),
    (
        "Briefing with the OPCC",
        "Following the close of nominations I'd like to book a briefing session with the Chief "
        "Executive about the office's statutory duties.",
        MEETING,
    ),
    (
        "Coffee?",
        "Would the Commissioner's chief of staff have half an hour for a chat over coffee next "
        "Tuesday? I'm standing for the Green Party.",
        MEETING,
    ),
    (
        "Teams",
        "Can we set up a video call with the Deputy PCC to talk about the victims' code? Any "
        "time Thursday works for me.",
        MEETING,
    ),
    (
        "Shadowing",
        "I would like to spend a shift shadowing the neighbourhood team in Ashton ward.",
        MEETING,
    ),
    (
        "Meeting request",
        "As the Labour candidate's election agent, I'd like to request a meeting with the Chief "
        "Constable.",
        MEETING,
    ),
    (
        "Chief Constable",
        "My election agent and I would like to meet the Chief Constable in the next fortnight.",
        MEETING,
    ),
    (
        "Message for our hustings",
        "Could the PCC send a short message of support to be read out at our hustings?",
        MEETING,
    ),
    (
        "station visit",
        "Would it be possible for me and two volunteers to look round Northgate police station "
        "some time in the next fortnight?",
        MEETING,
    ),
    ("Visit", "Do you offer candidates the chance to see the control room in action?", MEETING),
    (
        "Can we meet?",
        "Dear Commissioner's office, I represent the Westbrook Business Forum and we would like to "
        "invite the Chief Constable to speak at our candidate question time on 20 April.",
        MEETING,
    ),
    ("tour", "hi could i come round the custody suite with my agent", MEETING),
    # ---- conduct concerns -----------------------------------------------------------------
    (
        "Complaint about candidate leaflet",
        "The leaflet delivered to my house today shows Candidate Y standing with three officers "
        "in uniform outside the station. Surely that is not allowed?",
        CONDUCT,
    ),
    (
        "Use of police logo",
        "Candidate Z's website uses the force crest and the slogan 'backed by your police'. "
        "Please can this be looked at.",
        CONDUCT,
    ),
    (
        "PCSO canvassing",
        "I saw a PCSO knocking on doors handing out leaflets for the Conservative candidate on "
        "Sunday afternoon.",
        CONDUCT,
    ),
    (
        "Staff member's tweets",
        "A member of OPCC staff has been retweeting one candidate's posts and attacking another "
        "on Twitter. Is that consistent with political impartiality?",
        CONDUCT,
    ),
    (
        "Misuse of office email",
        "The PCC's office account was used to email party members about a campaign event. "
        "Office resources should not be used for campaigning.",
        CONDUCT,
    ),
    (
        "Not right",
        "Why is there a picture of the Commissioner leaning on a marked patrol car on the "
        "incumbent's election flyer? It looks like the force is endorsing him.",
        CONDUCT,
    ),
    (
        "Police unifrom on leafet",
        "canidate used picture of officers in unifrom on his leafet",
        CONDUCT,
    ),
    (
        "Officer taking sides",
        "At Tuesday's hustings a uniformed inspector stood up and told the room to vote for the "
        "Labour candidate.",
        CONDUCT,
    ),
    (
        "Concern",
        "A sergeant at Westbrook has put a rosette on and is campaigning for one of the "
        "candidates in his spare time, and he tells everyone he's a police officer."
        "\n\nBest wishes\nH. Grant\n\n" + COUNCIL_DISCLAIMER,
        CONDUCT,
    ),
    (
        "Old photo",
        "Is it OK for my campaign leaflet to include a photo of me with our local PCSO taken "
        "last year?",
        CONDUCT,
    ),
    (
        "Re: your leaflet",
        "Your leaflet has a photo of you shaking hands with the Chief Constable at HQ. I thought "
        "police weren't allowed to be in election stuff?",
        CONDUCT,
    ),
    (
        "Candidate Q",
        "Is the OPCC's chief executive allowed to post support for a candidate on her personal "
        "Facebook account?",
        CONDUCT,
    ),
    (
        "PCSO Facebook",
        "One of our PCSOs shared a post on the neighbourhood Facebook page saying 'vote Labour'. "
        "Is this allowed?",
        CONDUCT,
    ),
    (
        "Complaint",
        "Why are police officers standing next to the Conservative candidate in the photo on his "
        "website? Remove it please.",
        CONDUCT,
    ),
    (
        "Officer liking posts",
        "I've noticed that a detective from the CID office keeps liking a candidate's tweets on X. "
        "Surely staff should be neutral?",
        CONDUCT,
    ),
    # ---- media enquiries ------------------------------------------------------------------
    (
        "Media enquiry - Echo",
        "Hi, I'm writing about the rise in shoplifting and wondered if the PCC would like to "
        "comment. My deadline is 3pm tomorrow.\n\nSam Reid\nCrime Reporter | Northfield Echo"
        "\n07700 900123",
        MEDIA,
    ),
    (
        "Request for comment",
        "Figures we obtained under the Freedom of Information Act show 40% of 101 calls were "
        "abandoned last year. Does the Commissioner have a response for our story?",
        MEDIA,
    ),
    (
        "BBC Radio Northfield",
        "Could the PCC come on the breakfast show on Thursday for a live interview about rural "
        "crime?",
        MEDIA,
    ),
    (
        "Podcast invite",
        "We host a local politics podcast and would love the PCC candidates to record an "
        "episode with us before the vote.",
        MEDIA,
    ),
    (
        "Quick one",
        "We're running a piece in Saturday's paper on police station closures. Is it true the "
        "Ashton front counter is shutting, and can we quote the Commissioner?",
        MEDIA,
    ),
    (
        "Numbers for article",
        "For an article I am writing for the Gazette, could you tell me how many officers the "
        "force has now compared with 2019?",
        MEDIA,
    ),
    (
        "Statement request",
        "Newsdesk here. Can we have a statement from the OPCC on the suspension of the chief "
        "constable? We publish online at 6pm.\n\n--\nNewsdesk, Valley Live\n" + COUNCIL_DISCLAIMER,
        MEDIA,
    ),
    (
        "Press enquirey",
        "Im a journalsit with the Herald - does the OPCC have any comment on the cost of the new "
        "HQ?",
        MEDIA,
    ),
    (
        "Sit-down interview",
        "Is the PCC available to meet our reporter for a sit-down interview on Friday?",
        MEDIA,
    ),
    (
        "Enquiry from Radio Westbrook",
        "Hello, would the Commissioner be free to do a two-minute pre-record for our drive-time "
        "slot about the new custody suite?",
        MEDIA,
    ),
    (
        "quote please",
        "We're covering tonight's hustings live. Can the OPCC give us a line on whether the Chief "
        "Constable will attend?",
        MEDIA,
    ),
    (
        "Interview request - ITV Central",
        "Hi, we'd like to film a short piece with the PCC at the new training centre on Tuesday. "
        "Are they available?",
        MEDIA,
    ),
    (
        "Your comments",
        "The Gazette will be reporting the PCC's expenses claims in Thursday's edition. Would you "
        "like to respond?",
        MEDIA,
    ),
    # ---- information requests -------------------------------------------------------------
    (
        "Crime figures",
        "I am standing as an independent candidate. Could you send me the latest burglary and "
        "vehicle crime figures for the Westbrook district?",
        INFO,
    ),
    (
        "Precept",
        "What is this year's police precept for a Band D property, and how has it changed since "
        "2020?",
        INFO,
    ),
    (
        "Police and crime plan",
        "Please could you point me to the current Police and Crime Plan and the latest "
        "performance report against it?",
        INFO,
    ),
    (
        "Candidate pack",
        "Is there a candidate briefing pack I can have? I'd like the same material the other "
        "candidates receive.",
        INFO,
    ),
    (
        "Officer numbers",
        "How many PCSOs and neighbourhood officers are there in the north of the county at the "
        "moment?",
        INFO,
    ),
    (
        "Money for victims",
        "How much does the office give each year to organisations that support victims of "
        "domestic abuse, and who gets it?",
        INFO,
    ),
    (
        "Information please",
        "Now that my nomination has been accepted, could I have a copy of the OPCC's budget for "
        "2024/25 and the medium term financial plan?",
        INFO,
    ),
    (
        "Request for data",
        "Please could you provide the knife crime figures for the last two years, broken down "
        "by district." + CANDIDATE_SIGNATURE,
        INFO,
    ),
    (
        "Budget question",
        "This isn't a formal FOI request - I'd just like to know roughly how much the office "
        "spends on its own staff.",
        INFO,
    ),
    (
        "Custody",
        "How many peple were held in custdy in Westbrook last yr?",
        INFO,
    ),
    (
        "Patrols",
        "Before polling day, could I have the figures on burglary in Ashton?",
        INFO,
    ),
    (
        "Targets",
        "Does the force meet its 999 call answering targets?",
        INFO,
    ),
    (
        "Accountability meeting",
        "Could you send me the minutes of the last accountability meeting?",
        INFO,
    ),
    (
        "Recruitment",
        "How many officers are supporting the new recruitment campaign in uniform?",
        INFO,
    ),
    (
        "Crime data",
        "I've paid my deposit. Could you send me the latest crime statistics?",
        INFO,
    ),
    (
        "Domestic abuse",
        "Could you send me the force's domestic abuse strategy?\n\nBest wishes\nKaren Lowe\n"
        "Election agent for the Green Party, Westbrook\nPlease consider the environment before "
        "printing",
        INFO,
    ),
    (
        "Hello",
        "I'm one of the candidates who has lodged nomination papers. Can you tell me how many "
        "police officers work in Westbrook?",
        INFO,
    ),
    (
        "Patrols on polling day",
        "Will there be extra patrols around schools on polling day?",
        INFO,
    ),
    (
        "Information request",
        "Hi there, I'm putting together my manifesto and would appreciate the latest figures on "
        "rural crime and the number of rural crime officers. Thanks, Dave",
        INFO,
    ),
    (
        "Budget 2024",
        "Hi, Please could you let me know the total net revenue budget for policing this year and "
        "how much of it is funded by the precept? Regards, Sam\n\nSam Hunt | Reform UK candidate | "
        "sam@example.org",
        INFO,
    ),
    ("Statistics request", "Can I get data on stop and search by ethnicity for 2023?", INFO),
    (
        "Re: Request",
        "Many thanks for this. Could you also send the same breakdown for 2022?\n\nOn 4 Apr 2024, "
        "at 11:02, Election SPOC wrote:\n> Please find attached the burglary figures you asked "
        "for.",
        INFO,
    ),
    (
        "Performance",
        "How does our force compare with neighbouring forces on charge rates for rape?",
        INFO,
    ),
    # ---- out of scope ---------------------------------------------------------------------
    (
        "Garage",
        "Someone broke into my garage last night and took two bikes. I need a crime number for "
        "the insurance.",
        OUT,
    ),
    (
        "Ref 24/118823",
        "Still no update from the officer dealing with my assault, reference 24/118823. Can "
        "someone please call me?",
        OUT,
    ),
    (
        "URGENT",
        "There is a man with a knife outside the shop on King Street right now",
        OUT,
    ),
    (
        "Lost wallet",
        "I think I left my wallet on the 42 bus. Has anyone handed it in at a police station?",
        OUT,
    ),
    (
        "Invoice 4471",
        "Please find attached our invoice for the catering at the planning committee. Apologies "
        "if this has gone to the wrong address.",
        OUT,
    ),
    (
        "Speeding in our village",
        "Cars race through Little Hadley every evening. The speed limit is ignored and nobody "
        "does anything.",
        OUT,
    ),
    (
        "Boost your office productivity",
        "We help public sector teams save 30% on print costs. Book a free demo today. "
        "Unsubscribe here.",
        OUT,
    ),
    (
        "Neighbour",
        "My neighbour plays loud music until 3am every night. What can the police do about it?",
        OUT,
    ),
    (
        "stolen car",
        "my car has been stollen from outside my house pls help",
        OUT,
    ),
    (
        "Election query",
        "Not sure if this is the right place but my son was arrested on Saturday and nobody "
        "will tell me where he is being held. Crime ref NW2405118.",
        OUT,
    ),
    (
        "Agenda",
        "Please find the agenda for next week's partnership board attached.\n\nKind regards\n"
        "Jo Smith\nCommunity Safety Officer\n\nThis e-mail is confidential and may be "
        "privileged. Any views expressed are those of the author. Emails may be disclosed under "
        "the Freedom of Information Act.",
        OUT,
    ),
    (
        "Theft",
        "An officer ignored me when I tried to report a theft. How do I complain about him?",
        OUT,
    ),
    (
        "harassment",
        "My ex keeps messaging me and turning up at my work. I've had enough, what can I do?",
        OUT,
    ),
    ("Missing cat", "Has anyone reported finding a ginger cat near the high street?", OUT),
    (
        "Wrong mailbox?",
        "Hi - I'm trying to reach the licensing team about a temporary event notice. Is this the "
        "right email?",
        OUT,
    ),
    (
        "Car accident",
        "I was involved in a collision on the A14 yesterday and need the incident reference for my "
        "insurer.",
        OUT,
    ),
    ("ASB", "Teenagers are riding scooters on the pavement outside my house every night.", OUT),
]

# Messages the rules cannot place reliably. The one thing they must never do is send them to
# the PARO: a wrong electoral_process forward hands personal data to a third party.
NOT_ELECTORAL: list[tuple[str, str]] = [
    ("Thanks", "Thank you for the information, that's very helpful."),
    (
        "Your candidate",
        "I voted for the current PCC last time and he has done nothing about the drug dealing "
        "on our estate. Why should anyone vote for him again?",
    ),
    (
        "Campaign launch",
        "Our campaign launch is at the Corn Exchange on Friday evening. The Commissioner and his "
        "team are very welcome.",
    ),
    (
        "Ashton station",
        "We're counting on the Commissioner to keep Ashton station open after the election.",
    ),
    (
        "Help",
        "I submitted my nomination papers last week. Separately, I'd like to understand how the "
        "force's budget is allocated between districts.",
    ),
    (
        "Briefing",
        "Could you send me the briefing given to candidates last week?",
    ),
    (
        "Re: hustings",
        "Thanks, Tuesday works.\n\n-----Original Message-----\nFrom: OPCC Election\nSent: 03 "
        "April 2024 10:00\nTo: Jo\nSubject: hustings\n\nThe Chief Executive can meet you on "
        "Tuesday or Wednesday to talk about nominations.",
    ),
    (
        "Deposits",
        "I'd like to know the OPCC's deposit arrangements for commissioned services contracts.",
    ),
    (
        "Vote",
        "Please remind people to vote on Thursday!",
    ),
    (
        "Data for hustings",
        "Ahead of next week's hustings I'd like to know the current 101 average answer time.",
    ),
    (
        "Officer was rude",
        "An officer was rude to me when I reported a burglary. I want to make a complaint.",
    ),
]


@pytest.mark.parametrize(("subject", "body", "expected"), CASES, ids=[c[0] for c in CASES])
def test_classifies(subject: str, body: str, expected: Category) -> None:
    result = classify_text(subject, body)
    assert result.category is expected, result.reasons


@pytest.mark.parametrize(("subject", "body"), NOT_ELECTORAL, ids=[c[0] for c in NOT_ELECTORAL])
def test_never_sends_to_paro_wrongly(subject: str, body: str) -> None:
    assert classify_text(subject, body).category is not ELECTORAL


@pytest.mark.parametrize(("subject", "body", "expected"), CASES, ids=[c[0] for c in CASES])
def test_explains_itself(subject: str, body: str, expected: Category) -> None:
    result = classify_text(subject, body)
    assert isinstance(result, Classification)
    assert result.reasons
    assert all(reason.strip() for reason in result.reasons)
    assert 0.0 <= result.confidence <= 1.0
    assert result.version == VERSION


def test_table_covers_every_human_category() -> None:
    counts = {c: sum(1 for *_, e in CASES if e is c) for c in Category}
    assert counts.pop(Category.AUTOMATED) == 0
    assert len(CASES) >= 60
    assert min(counts.values()) >= 6, counts


def test_disclaimer_alone_is_not_an_foi_request() -> None:
    result = classify_text("Minutes", "Minutes attached.\n\nRegards\nJo\n\n" + COUNCIL_DISCLAIMER)
    assert result.category not in (FOI, SAR)


def test_fallback_is_unsure() -> None:
    asked = classify_text("Hello", "Is anyone there?")
    told = classify_text("Hello", "Just saying hello.")
    assert asked.category is INFO
    assert told.category is OUT
    assert asked.confidence < 0.5
    assert told.confidence < 0.5
    assert "fallback" in asked.reasons[-1]


def test_single_weak_electoral_hint_is_below_review_threshold() -> None:
    strong = classify_text("Nomination papers and deposit", "How do I pay the deposit?")
    weak = classify_text("Hello", "How many signatures?")
    assert strong.category is ELECTORAL and strong.confidence >= 0.5
    assert weak.category is not ELECTORAL or weak.confidence < 0.5


def test_negated_foi_is_not_foi() -> None:
    result = classify_text("Question", "This is not a Freedom of Information request.")
    assert result.category is not FOI


def test_reason_names_the_rule() -> None:
    result = classify_text("Request", "Under the Freedom of Information Act, please send X.")
    assert result.category is FOI
    assert result.reasons[0].startswith("foi: 'freedom of information act'")


def test_contested_electoral_is_left_for_review() -> None:
    """Precedence picks electoral_process, but a strong rival keeps it below the 0.5 at which
    decide.py forwards to the PARO."""
    result = classify_text(
        "Officer at the count",
        "At the count a police officer on duty was wearing a party rosette and canvassing "
        "for the Reform candidate. I want to complain.",
    )
    assert result.category is not ELECTORAL or result.confidence < 0.5


def test_background_mention_alone_is_unsure() -> None:
    """An electoral word only in a statement may win when nothing else does, but unsure."""
    result = classify_text("Hi", "My opponent posted lies about me. Who deals with that?")
    assert result.category is ELECTORAL
    assert result.confidence < 0.5
    assert "in passing" in result.reasons[-1]


def test_quoted_thread_never_decides_the_category() -> None:
    quoted = "\n\nOn 2 Apr 2024, at 10:00, OPCC Election wrote:\n> When do nominations close?"
    result = classify_text("Re: query", "Could you also send the precept for this year?" + quoted)
    assert result.category is INFO
    assert not any("[quoted]" in reason for reason in result.reasons)


@pytest.mark.parametrize(
    ("new_text", "quoted", "expected"),
    [
        (  # a journalist's question under our FOI response: the question decides
            "For our story on Friday, can the office comment on the fall in officer numbers?",
            "On 9 Apr 2026, at 12:40, FOI Team <foi@opcc.example.org> wrote:\n"
            "> In response to your request under the Freedom of Information Act 2000 we hold\n"
            "> the following figures.",
            Category.MEDIA_ENQUIRY,
        ),
        (  # Welsh: "Ar ... ysgrifennodd:" quotes a subject access answer under an FOI request
            "Hoffwn wneud cais o dan Ddeddf Rhyddid Gwybodaeth 2000 am gyllideb y swyddfa.",
            "Ar 3 Ebr 2026 am 10:00, Tîm Diogelu Data <dd@opcc.example.org> ysgrifennodd:\n"
            "Dyma gopi o'r data personol sydd gennym amdanoch, fel y gofynnoch.",
            Category.FOI_REQUEST,
        ),
        (  # an Outlook block in Welsh, not ">"-quoted
            "Can I visit the custody suite before polling day?",
            "-----Neges Wreiddiol-----\nOddi wrth: Etholiad\nAnfonwyd: 2 Ebrill 2026\n"
            "Pwnc: FOI\nUnder the Freedom of Information Act, here is the data you asked for.",
            Category.MEETING_REQUEST,
        ),
    ],
)
def test_quoted_history_in_either_language_never_decides(
    new_text: str, quoted: str, expected: Category
) -> None:
    result = classify_text("", f"{new_text}\n\n{quoted}")
    assert result.category is expected, result.reasons


def test_a_signature_disclaimer_citing_the_foi_act_decides_nothing() -> None:
    body = (
        "How many PCSOs work in Llanelli at the moment?\n\nCofion,\nEmlyn\n"
        "Gellir datgelu'r e-bost hwn o dan Ddeddf Rhyddid Gwybodaeth 2000.\n"
    )
    result = classify_text("PCSOs", body)
    assert result.category is INFO, result.reasons


def test_typos_are_one_letter_slips() -> None:
    assert {"nominaton", "nomniation", "nominnation"} <= typo_variants("nomination")
    assert "domination" not in typo_variants("nomination")  # substitutions are not slips
    assert "speeding" not in typo_variants("spending")


def test_huge_body_is_read_in_part() -> None:
    result = classify_text("Budget", "Could you send me the budget? " * 50_000)
    assert result.category is INFO


@pytest.mark.parametrize(
    ("subject", "body", "expected"),
    [
        (  # "ymweld â'r": the article is joined to "â", and curly apostrophes are typed too
            "Gorsaf Aberystwyth",
            "Bore da,\n\nFyddai hi\u2019n bosib i mi ymweld â\u2019r orsaf cyn diwedd y mis?",
            Category.MEETING_REQUEST,
        ),
        (  # "thaflenni", "ei blaid": aspirate and soft mutation of the vocabulary's words
            "Heddlu ar daflen",
            "Mae llun o gar heddlu ar ei thaflenni hi, ac mae swyddog yn sefyll wrth ymgeisydd "
            "ei blaid. Ydy hynny'n iawn yn ystod yr ymgyrch?",
            Category.CONDUCT_CONCERN,
        ),
        (  # "fy mhleidlais bost": nasal mutation after "fy"
            "Pleidlais",
            "Dydw i ddim wedi cael fy mhleidlais bost eto. Beth ddylwn i ei wneud?",
            Category.ELECTORAL_PROCESS,
        ),
    ],
)
def test_welsh_clitics_and_mutations_match_the_vocabulary(
    subject: str, body: str, expected: Category
) -> None:
    result = classify_text(subject, body)
    assert result.category is expected, result.reasons


def test_welsh_mutations_cover_the_first_word_only() -> None:
    from inbox_agent.classify.text import separate_clitics
    from inbox_agent.classify.vocabulary import welsh_mutations

    assert set(welsh_mutations("pleidlais bost")) == {
        "bleidlais bost", "mhleidlais bost", "phleidlais bost"
    }  # fmt: skip
    assert "rant" not in welsh_mutations("grant")  # a dropped "g" must leave five letters
    assert welsh_mutations("ffurflen") == ()  # "ff" never mutates
    assert separate_clitics("swyddfa\u2019r heddlu, I'm sure they're") == (
        "swyddfa 'r heddlu, I 'm sure they're"
    )
