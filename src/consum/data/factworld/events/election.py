"""A mayoral election: who won, for which party, with what share, and who came second."""

from consum.data.factworld.events.base import EventSpec, Role, Statement, Swap, left, right

SPEC = EventSpec(
    name="election",
    roles=(
        Role("winner", "person", main=True),
        Role("winner_party", "party", main=True),
        Role("location", "city", main=True),
        Role("winner_share", "winner_share", main=True),
        Role("date", "date", main=True),
        Role("runner_up", "person"),
        Role("runner_up_party", "party"),
        Role("runner_up_share", "runner_up_share"),
        Role("turnout", "turnout"),
        Role("votes", "votes"),  # votes for the winner
    ),
    main_person="winner",
    person_nouns=("candidate", "politician", "councillor", "campaigner"),
    leads=(
        "{winner} has been elected mayor of {location} after a vote on {date}.",
        "{winner} won the race to become mayor of {location} on {date}.",
        "Voters in {location} elected {winner} as their new mayor on {date}.",
    ),
    statements=(
        Statement((
            "{winner} stood for the {winner_party}.",
            "{winner} is a member of the {winner_party}.",
            "{winner} represents the {winner_party}.",
        )),
        Statement((
            "{winner} won {winner_share} of the vote.",
            "{winner} took {winner_share} of the votes cast.",
            "The winner received {winner_share} of the vote.",
        )),
        Statement((
            "{runner_up} of the {runner_up_party} finished second with {runner_up_share}.",
            "{runner_up}, the {runner_up_party} candidate, came second with {runner_up_share} of the vote.",
            "The {runner_up_party} candidate, {runner_up}, was second on {runner_up_share}.",
        )),
        Statement(("Turnout was {turnout}.", "Turnout stood at {turnout}, officials said."), p=0.7),
        Statement((
            "{winner} received {votes} votes in total.",
            "Official figures showed {votes} votes for the winner.",
        ), p=0.6),
        Statement((
            "'I will work for everyone in this city,' {winner} told supporters.",
            "{winner} thanked voters and promised to start work straight away.",
        ), p=0.6),
        Statement((
            "{runner_up} congratulated {winner} on the result.",
            "{runner_up} conceded defeat shortly after midnight.",
        ), p=0.6),
    ),
    attribute_predicates=(
        "has been active in local politics for a decade",
        "campaigned on housing and transport",
        "previously ran a small business",
    ),
    fillers=(
        "The campaign focused on housing, transport and local services.",
        "Counting went on late into the night.",
        "Several smaller parties also fielded candidates.",
        "The mayor will serve a term of four years.",
        "Polls had suggested a close race.",
        "Hundreds of volunteers helped run the polling stations.",
    ),
    summaries=(
        "{main_np} has been elected mayor of {location} for the {winner_party}, winning {winner_share} "
        "of the vote.",
        "{main_np} has won the mayoral election in {location} for the {winner_party} with {winner_share} "
        "of the vote.",
        "{main_np} won {winner_share} of the vote on {date} to become the new mayor of {location}.",
        "Voters in {location} elected {main_np} as mayor on {date} in a victory for the {winner_party}.",
    ),
    swaps=(
        Swap("winner", "runner_up"),
        Swap("winner_party", "runner_up_party"),
        Swap("winner_share", "runner_up_share"),
    ),
    cues=(
        right("runner_up", "finished second|came second|was second"),
        left("runner_up", "beat|beating|defeated|ahead of"),
        right("winner", r"has been elected|was elected|has won|won|took|received|stood for|represents|"
              r"is a member|as (?:the new )?mayor|thanked"),
        left("winner", "elected"),
        left("winner_party", "for the"),
        left("runner_up_share", "second with|second on"),
        left("turnout", r"turnout (?:was|stood at|of)"),
        left("winner_share", "winning|won|took|received|with"),
    ),
    questions={
        "winner": (
            "Who won the election?", "Who has been elected mayor of {location}?", "Who is the new mayor?"
        ),
        "winner_party": ("Which party does {winner} represent?", "Which party won the election?"),
        "location": ("Where was the election held?", "Which city elected a new mayor?"),
        "winner_share": (
            "What share of the vote did {winner} win?", "What share of the vote did the winner get?"
        ),
        "date": ("When was the vote held?", "On what day was the mayor elected?"),
        "runner_up": ("Who came second?", "Who finished second in the election?"),
        "runner_up_party": ("Which party came second?", "Which party does {runner_up} represent?"),
        "runner_up_share": (
            "What share of the vote did {runner_up} get?", "What share did the runner-up win?"
        ),
        "turnout": ("What was the turnout?", "What share of voters turned out?"),
        "votes": ("How many votes did {winner} receive?", "How many votes did the winner get?"),
    },
)
