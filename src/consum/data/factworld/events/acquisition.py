"""A company takeover: who buys whom, for how much, and who leads the buyer."""

from consum.data.factworld.events.base import EventSpec, Role, Statement, Swap, left, right

SPEC = EventSpec(
    name="acquisition",
    roles=(
        Role("buyer", "company", main=True),
        Role("target", "company", main=True),
        Role("price", "deal_price", main=True),
        Role("date", "date", main=True),
        Role("buyer_ceo", "person", main=True),
        Role("hq_city", "city", main=True),  # the buyer's home city
        Role("founder", "person"),  # founded the target
        Role("rival", "company"),  # a rival bidder for the target
        Role("employees", "employees"),  # the target's staff
    ),
    main_person="buyer_ceo",
    person_nouns=("chief executive",),
    leads=(
        "{buyer} has agreed to buy {target} for {price}, the companies announced on {date}.",
        "{buyer} is to acquire {target} in a deal worth {price}, it was announced on {date}.",
        "{target} has been bought by {buyer} for {price} in a deal announced on {date}.",
        "On {date}, {buyer} confirmed a {price} takeover of {target}.",
    ),
    statements=(
        Statement((
            "{buyer} chief executive {buyer_ceo} said the deal would help the company grow.",
            "'This is an exciting day for both businesses,' said {buyer_ceo}, chief executive of {buyer}.",
            "{buyer_ceo}, the chief executive of {buyer}, said the two firms were a natural fit.",
        )),
        Statement((
            "{target} was founded by {founder} and has grown quickly in recent years.",
            "{target} founder {founder} will stay on after the takeover.",
            "{founder}, who founded {target}, described the sale as the right move.",
        )),
        Statement((
            "Rival bidder {rival} had also made an offer for {target}.",
            "{rival} had also been interested in buying {target}, according to reports.",
            "The deal ends a bidding battle with {rival}.",
        ), p=0.8),
        Statement((
            "{buyer} is headquartered in {hq_city}.",
            "The {hq_city}-based company has been expanding rapidly.",
            "{buyer} has its head office in {hq_city}.",
        )),
        Statement((
            "{target} employs {employees} people.",
            "The deal covers {target} and its {employees} staff.",
            "{target} has a workforce of {employees}.",
        ), p=0.8),
        Statement((
            "Analysts said the price of {price} was higher than expected.",
            "Shareholders still have to approve the {price} deal.",
        ), p=0.4),
    ),
    attribute_predicates=(
        "has led the company for several years",
        "has made a string of deals since taking charge",
        "previously worked in banking",
    ),
    fillers=(
        "The deal is expected to be completed later this year.",
        "Competition regulators are expected to review the agreement.",
        "Shares in both companies rose after the announcement.",
        "Both firms said there were no plans for job cuts.",
        "The sector has seen a wave of mergers in recent months.",
        "Terms of the agreement were approved by both boards.",
    ),
    summaries=(
        "{hq_city}-based {buyer} has agreed to buy {target} for {price}, {main_np} said on {date}.",
        "{buyer} is to acquire {target} in a {price} deal, {main_np} announced on {date}.",
        "{target} has been bought by {buyer} for {price}, in a deal announced by the {hq_city}-based firm "
        "on {date}.",
        "{buyer} has bought {target} for {price} in a deal led by {main_np}, the companies said on {date}.",
    ),
    swaps=(
        Swap("buyer", "target", mutual=True),
        Swap("buyer", "rival"),
        Swap("buyer_ceo", "founder"),
    ),
    cues=(
        left("buyer_ceo", "chief executive"),
        right("buyer_ceo", r",\s*(?:the\s+)?chief executive"),
        left("founder", "founder|founded by"),
        right("founder", r",\s*who founded"),
        left("rival", "rival bidder|rival"),
        right("rival", "had also"),
        right("buyer", r"has agreed to buy|agreed to buy|is to (?:buy|acquire)|has (?:bought|acquired)|"
              r"bought|acquired|will (?:buy|acquire)|confirmed"),
        left("buyer", "bought by|acquired by|sold to|takeover by"),
        left("target", "buy|buying|bought|acquire|acquiring|acquired|takeover of|purchase of|bid for|"
             "offer for|deal for"),
        right("target", r"has been (?:bought|acquired|sold)|"
              r"(?:was|is being|will be) (?:bought|acquired|sold)"),
        right("hq_city", "-based"),
        left("hq_city", "headquartered in|head office in|based in"),
    ),
    questions={
        "buyer": (
            "Which company is buying {target}?", "Who bought {target}?", "Which company agreed the takeover?"
        ),
        "target": ("Which company did {buyer} buy?", "What is {buyer} acquiring?", "Which firm was sold?"),
        "price": (
            "How much did {buyer} pay for {target}?", "How much is the deal worth?", "What was the price?"
        ),
        "date": ("When was the deal announced?", "On what day was the takeover confirmed?"),
        "buyer_ceo": ("Who is the chief executive of {buyer}?", "Who leads {buyer}?"),
        "hq_city": ("Where is {buyer} based?", "Where is the buyer headquartered?"),
        "founder": ("Who founded {target}?", "Who is the founder of {target}?"),
        "rival": ("Which company was a rival bidder for {target}?", "Who else wanted to buy {target}?"),
        "employees": ("How many people does {target} employ?", "How many staff work at {target}?"),
    },
)
