"""Word lists of factworld: every name an entity can have, and which names are held out for evaluation.

Names are chosen so that no entry is an ordinary English word used by the templates (the oracle
matches case-insensitively), and so that no single token belongs to two lists (a token's type is then
unambiguous). A few near-collisions are kept on purpose so that matching must respect word boundaries
and prefer the longest match: surnames "Lee"/"Leeson" and the city "Leeds", surnames "Smith"/"Smithson".

Two worlds (``FactworldConfig.names``, docs/factworld.md "Names"): ``full`` names people "First
Surname" and organisations by two or more words ("Kelso Rovers", "Veltro Pharma", "Halden
University"); ``single`` names people by a surname alone and every organisation by one word of
``SINGLE_ORGS``, a list of its own (invented words in no other list and no template), so that the
matcher reads a ``full`` text exactly as before: no ``full`` text contains them.

Held out: the last ``HELDOUT_SHARE`` of each named list (people, places, organisations, awards) is
used only in the validation and test splits, mixed with the other names, so that evaluation documents
contain names and name combinations a model never saw in training.
"""

from __future__ import annotations

HELDOUT_SHARE = 0.2

# fmt: off
FIRST_NAMES = (
    "Maria", "Daniel", "Amara", "Lukas", "Tomas", "Elena", "Marcus", "Priya", "Jonas", "Ingrid",
    "Rafael", "Chloe", "Dmitri", "Aisha", "Mateo", "Hannah", "Oscar", "Leila", "Viktor", "Nadia",
    "Felix", "Yara", "Anton", "Clara", "Ibrahim", "Greta", "Samuel", "Lucia", "Kenji", "Freya",
    "Andrei", "Zara", "Emil", "Nina", "Hugo", "Mirela", "Tobias", "Ana", "Carlos", "Fatima",
    "Henrik", "Isabel", "Julian", "Katarina", "Leon", "Marta", "Nikolai", "Olivia", "Pablo", "Rosa",
    "Stefan", "Tessa", "Umar", "Vera", "Wilhelm", "Ximena", "Yusuf", "Zofia", "Adrian", "Beatriz",
    "Cyrus", "Delia", "Erik", "Farah", "Gustav", "Helena", "Idris", "Jana", "Karim", "Lena",
    "Noor", "Otto", "Petra", "Quentin", "Rania", "Simon", "Thea", "Ulrich", "Valentina", "Wanda",
    "Xavier", "Yvonne", "Zeynep", "Alina", "Bruno", "Celine", "Dario", "Elif", "Fabian", "Gloria",
    "Hamza", "Irina", "Jakob", "Kira", "Luca", "Mina", "Nils", "Omar", "Paula", "Timo",
)

SURNAMES = (
    "Lopez", "Smith", "Smithson", "Lee", "Leeson", "Okafor", "Novak", "Petrov", "Jensen", "Moreau", "Rossi",
    "Tanaka", "Kowalski", "Haddad", "Fischer", "Brennan", "Castillo", "Dubois", "Eriksen", "Fernandes",
    "Gallagher", "Horvat", "Ibsen", "Jovanovic", "Kaplan", "Lindqvist", "Mahmoud", "Nakamura", "Oyelaran",
    "Pereira", "Quinlan", "Rahman", "Sorensen", "Takahashi", "Ulloa", "Varga", "Wojcik", "Yilmaz", "Zeller",
    "Abbott", "Barros", "Carvalho", "Delgado", "Esposito", "Farrow", "Greco", "Holm", "Iqbal", "Jablonski",
    "Keller", "Larsen", "Moretti", "Nilsen", "Osei", "Popescu", "Quiroga", "Reyes", "Schultz", "Toivonen",
    "Urquhart", "Vasquez", "Whitlock", "Yamada", "Zielinski", "Acheampong", "Bianchi", "Costa", "Draper",
    "Ekdahl", "Ferraro", "Gunnarsson", "Hartmann", "Kariuki", "Lombardi", "Mensah", "Navarro", "Ortega",
    "Pacheco", "Richter", "Santoro", "Tiwari", "Vogel", "Walsh", "Xu", "Yoon", "Zapata", "Adeyemi",
    "Bergstrom", "Chen", "Dimitrov", "Engel", "Figueroa", "Gomez", "Herrera", "Ishikawa", "Janssen", "Kimura",
    "Lund", "Marino", "Nowak", "Olsen", "Paek", "Ruiz", "Silva", "Torres", "Vidal", "Weber", "Zhang",
    "Aguilar", "Bauer", "Cardenas", "Dahl", "Eze", "Forsberg", "Gupta", "Hoffmann", "Ivanov", "Jaramillo",
    "Kovacs", "Lindgren", "Mwangi", "Nieminen", "Obi", "Pham", "Rasmussen", "Sato", "Tran", "Udeh", "Valdez",
    "Wagner", "Yadav", "Zimmermann", "Alvarez", "Bjork", "Conti", "Duarte", "Eklund", "Fontaine", "Gatti",
    "Hakimi", "Iversen", "Jukic", "Kilic", "Lehmann", "Mancini", "Nyberg", "Ogunleye", "Pinto", "Romero",
    "Suzuki",
)

# Cities are event locations and home towns; they never name a sports team (see TEAM_TOWNS).
CITIES = (
    "Leeds", "York", "Lisbon", "Oslo", "Porto", "Geneva", "Turin", "Lyon", "Bergen", "Krakow", "Gdansk",
    "Seville", "Valencia", "Bilbao", "Malmo", "Aarhus", "Tampere", "Tallinn", "Riga", "Vilnius", "Ghent",
    "Antwerp", "Utrecht", "Rotterdam", "Hamburg", "Leipzig", "Dresden", "Munich", "Salzburg", "Graz",
    "Zagreb", "Hull", "Bristol", "Cardiff", "Glasgow", "Dundee", "Belfast", "Galway", "Brighton", "Norwich",
    "Exeter", "Plymouth", "Sheffield", "Leicester", "Coventry", "Swansea", "Aberdeen", "Inverness",
    "Limerick", "Nantes", "Lille", "Bordeaux", "Marseille", "Toulouse", "Florence", "Naples", "Bologna",
    "Genoa", "Verona", "Palermo", "Athens", "Bucharest", "Budapest", "Prague", "Brno", "Bratislava",
    "Ljubljana", "Istanbul", "Izmir", "Ankara", "Cairo", "Nairobi", "Lagos", "Accra", "Dakar", "Tunis",
    "Mumbai", "Pune", "Chennai", "Osaka", "Kyoto", "Busan", "Manila", "Hanoi", "Perth", "Adelaide",
    "Auckland", "Toronto", "Calgary", "Montreal", "Denver", "Boston", "Seattle", "Chicago", "Houston",
    "Atlanta", "Santiago", "Lima", "Quito", "Bogota",
)

TEAM_TOWNS = (
    "Ashford", "Kelso", "Barnsworth", "Carrick", "Dunmore", "Eastwick", "Fenwick", "Glenrothes", "Harwick",
    "Kirkby", "Langley", "Morecambe", "Northam", "Oakham", "Penrith", "Redcar", "Stanmore", "Thornbury",
    "Uxbridge", "Wexham", "Yeadon", "Alnwick", "Buxton", "Clitheroe", "Dorking", "Frome", "Gorton", "Hexham",
    "Keswick", "Ludlow", "Malton", "Otley", "Pickering", "Ripon", "Selby", "Thirsk", "Whitby", "Bridlington",
    "Cromer", "Darwen",
)
TEAM_SUFFIXES = ("United", "Rovers", "Athletic", "Wanderers", "Albion", "Town", "Rangers", "City", "County")

COMPANY_PREFIXES = (
    "Norland", "Vantor", "Altrix", "Brightwell", "Corvane", "Delmont", "Everly", "Fairhaven", "Glenmore",
    "Halvard", "Ironbridge", "Kestrel", "Larkspur", "Northgate", "Pinecrest", "Quayside", "Silverline",
    "Thornfield", "Veltro", "Westbrook", "Xylon", "Yardley", "Zenova", "Arcturus", "Bellwether", "Draycott",
    "Emberly", "Foxglove", "Harrowgate", "Kinsale", "Lumora", "Marlow", "Novaris", "Oakridge", "Pellam",
    "Rowanet", "Stellan", "Trivant", "Vireo", "Wrenfield",
)
# Companies take COMPANY_SUFFIXES; transport operators (accidents) take TRANSPORT_SUFFIXES.
COMPANY_SUFFIXES = (
    "Systems", "Labs", "Group", "Holdings", "Motors", "Foods", "Energy", "Media", "Pharma", "Logistics",
    "Robotics", "Capital", "Software", "Retail", "Telecom",
)
TRANSPORT_SUFFIXES = ("Transport", "Travel", "Lines", "Express")

PARTIES = (
    "Progressive Alliance", "National Reform Party", "Green Future Party", "Civic Union",
    "Democratic Renewal", "Liberal Forum", "Social Democratic League", "Centre Coalition", "Workers Alliance",
    "Unity Party", "Heritage Party", "Citizens Front", "Radical Party", "Federal Party",
    "Independent Alliance", "New Horizon Party", "Farmers Union", "Justice Party", "Regional Alliance",
    "Modern Left",
)

INSTITUTIONS = (
    "Halden University", "Kingsbridge University", "Marlowe Institute", "Ravensworth College",
    "Northfield University", "Easton Medical School", "Westmoor Research Centre", "Albright Institute",
    "Carrington University", "Dalby College", "Elmhurst University", "Faversham Institute",
    "Grantley Medical School", "Holloway University", "Ingleby Institute", "Larchmont University",
    "Merriden College", "Pemberton Institute", "Rockwell University", "Sunderby College",
)
FUNDERS = (
    "Wellmark Foundation", "Carrow Trust", "Ardent Foundation", "Belmont Trust", "Cresswell Foundation",
    "Denholm Trust", "Everton Foundation", "Fulbrook Trust", "Galloway Foundation", "Hatherley Trust",
)

AWARDS = (
    "Golden Quill Prize", "Harlow Medal", "Aster Book Prize", "Silver Lens Award", "Penrose Medal",
    "Castell Prize", "Bright Star Award", "Ravel Prize", "Calder Award", "Blackwood Medal",
    "Lantern Prize", "Kingfisher Award", "Granville Medal", "Sapphire Award", "Tennant Prize",
)

NATIONALITIES = (
    "Brazilian", "Nigerian", "Swedish", "Japanese", "Portuguese", "Canadian", "Hungarian", "Kenyan", "Danish",
    "Mexican", "Turkish", "Irish", "Italian", "Spanish", "Ghanaian", "Korean", "Dutch", "Argentine",
    "Norwegian", "Egyptian", "Chilean", "Finnish", "Austrian", "Croatian", "Scottish", "Welsh", "Indian",
    "Australian", "Greek", "Czech",
)

# The single-word world's organisations (teams, companies, operators, parties, institutions, funders
# alike): invented words, one each, so that a name is one word a model copies whole.
SINGLE_ORGS = (
    "Altavia", "Brontex", "Caldrix", "Dovanta", "Elbrix", "Fennora", "Galvora", "Hestrel", "Indara",
    "Jovalis", "Kalvex", "Lustrane", "Morvane", "Nerexa", "Obrion", "Pantora", "Quorvel", "Rivanta",
    "Sabrix", "Tolvane", "Ulvaro", "Varnex", "Wyndra", "Xandor", "Zorvik", "Arventa", "Belvora",
    "Corvalis", "Darnex", "Estrava", "Falcora", "Gorvane", "Helvix", "Ilvane", "Jastrel", "Korvel",
    "Lenvora", "Marvex", "Novendra", "Orvanta", "Prexon", "Quilvane", "Rostrel", "Sorvane", "Tavrix",
    "Umbrel", "Velquin", "Wexora", "Yarvane", "Zelvane", "Ambrix", "Bravona", "Cendrel", "Dorvex",
    "Elvanta", "Fostrel", "Grevane", "Harvix", "Istrava", "Jorvane", "Kestrova", "Lorvane", "Mendrix",
    "Norvane", "Ostrava", "Pelvora", "Quentrix", "Ravona", "Stelvix", "Trevona", "Ulmora", "Vendrix",
    "Wolvane", "Xeltra", "Yostrel", "Zantrix", "Arlovan", "Belmarix", "Costrava", "Delvaro", "Emvora",
    "Ferrovan", "Galtrix", "Hovendra", "Irvona", "Jelmar", "Kovendra", "Larvix", "Molvane", "Nestrava",
    "Orlovex", "Pravona", "Rolvex", "Sentrava", "Tormex", "Ulvendra", "Vostrel", "Welmora", "Zarvona",
    "Aldrovan",
)

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# "May" is left out: lowercased it is the modal verb, and the oracle matches case-insensitively.
MONTHS = (
    "January", "February", "March", "April", "June", "July", "August", "September", "October", "November",
    "December",
)
# fmt: on


def split_heldout(names: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(names any split may use, names only validation and test may use)."""
    n_heldout = max(1, round(len(names) * HELDOUT_SHARE))
    return names[:-n_heldout], names[-n_heldout:]


# Lists whose tail is held out; first names, suffixes, nationalities and dates are shared by all splits.
HELDOUT_LISTS = {
    "surnames": SURNAMES,
    "cities": CITIES,
    "team_towns": TEAM_TOWNS,
    "company_prefixes": COMPANY_PREFIXES,
    "parties": PARTIES,
    "institutions": INSTITUTIONS,
    "funders": FUNDERS,
    "awards": AWARDS,
    "single_orgs": SINGLE_ORGS,
}
# The held-out lists each world (``FactworldConfig.names``) draws its names from.
NAME_WORLDS = {
    "full": ("surnames", "cities", "team_towns", "company_prefixes", "parties", "institutions", "funders",
             "awards"),
    "single": ("surnames", "cities", "single_orgs", "awards"),
}


def heldout_names(names: str = "full") -> dict[str, tuple[str, ...]]:
    """Per list of the world ``names``, the names that never occur in the training split."""
    return {name: split_heldout(HELDOUT_LISTS[name])[1] for name in NAME_WORLDS[names]}
