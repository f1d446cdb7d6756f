"""A senior appointment: who takes which post at which company, whom they replace, when they start."""

from consum.data.factworld.events.base import EventSpec, Role, Statement, Swap, left, right

SPEC = EventSpec(
    name="appointment",
    roles=(
        Role("appointee", "person", main=True),
        Role("organisation", "company", main=True),
        Role("start_date", "date", main=True),
        Role("salary", "salary", main=True),
        Role("predecessor", "person"),
        Role("previous_employer", "company"),  # where the appointee worked before
        Role("hq_city", "city"),  # the organisation's home city
    ),
    main_person="appointee",
    person_nouns=("executive", "banker", "engineer", "economist"),
    details={
        "position": ("chief executive", "finance director", "chair", "managing director", "head of research")
    },
    leads=(
        "{appointee} has been appointed {position} of {organisation}.",
        "{organisation} has named {appointee} as its new {position}.",
        "{appointee} is to become the next {position} of {organisation}, the company said.",
    ),
    statements=(
        Statement((
            "{appointee} replaces {predecessor}, who is retiring.",
            "{predecessor}, who held the post for six years, is stepping down.",
            "{appointee} succeeds {predecessor} in the role.",
        )),
        Statement((
            "{appointee} joins from {previous_employer}.",
            "{appointee} previously worked at {previous_employer}.",
            "Before the move, {appointee} spent a decade at {previous_employer}.",
        )),
        Statement((
            "{appointee} will take up the post on {start_date}.",
            "The appointment takes effect on {start_date}.",
            "{appointee} starts in the new role on {start_date}.",
        )),
        Statement((
            "The role carries a salary of {salary}.",
            "{appointee} will be paid {salary} a year.",
            "The package is worth {salary} a year.",
        )),
        Statement((
            "{organisation} is based in {hq_city}.",
            "The {hq_city}-based firm has grown rapidly in recent years.",
            "The company has its head office in {hq_city}.",
        ), p=0.8),
        Statement((
            "'I am delighted to be joining at such an important time,' said {appointee}.",
            "{appointee} said it was a privilege to be asked to take on the role.",
        ), p=0.6),
    ),
    attribute_predicates=(
        "has worked in the industry for two decades",
        "is regarded as a safe pair of hands",
        "studied economics before starting a career in business",
    ),
    fillers=(
        "The board said it had considered a number of strong candidates.",
        "The company has been through a difficult year.",
        "Investors welcomed the news.",
        "The search for a new leader began several months ago.",
        "Staff were told about the change at a meeting on site.",
        "The firm is expected to set out a new strategy soon.",
    ),
    summaries=(
        "{main_np} has been appointed {position} of {organisation} and will take up the post "
        "on {start_date}.",
        "{main_np} is to become the new {position} of {organisation} on a salary of {salary}.",
        "{organisation} has named {main_np} as its next {position}, starting on {start_date}.",
        "{main_np} will join {organisation} as {position} on {start_date}, on a salary of {salary}.",
    ),
    swaps=(
        Swap("appointee", "predecessor"),
        Swap("organisation", "previous_employer"),
    ),
    cues=(
        left("predecessor", "replaces|replacing|succeeds|succeeding"),
        right("predecessor", r",\s*who (?:held|is retiring)|is stepping down|stepped down|steps down"),
        right("appointee", "has been appointed|was appointed|has been named|was named|is to become|"
              "will become|becomes|replaces|succeeds|will take up|starts|will join|as its"),
        left("previous_employer", "joins from|from|worked at|decade at|formerly of"),
        right("organisation", "has named|has appointed"),
        left("organisation", "of|at|join|joins|joined"),
    ),
    questions={
        "appointee": ("Who has been appointed {position} of {organisation}?", "Who is the new {position}?"),
        "organisation": ("Which company has appointed {appointee}?", "Where will {appointee} be {position}?"),
        "start_date": ("When does {appointee} start?", "When does the appointment take effect?"),
        "salary": ("How much will {appointee} be paid?", "What is the salary for the role?"),
        "predecessor": ("Who does {appointee} replace?", "Who held the post before {appointee}?"),
        "previous_employer": ("Where did {appointee} work before?", "Which company is {appointee} leaving?"),
        "hq_city": ("Where is {organisation} based?", "Where is the company's head office?"),
    },
)
