"""A football match: who beat whom, by what score, where and when, and who scored."""

from consum.data.factworld.events.base import EventSpec, Role, Statement, Swap, left, right

SPEC = EventSpec(
    name="sports_match",
    roles=(
        Role("winner", "team", main=True),
        Role("loser", "team", main=True),
        Role("score", "score", main=True),
        Role("location", "city", main=True),
        Role("date", "date", main=True),
        Role("scorer", "person", main=True),
        Role("manager", "person"),  # manages the winner
        Role("captain", "person"),  # captains the loser
        Role("attendance", "attendance"),
        Role("next_city", "city"),  # where the winner plays next
    ),
    main_person="scorer",
    person_nouns=("striker", "forward", "midfielder", "winger"),
    leads=(
        "{winner} beat {loser} {score} on {date}.",
        "{winner} claimed a {score} win over {loser} on {date}.",
        "{loser} lost {score} to {winner} on {date}.",
        "{winner} defeated {loser} {score} in a league match on {date}.",
        "{loser} were beaten {score} by {winner} on {date}.",
    ),
    statements=(
        Statement((
            "The match was played in {location}.",
            "The game took place at the stadium in {location}.",
            "The teams met in {location}.",
            "{location} hosted the match.",
        )),
        Statement((
            "{scorer} scored for {winner}.",
            "{scorer} scored the decisive goal for {winner}.",
            "The winning goal came from {scorer}.",
            "{scorer} struck in the second half.",
        )),
        Statement((
            "'It was a deserved win,' said {winner} manager {manager}.",
            "{winner} manager {manager} said the players had worked hard for the result.",
            "{manager}, who manages {winner}, praised the attitude of the squad.",
        )),
        Statement((
            "{loser} captain {captain} admitted the defeat was hard to take.",
            "{captain}, the {loser} captain, said the team would learn from the game.",
            "'We were second best today,' said {loser} captain {captain}.",
        )),
        Statement((
            "A crowd of {attendance} watched the game.",
            "The match drew a crowd of {attendance}.",
            "{attendance} fans attended the match.",
        ), p=0.7),
        Statement((
            "{winner} travel to {next_city} for their next game.",
            "Next up for {winner} is a trip to {next_city}.",
            "{winner} face a trip to {next_city} next week.",
        ), p=0.8),
        Statement((
            "'The whole team worked hard for this,' said {scorer}.",
            "{scorer} said the team had deserved the points.",
        ), p=0.6),
    ),
    attribute_predicates=(
        "has been in fine form this season",
        "joined the club last summer",
        "has become a key player for the side",
        "signed a new contract in the spring",
    ),
    fillers=(
        "Both sides had chances in a lively first half.",
        "The result moves the winners up the table.",
        "Conditions were difficult after heavy rain earlier in the day.",
        "The visitors had the better of the opening exchanges.",
        "Supporters stayed long after the final whistle.",
        "The referee showed several yellow cards during the game.",
        "Neither team was able to settle into a rhythm early on.",
    ),
    summaries=(
        "{main_np} was on target as {winner} beat {loser} {score} on {date}.",
        "{winner} beat {loser} {score} in {location}, with {main_np} scoring the decisive goal.",
        "A goal from {main_np} helped {winner} to a {score} win over {loser} in {location}.",
        "{loser} were beaten {score} by {winner} in a league match played in {location} on {date}.",
        "{winner} claimed a {score} victory over {loser} on {date}, with {main_np} scoring the winner.",
    ),
    swaps=(
        Swap("winner", "loser", mutual=True),
        Swap("location", "next_city"),
        Swap("scorer", "captain"),
        Swap("scorer", "manager"),
    ),
    cues=(
        left("manager", "manager"),
        right("manager", r",\s*who manages"),
        left("captain", "captain"),
        left("scorer", r"goals? (?:came )?from"),
        right("scorer", "scored|struck|scoring|helped|was on target"),
        right("winner", "beat|defeated|claimed|secured|won"),
        left("winner", r"beaten\b.*\bby|lost\b.*\bto|helped"),
        left("loser", r"beat|defeated|win over|victory over|against"),
        right("loser", "were beaten|lost"),
        left("next_city", "trip to|travel to"),
        left("location", "in|at"),
    ),
    questions={
        "winner": ("Who won the match?", "Which team won?", "Which team beat {loser}?"),
        "loser": (
            "Which team lost the match?", "Who did {winner} beat?", "Which team was beaten by {winner}?"
        ),
        "score": ("What was the score?", "What was the final score?", "By what score did {winner} win?"),
        "location": ("Where was the match played?", "In which city did the game take place?"),
        "date": ("When was the match played?", "On what day did {winner} play {loser}?"),
        "scorer": (
            "Who scored for {winner}?", "Who scored the decisive goal?",
            "Which player scored for the winners?",
        ),
        "manager": ("Who is the manager of {winner}?", "Who manages {winner}?"),
        "captain": ("Who is the captain of {loser}?", "Who captains {loser}?"),
        "attendance": ("How many fans watched the match?", "How large was the crowd?"),
        "next_city": ("Where do {winner} play next?", "Where is the next game of {winner}?"),
    },
)
