"""A prize: who won it, what it is worth, where it was presented, who else was in the running."""

from consum.data.factworld.events.base import EventSpec, Role, Statement, Swap, left, right

SPEC = EventSpec(
    name="award",
    roles=(
        Role("recipient", "person", main=True),
        Role("award", "award", main=True),
        Role("prize", "prize", main=True),
        Role("location", "city", main=True),  # where the ceremony was held
        Role("date", "date", main=True),
        Role("nominee", "person"),  # shortlisted, did not win
        Role("presenter", "person"),  # chaired the judges
        Role("home_city", "city"),  # where the recipient grew up
    ),
    main_person="recipient",
    person_nouns=("novelist", "poet", "film director", "architect", "photographer"),
    leads=(
        "{recipient} has won the {award}, the judges announced on {date}.",
        "The {award} has been awarded to {recipient}, organisers said on {date}.",
        "{recipient} was named the winner of the {award} on {date}.",
    ),
    statements=(
        Statement((
            "The award comes with prize money of {prize}.",
            "{recipient} receives {prize} as part of the award.",
            "The prize is worth {prize}.",
        )),
        Statement((
            "The winner was announced at a ceremony in {location}.",
            "The ceremony took place in {location}.",
            "Guests gathered in {location} for the announcement.",
        )),
        Statement((
            "{recipient} beat {nominee} to the prize.",
            "{nominee} had been the favourite but missed out.",
            "The shortlist also included {nominee}.",
        )),
        Statement((
            "The award was presented by {presenter}.",
            "{presenter}, who chaired the judging panel, presented the award.",
            "Judging panel chair {presenter} said the decision had been unanimous.",
        )),
        Statement((
            "{recipient} grew up near {home_city}.",
            "{recipient} lives and works near {home_city}.",
            "{recipient} was born near {home_city}.",
        ), p=0.8),
        Statement((
            "'I am completely overwhelmed,' said {recipient}.",
            "{recipient} said the prize was a huge honour.",
        ), p=0.6),
        Statement((
            "Previous winners of the {award} include several well-known names.",
            "The {award} is one of the most respected prizes in the field.",
        ), p=0.5),
    ),
    attribute_predicates=(
        "has been working in the field for many years",
        "was shortlisted once before",
        "is known for work about family and memory",
    ),
    fillers=(
        "The judges praised the ambition and originality of the winning work.",
        "This year the panel considered more entries than ever before.",
        "Past winners include several celebrated names.",
        "The award was founded to support emerging talent.",
        "Tickets for the ceremony sold out within hours.",
        "The shortlist was announced earlier in the year.",
    ),
    summaries=(
        "{main_np} has won the {award} and prize money of {prize} at a ceremony in {location}.",
        "{main_np} was named the winner of the {award} at a ceremony in {location} on {date}.",
        "{main_np} received the {award}, worth {prize}, at a ceremony in {location} on {date}.",
        "{main_np} beat a strong shortlist to win the {award} in {location} on {date}.",
    ),
    swaps=(
        Swap("recipient", "nominee"),
        Swap("recipient", "presenter"),
        Swap("location", "home_city"),
    ),
    cues=(
        left("presenter", "presented by|chair"),
        right("presenter", r",\s*who chaired|presented"),
        left("nominee", "beat|beating|ahead of|shortlist also included"),
        right("recipient", "has won|won|was named|has been named|received|receives|picked up|collected|beat"),
        left("recipient", "awarded to|presented to|went to"),
        left("location", "in|at"),
    ),
    questions={
        "recipient": ("Who won the {award}?", "Who has won the award?", "Who was named the winner?"),
        "award": ("Which prize did {recipient} win?", "What award did {recipient} receive?"),
        "prize": ("How much is the {award} worth?", "How much prize money comes with the award?"),
        "location": ("Where was the ceremony held?", "In which city was the winner announced?"),
        "date": ("When was the winner announced?", "On what day was the {award} announced?"),
        "nominee": ("Who else was shortlisted?", "Who did {recipient} beat to the prize?"),
        "presenter": ("Who presented the award?", "Who chaired the judging panel?"),
        "home_city": ("Near which city did {recipient} grow up?", "Where is {recipient} from?"),
    },
)
