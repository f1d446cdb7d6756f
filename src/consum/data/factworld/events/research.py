"""A health study: what it found, how large the effect, how many took part, who led it, where."""

from consum.data.factworld.events.base import EventSpec, Role, Statement, Swap, left, right

SPEC = EventSpec(
    name="research",
    roles=(
        Role("institution", "institution", main=True),
        Role("effect", "effect", main=True),
        Role("participants", "participants", main=True),
        Role("lead", "person", main=True),
        Role("date", "date", main=True),
        Role("co_author", "person"),
        Role("funder", "funder"),
        Role("location", "city"),  # where the team is based
    ),
    main_person="lead",
    person_nouns=("scientist", "researcher", "epidemiologist", "biologist"),
    details={
        "exposure": (
            "regular walking", "eating more fibre", "drinking green tea", "getting more sleep",
            "daily stretching", "learning a second language", "cycling to work", "eating nuts",
            "spending time outdoors", "cutting down on salt",
        ),
        "outcome": (
            "heart disease", "diabetes", "memory loss", "obesity", "back pain", "dementia", "early death",
            "stroke", "depression", "high blood pressure",
        ),
    },
    leads=(
        "Researchers at {institution} say {exposure} lowers the risk of {outcome} by {effect}.",
        "A study by {institution} has found that {exposure} cuts the risk of {outcome} by {effect}.",
        "{exposure} reduces the risk of {outcome} by {effect}, according to researchers at {institution}.",
    ),
    statements=(
        Statement((
            "The team followed {participants} adults over ten years.",
            "The study tracked {participants} volunteers.",
            "Data from {participants} people were analysed.",
        )),
        Statement((
            "The study was led by {lead}.",
            "{lead}, who led the research, said the results were striking.",
            "Lead author {lead} said more work was needed.",
        )),
        Statement((
            "{co_author} co-wrote the paper.",
            "The paper was co-written by {co_author}.",
            "Co-author {co_author} said the findings were encouraging.",
        )),
        Statement((
            "The work was funded by the {funder}.",
            "The {funder} paid for the research.",
            "Funding came from the {funder}.",
        )),
        Statement((
            "{institution} is based in {location}.",
            "The research was carried out in {location}.",
            "The team is based in {location}.",
        ), p=0.8),
        Statement(("The findings were published on {date}.", "The results were released on {date}.")),
        Statement((
            "{lead} said people should not change their habits on the strength of one study.",
            "'We were surprised by how clear the pattern was,' said {lead}.",
        ), p=0.5),
    ),
    attribute_predicates=(
        "has studied the subject for many years",
        "said the findings surprised the team",
        "plans a larger follow-up study",
    ),
    fillers=(
        "The results were adjusted for age, income and smoking.",
        "Experts not involved in the study called the findings important.",
        "The authors cautioned that the study shows a link rather than a cause.",
        "Previous studies had produced mixed results.",
        "The researchers now hope to test the idea in a trial.",
        "Participants filled in detailed questionnaires every year.",
    ),
    summaries=(
        "{exposure} lowers the risk of {outcome} by {effect}, according to a study of {participants} people "
        "by researchers at {institution}.",
        "A study of {participants} people led by {main_np} at {institution} found {exposure} cut the risk "
        "of {outcome} by {effect}.",
        "{main_np} led a study at {institution} which found {exposure} cut the risk of {outcome} "
        "by {effect}.",
        "Researchers at {institution} say {exposure} cuts the risk of {outcome} by {effect}, in a study "
        "published on {date}.",
    ),
    swaps=(
        Swap("institution", "funder"),
        Swap("lead", "co_author"),
    ),
    cues=(
        left("co_author", "co-written by|co-author|co-authored by"),
        right("co_author", "co-wrote|co-authored"),
        left("lead", "led by|lead author"),
        right("lead", r",\s*who led|led"),
        left("funder", "funded by the|funded by|funding came from the"),
        right("funder", "paid for|funded"),
        left("institution", "researchers at|scientists at|study by|team at|at"),
        right("institution", "researchers|scientists"),
    ),
    questions={
        "institution": ("Which university carried out the study?", "Where are the researchers from?"),
        "effect": ("By how much does {exposure} lower the risk of {outcome}?", "How large was the effect?"),
        "participants": ("How many people took part in the study?", "How many volunteers were studied?"),
        "lead": ("Who led the study?", "Who is the lead author?"),
        "date": ("When were the findings published?", "On what day were the results released?"),
        "co_author": ("Who co-wrote the paper?", "Who else worked on the study?"),
        "funder": ("Who funded the research?", "Which organisation paid for the study?"),
        "location": ("Where is the research team based?", "In which city was the research done?"),
    },
)
