"""A road or rail accident: where and when, how many were hurt, whose vehicle, who was driving."""

from consum.data.factworld.events.base import EventSpec, Role, Statement, Swap, left, right

SPEC = EventSpec(
    name="accident",
    roles=(
        Role("injured", "injured", main=True),
        Role("location", "city", main=True),
        Role("date", "date", main=True),
        Role("operator", "operator", main=True),
        Role("driver", "person", main=True),
        Role("passengers", "passengers"),  # on board; more than were injured
        Role("origin", "city"),  # where the vehicle had set off from
        Role("spokesperson", "person"),  # speaks for the police
    ),
    main_person="driver",
    person_nouns=("driver",),
    details={"vehicle": ("bus", "coach", "minibus", "tram")},
    leads=(
        "{injured} people were injured when a {vehicle} crashed in {location} on {date}.",
        "A {vehicle} crash in {location} on {date} left {injured} people injured.",
        "{injured} people were taken to hospital after a {vehicle} accident near {location} on {date}.",
    ),
    statements=(
        Statement((
            "The {vehicle} was operated by {operator}.",
            "{operator}, which runs the service, said it was cooperating with investigators.",
            "A spokesperson for {operator} said the company was shocked.",
        )),
        Statement((
            "The {vehicle} was carrying {passengers} passengers at the time.",
            "There were {passengers} passengers on board.",
            "{passengers} passengers were on board when the crash happened.",
        )),
        Statement((
            "The {vehicle} had left {origin} earlier in the day.",
            "The service was travelling from {origin}.",
            "It had set off from {origin} that morning.",
        )),
        Statement((
            "The driver, {driver}, was treated for minor injuries.",
            "{driver}, who was driving the {vehicle}, was questioned by police.",
            "Police spoke to the driver, {driver}, at the scene.",
        )),
        Statement((
            "Police spokesperson {spokesperson} said an investigation had begun.",
            "'We are working to establish what happened,' said {spokesperson} of the local police.",
            "{spokesperson}, a police spokesperson, urged witnesses to come forward.",
        )),
        Statement(("Most of the {injured} injured were released later that day.",), p=0.4),
    ),
    attribute_predicates=(
        "has worked for the company for several years",
        "had a clean driving record",
        "was helping passengers off the {vehicle} when emergency services arrived",
    ),
    fillers=(
        "Emergency services arrived within minutes.",
        "The road was closed for several hours while the wreckage was cleared.",
        "Witnesses described hearing a loud bang.",
        "Investigators are examining the condition of the road surface.",
        "Local residents helped passengers before ambulances arrived.",
        "Several people were treated at the scene for shock.",
    ),
    summaries=(
        "{injured} people were injured when a {vehicle} operated by {operator} crashed in {location} "
        "on {date}.",
        "{main_np} was among {injured} people hurt when a {vehicle} crashed near {location} on {date}.",
        "A {vehicle} crashed in {location} on {date} with {main_np} at the wheel, leaving {injured} people "
        "injured.",
        "{injured} people were taken to hospital after a {vehicle} run by {operator} crashed in {location}.",
    ),
    swaps=(
        Swap("location", "origin"),
        Swap("driver", "spokesperson"),
        Swap("injured", "passengers"),
    ),
    cues=(
        left("spokesperson", "spokesperson"),
        right("spokesperson", r",\s*a police spokesperson|of the local police"),
        left("driver", "driver,?"),
        right("driver", r",\s*who was driving|was driving"),
        left("operator", "operated by|spokesperson for|run by"),
        right("operator", r",\s*which runs"),
        right("passengers", "passengers"),
        left("passengers", "carrying"),
        right("injured", r"(?:people )?(?:were |have been )?(?:injured|hurt|taken to hospital)"),
        left("injured", "leaving|left|among"),
        left("origin", "left|from"),
        left("location", "in|at|near"),
    ),
    questions={
        "injured": ("How many people were injured?", "How many people were hurt in the crash?"),
        "location": ("Where did the accident happen?", "Where did the {vehicle} crash?"),
        "date": ("When did the crash happen?", "On what day did the accident happen?"),
        "operator": ("Which company operated the {vehicle}?", "Who runs the service?"),
        "driver": ("Who was driving the {vehicle}?", "Who was the driver?"),
        "passengers": ("How many passengers were on board?", "How many people was the {vehicle} carrying?"),
        "origin": ("Where had the {vehicle} come from?", "Where had the service set off from?"),
        "spokesperson": ("Who spoke for the police?", "Which police spokesperson commented?"),
    },
)
