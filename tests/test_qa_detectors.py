"""Q&A detection on the markup of each CMS, plugin and framework a clinic site may use.

Every fixture in tests/fixtures/qa/ imitates one kind of markup; extracting it yields
exactly the Q&As listed here (question, answer with "\\n\\n" paragraphs and "- " items,
who answered), in page order, and no others.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import QAFound, assert_fixture_qa, fixture_qa, qa_triples

from harvester.extract import extract_page
from harvester.extract.blocks import linearize
from harvester.extract.qa import Detector, merge_copies
from harvester.extract.qa_common import CLASS_HINTS, POSITION_LAST, PageBlocks
from harvester.extract.qa_html import definition_qa, details_qa, heading_qa
from harvester.extract.qa_labels import labelled_qa
from harvester.extract.qa_structured import jsonld_qa, microdata_qa, rdfa_qa
from harvester.extract.qa_widgets import (
    CLASS_WORDS,
    WIDGETS,
    _widget_of,
    disclosure_qa,
    widget_qa,
)
from harvester.extract.signature import split_signature
from harvester.models import QA, Person
from harvester.parse import parse_html

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "qa"

Found = QAFound

SAM = Person("Sam Lee", "RMT")
JONATHAN = Person("Jonathan Sun", "BPE, CAT(C)", "Certified Athletic Therapist")

EXPECTED: dict[str, list[Found]] = {
    "wordpress-yoast-faq-block.html": [
        (
            "Do I need a referral to see a physiotherapist?",
            "No. You can book directly with any of our physiotherapists.\n\n"
            "Some extended health plans ask for a doctor’s note before they reimburse, "
            "so check your plan first.",
            None,
        ),
        (
            "What should I wear to my appointment?",
            "Wear loose, comfortable clothing so we can see and move the area we are treating."
            "\n\nDepending on where it hurts:\n\n"
            "- Shorts for knee, hip or ankle problems\n"
            "- A tank top for shoulder or neck problems",
            None,
        ),
        (
            "Is massage therapy covered by my benefits?",
            "Most extended health plans cover registered massage therapy, often up to a "
            "yearly maximum. We bill most insurers directly.",
            Person("Maria Lopez", "RMT", "Registered Massage Therapist"),
        ),
    ],
    "wordpress-rank-math-faq-block.html": [
        (
            "Does an adjustment hurt?",
            "Most people feel no pain at all. You may hear a pop, which is gas leaving the "
            "joint.\n\nSome patients feel mild soreness for a day, much like after a workout.",
            None,
        ),
        (
            "How many visits will I need?",
            "It depends on your condition and how long you have had it.\n\n"
            "A typical plan for low back pain looks like this:\n\n"
            "- Two visits a week for the first two weeks\n"
            "- One visit a week for the next month\n"
            "- A check-up every four to six weeks after that",
            Person("Dr. Jane Roe", "DC"),
        ),
    ],
    "wordpress-details-block.html": [
        (
            "Direct billing",
            "We bill Sun Life, Manulife, Canada Life and Blue Cross directly, so you only pay "
            "what your plan does not cover.",
            None,
        ),
        (
            "Parking and accessibility",
            "There is free parking behind the building, off Elm Lane.\n\n"
            "The studio is on the second floor. If stairs are hard for you:\n\n"
            "- Use the elevator beside the bakery entrance\n"
            "- Ask for a ground-floor room when you book",
            None,
        ),
        (
            "Can I bring my child to my appointment?",
            "Yes, children are welcome in the treatment room if they can sit quietly for the hour.",
            SAM,
        ),
    ],
    "elementor-accordion-and-toggle.html": [
        (
            "What is athletic therapy?",
            "Athletic therapy treats muscle, bone and joint injuries, from the first minutes on "
            "the field to the last stage of rehab.\n\nA session usually includes:\n\n"
            "- An assessment of how the injury happened\n"
            "- Hands-on treatment and taping\n"
            "- Exercises to do at home",
            None,
        ),
        (
            "Who can see an athletic therapist?",
            "Anyone who is active, not only athletes. Office workers and weekend gardeners are "
            "welcome too.",
            None,
        ),
        (
            "Do I need a doctor’s referral?",
            "No referral is needed. Some insurers ask for one before they pay, so check your plan.",
            None,
        ),
        (
            "Should I ice or heat a new injury?",
            "Ice it for the first two days, ten minutes at a time. Heat helps stiff muscles "
            "later, not fresh swelling.",
            JONATHAN,
        ),
    ],
    "elementor-nested-accordion.html": [
        (
            "What happens at the first visit?",
            "We start with a conversation about your symptoms, your history and your goals."
            "\n\nWith your consent, the assessment may include:\n\n"
            "- A posture and breathing check\n"
            "- An internal exam of the pelvic floor muscles",
            None,
        ),
        (
            "Is it only for women?",
            "No. We also treat men, for example after prostate surgery.",
            None,
        ),
        (
            "How soon after giving birth can I come in?",
            "Six weeks after delivery is a good time for a first check, or sooner if you have "
            "pain or leaking.",
            Person("Dr. Anna Kowalski", "PT", "Pelvic Health Physiotherapist"),
        ),
    ],
    "divi-toggle.html": [
        (
            "Who needs orthotics?",
            "People whose foot mechanics cause pain further up the chain, in the knees, hips or "
            "back.\n\nCommon reasons we prescribe them:\n\n"
            "- Flat feet or very high arches\n"
            "- Plantar fasciitis\n"
            "- Shin splints that keep coming back",
            None,
        ),
        (
            "How long do they last?",
            "Two to three years for most patients, longer if you rotate them between pairs of "
            "shoes.",
            None,
        ),
        (
            "Are orthotics covered by insurance?",
            "Most extended health plans cover one pair every two years with a prescription.",
            Person("Dr. Kevin Osei", "DCh", "Chiropodist"),
        ),
    ],
    "bootstrap5-accordion.html": [
        (
            "What should I bring to my first visit?",
            "Arrive ten minutes early to fill in the intake form.\n\nPlease bring:\n\n"
            "- Your health card\n"
            "- Any X-ray or MRI reports\n"
            "- The shoes you train in",
            None,
        ),
        (
            "Can you see me the same day I get hurt?",
            "We keep two acute-injury slots open every afternoon. Call before noon to get one.",
            None,
        ),
        (
            "When can I return to running after an ankle sprain?",
            "Once you can hop twenty times on the injured leg without pain, start with short, "
            "flat runs.",
            Person("Priya Natarajan", "MScPT", "Registered Physiotherapist"),
        ),
    ],
    "bootstrap3-collapse-panels.html": [
        (
            "Will the massage hurt?",
            "Deep tissue work can be uncomfortable, but it should never be more than you can "
            "breathe through.\n\nTell your therapist right away if:\n\n"
            "- The pressure makes you hold your breath\n"
            "- You feel numbness or tingling",
            None,
        ),
        (
            "How often should I book?",
            "Every two to four weeks keeps most desk-related tension away.\n"
            "Athletes in season often come weekly.",
            None,
        ),
        (
            "Do I need to undress completely?",
            "Only to your comfort level. You are always covered by a sheet, except for the area "
            "being worked on.",
            SAM,
        ),
    ],
    "squarespace-accordion.html": [
        (
            "What is a naturopathic doctor?",
            "A naturopathic doctor (ND) is a primary care provider trained in both conventional "
            "and natural medicine.\n\nIn Ontario, NDs are regulated and must:\n\n"
            "- Complete a four-year accredited program\n"
            "- Pass provincial licensing exams",
            None,
        ),
        (
            "How long is an initial visit?",
            "Ninety minutes. Follow-ups are thirty to sixty minutes.",
            Person("Dr. Leah Martin", "ND"),
        ),
    ],
    "wix-collapsible-button.html": [
        (
            "Is chiropractic safe during pregnancy?",
            "Yes. We use a pregnancy pillow and gentle techniques suited to each trimester."
            "\n\nMany patients come in for:\n\n"
            "- Low back and pelvic pain\n"
            "- Sciatica in the third trimester",
            None,
        ),
        (
            "Do you see children?",
            "Yes, from newborns to teens. Parents stay in the room for every visit.",
            None,
        ),
        (
            "What should I expect after my first adjustment?",
            "Some people feel mild soreness for a day or two, like after a new workout. Drink "
            "water and keep moving.",
            Person("Dr. Mark Ellis", "DC", "Chiropractor"),
        ),
        (
            "Do I need X-rays before my first visit?",
            "Usually not. We only refer you for imaging if the exam shows it would change your "
            "treatment.",
            None,
        ),
    ],
    "drupal-faq-module.html": [
        (
            "What is physiotherapy?",
            "Physiotherapy helps you restore movement after injury, illness or surgery.\n\n"
            "Our physiotherapists treat:\n\n"
            "- Sports injuries\n"
            "- Back and neck pain\n"
            "- Recovery after joint replacement",
            None,
        ),
        (
            "Cancellation policy",
            "Please give us 24 hours notice. Missed appointments are charged in full.",
            None,
        ),
        (
            "Can physiotherapy help with dizziness?",
            "Often, yes. Vestibular rehabilitation retrains the balance system with simple "
            "exercises.",
            JONATHAN,
        ),
    ],
    "drupal-faqfield-definition-list.html": [
        (
            "Insurance",
            "We direct bill most extended health insurers.\n\n"
            "Motor vehicle accident claims need:\n\n"
            "- Your claim number\n"
            "- Your adjuster's name and phone number",
            None,
        ),
        ("Parking", "Free parking is available in the lot behind the clinic.", None),
        (
            "Do you offer evening appointments?",
            "Yes, until 8 pm on Tuesdays and Thursdays.",
            Person("Maria Lopez", None, "Clinic Director"),
        ),
    ],
    "microdata-faqpage.html": [
        (
            "Does acupuncture hurt?",
            "Most people feel a brief pinch, then a dull ache or warmth around the needle.\n\n"
            "The needles are much thinner than the ones used for shots:\n\n"
            "- About 0.2 mm across\n"
            "- Solid, not hollow",
            None,
        ),
        (
            "How many treatments will I need?",
            "Acute problems often settle in three to five sessions; chronic pain can take eight "
            "or more.",
            Person("Dr. Wei Chen", "R.Ac", "Registered Acupuncturist"),
        ),
    ],
    "rdfa-faqpage.html": [
        (
            "Should I have a massage before a race?",
            "A short, light massage two days before helps you feel loose without leaving you "
            "sore.\n\nAvoid on race morning:\n\n"
            "- Deep pressure\n"
            "- Anything new you have not tried in training",
            None,
        ),
        (
            "How soon after a marathon can I book?",
            "Wait 48 hours, then book a gentle flush massage to ease the stiffness.",
            Person("Tom Hughes", "BSc", "Sports Therapist"),
        ),
    ],
    "jsonld-qapage-graph.html": [
        (
            "I started running in March and my shins have ached for six weeks, even on rest "
            "days. Should I stop running completely?",
            "Not completely, but cut your weekly distance in half for two weeks and run only on "
            "soft surfaces.\n\nAt the same time, build up the muscles that absorb the impact:"
            "\n\n- Calf raises, three sets of fifteen, every day\n"
            "- Toe walks for one minute",
            Person("Priya Natarajan", "MScPT", "Registered Physiotherapist"),
        ),
        (
            "Can I ask the physio a question too?",
            "Yes. Send it through our contact form and we answer one question each week.\n\n"
            "We cannot diagnose you online, so book a visit if you are in pain.",
            None,
        ),
        (
            "Who answers the questions?",
            "One of our registered physiotherapists.",
            Person("Sam Lee", "RMT", "Clinic Manager"),
        ),
    ],
    "question-headings-faq.html": [
        (
            "What happens at my first massage?",
            "Your therapist asks about your health history and what brings you in, then checks "
            "how you move.\n\nDuring the treatment you can:\n\n"
            "- Ask for more or less pressure at any time\n"
            "- Stop the treatment whenever you like",
            None,
        ),
        (
            "Do I have to undress?",
            "Only as far as you are comfortable. You stay under a sheet, and only the area "
            "being treated is uncovered.",
            None,
        ),
        (
            "How often should I come in?",
            "For a new injury, once a week for a month. For general tension, once a month keeps "
            "most people comfortable.",
            SAM,
        ),
    ],
    "article-with-question-heading.html": [],
    "services-accordion-not-faq.html": [],
    "legacy-qa-font-table-1252.html": [
        (
            "I sit at a computer all day and get headaches by 3 o’clock. Could my neck be the "
            "cause?",
            "Very often, yes. Holding your head forward strains the small muscles at the base "
            "of the skull, and they refer pain up into the head.\n\nTry these at your desk:\n\n"
            "- Raise your monitor to eye level\n"
            "- Tuck your chin for ten seconds every hour\n"
            "- Stand up at least twice an hour",
            Person("Dr. Renée Fortin", "DC", "Chiropractor"),
        ),
        (
            "My daughter’s backpack weighs 8 kg. Is that too heavy?",
            "Yes. A backpack should weigh no more than 10–15% of the child’s body weight.\n"
            "Make sure she uses both straps.",
            Person("Dr. Renée Fortin", "DC"),
        ),
    ],
    "question-answer-labels-paragraphs.html": [
        (
            "I don’t play tennis, but the outside of my elbow hurts when I lift my kettle. Is "
            "this tennis elbow?",
            "Probably. Tennis elbow is an overload of the tendon that extends the wrist, and "
            "gripping anything heavy can bring it on.\n\nWhat helps most in the first weeks:"
            "\n\n- Lift with your palm facing up\n"
            "- Wear a counterforce strap below the elbow\n"
            "- Start wrist extension exercises with a light weight",
            JONATHAN,
        ),
        (
            "Should I stretch it?",
            "Gently, yes, but stop if the stretch makes the pain sharper.",
            None,
        ),
    ],
    "faq-jsonld-and-html-lists.html": [
        (
            "What should I wear?",
            "Loose clothing that lets us see the injured area.\n\n"
            "- Shorts for knee, hip or ankle problems\n"
            "- A tank top for shoulder or neck problems\n\n"
            "Bring the shoes you train in if your feet or knees hurt.",
            None,
        ),
        ("Do you take walk-ins?", "Yes, when a therapist is free.\n\nCall ahead to check.", None),
        (
            "How do I pay?",
            "We bill your insurer directly.\n\nAny balance is due at the visit by debit or "
            "credit card.",
            SAM,
        ),
    ],
}

# Each detector, on its own, finds these Q&As of a fixture (all of them unless a slice
# says which): a page often holds one Q&A in several forms, and each form must be read
# right, not only the merged result.
ALL = slice(None)
ALONE: list[tuple[str, Detector, slice]] = [
    ("wordpress-yoast-faq-block.html", widget_qa, ALL),
    ("wordpress-yoast-faq-block.html", jsonld_qa, ALL),
    ("wordpress-rank-math-faq-block.html", widget_qa, ALL),
    ("wordpress-rank-math-faq-block.html", heading_qa, ALL),
    ("wordpress-rank-math-faq-block.html", jsonld_qa, ALL),
    ("wordpress-details-block.html", details_qa, ALL),
    ("elementor-accordion-and-toggle.html", widget_qa, ALL),
    ("elementor-accordion-and-toggle.html", disclosure_qa, ALL),
    ("elementor-accordion-and-toggle.html", jsonld_qa, slice(0, 2)),
    ("elementor-nested-accordion.html", details_qa, ALL),
    ("divi-toggle.html", widget_qa, ALL),
    ("divi-toggle.html", heading_qa, ALL),
    ("bootstrap5-accordion.html", widget_qa, ALL),
    ("bootstrap5-accordion.html", disclosure_qa, ALL),
    ("bootstrap3-collapse-panels.html", widget_qa, ALL),
    ("bootstrap3-collapse-panels.html", disclosure_qa, ALL),
    ("bootstrap3-collapse-panels.html", heading_qa, ALL),
    ("squarespace-accordion.html", widget_qa, ALL),
    ("squarespace-accordion.html", disclosure_qa, ALL),
    ("wix-collapsible-button.html", disclosure_qa, slice(0, 3)),
    ("wix-collapsible-button.html", heading_qa, slice(3, 4)),
    ("drupal-faq-module.html", widget_qa, ALL),
    ("drupal-faqfield-definition-list.html", definition_qa, ALL),
    ("microdata-faqpage.html", microdata_qa, ALL),
    ("microdata-faqpage.html", heading_qa, ALL),
    ("rdfa-faqpage.html", rdfa_qa, ALL),
    ("jsonld-qapage-graph.html", jsonld_qa, ALL),
    ("question-headings-faq.html", heading_qa, ALL),
    ("legacy-qa-font-table-1252.html", labelled_qa, ALL),
    ("question-answer-labels-paragraphs.html", labelled_qa, ALL),
    ("faq-jsonld-and-html-lists.html", heading_qa, ALL),
]


def extract_qa(name: str) -> list[QA]:
    return fixture_qa(FIXTURES, name)


def detect(name: str, detector: Detector) -> list[QA]:
    doc = parse_html((FIXTURES / name).read_bytes(), f"https://clinic.example/{name}")
    return detector(doc.tree, PageBlocks(doc.tree, linearize(doc.tree)))


def test_every_fixture_has_its_expected_qa() -> None:
    assert sorted(p.name for p in FIXTURES.glob("*.html")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_yields_exactly_its_qa_in_page_order(name: str) -> None:
    assert_fixture_qa(FIXTURES, name, EXPECTED[name])


@pytest.mark.parametrize(
    ("name", "detector", "part"),
    ALONE,
    ids=[f"{name}-{detector.__name__}" for name, detector, _ in ALONE],
)
def test_detector_alone_reads_its_qa(name: str, detector: Detector, part: slice) -> None:
    assert qa_triples(detect(name, detector)) == EXPECTED[name][part]


def test_jsonld_copies_are_merged_into_the_html_ones() -> None:
    name = "faq-jsonld-and-html-lists.html"
    flat = detect(name, jsonld_qa)
    assert [q.question for q in flat] == [
        "What should I wear?",
        "Do you take walk ins?",
        "How do I pay?",
    ]
    assert all("\n" not in q.answer for q in flat)  # the HTML's lists and paragraphs win
    html_positions = [q.position for q in extract_qa(name)]
    assert all(p < POSITION_LAST for p in html_positions)


def test_structured_data_alone_comes_after_the_page_in_script_order() -> None:
    found = extract_qa("jsonld-qapage-graph.html")
    assert [q.position for q in found] == [POSITION_LAST, POSITION_LAST + 1, POSITION_LAST + 2]


QUESTION_LOOK_ALIKES = ("schema-faq-question-old", "my-panel-title")


def test_widget_classes_are_whole_tokens() -> None:
    html = b"""<html><body><main><h1>Help</h1>
      <div class="schema-faq-section"><strong class="schema-faq-question-old">Is it open?</strong>
      <p class="schema-faq-answer-old">Yes.</p></div>
      <div class="panel"><div class="my-panel-title">Is parking free?</div>
      <div class="panel-collapse-wrapper">Yes.</div></div>
      </main></body></html>"""
    doc = parse_html(html, "https://clinic.example/")
    page = PageBlocks(doc.tree, linearize(doc.tree))
    # No plugin's widget is read off a look-alike class; what stays is the generic
    # reading of class words, which "schema-faq-question-old" still says and
    # "my-panel-title" (no FAQ word) does not.
    look_alikes = [el for el in page.marked if el.get("class") in QUESTION_LOOK_ALIKES]
    assert [_widget_of(el) for el in look_alikes] == [CLASS_WORDS, None]
    assert extract_page(parse_html(html, "https://clinic.example/"), "", "file").qa == [
        QA("Is it open?", "Yes.", position=1)
    ]


def test_every_widget_question_class_is_in_the_shared_scan() -> None:
    for widget in WIDGETS:
        for name in widget.question:
            assert any(hint in name for hint in CLASS_HINTS), (widget.name, name)


def test_one_question_answered_differently_twice_is_kept_twice() -> None:
    found = merge_copies(
        [
            QA("What are your hours?", "Downtown: 8 am to 8 pm, Monday to Friday.", position=3),
            QA("What are your hours?", "Westside: 10 am to 4 pm on Saturdays only.", position=9),
        ]
    )
    assert [q.answer[:8] for q in found] == ["Downtown", "Westside"]


def test_structured_author_never_outranks_the_page_text() -> None:
    html_copy = QA("Can I pay by card?", "Yes.\n\n- Debit\n- Credit", position=4)
    jsonld_copy = QA(
        "Can I pay by card?", "Yes. Debit Credit", Person("Sam Lee", "RMT"), POSITION_LAST
    )
    assert merge_copies([jsonld_copy, html_copy]) == [
        QA("Can I pay by card?", "Yes.\n\n- Debit\n- Credit", Person("Sam Lee", "RMT"), 4)
    ]


def test_legacy_fixture_is_really_windows_1252() -> None:
    raw = (FIXTURES / "legacy-qa-font-table-1252.html").read_bytes()
    assert b"\x92" in raw and b"<FONT" in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


@pytest.mark.parametrize(
    ("lines", "person"),
    [
        (
            ["Jonathan Sun BPE, CAT(C), Certified Athletic Therapist"],
            Person("Jonathan Sun", "BPE, CAT(C)", "Certified Athletic Therapist"),
        ),
        (["Dr. Daniel Cho, Chiropractor"], Person("Dr. Daniel Cho", None, "Chiropractor")),
        (["Sun Life, Manulife"], None),
        (["Sun Life Financial", "Green Shield Canada"], None),
    ],
)
def test_signature_forms(lines: list[str], person: Person | None) -> None:
    rest, found = split_signature(["We bill these insurers:", *lines])
    assert found == person
    assert rest == (["We bill these insurers:"] if person else ["We bill these insurers:", *lines])


def test_list_items_at_the_end_of_an_answer_are_not_a_signature() -> None:
    html = b"""<html><body><main><h1>FAQ</h1>
      <details><summary>Which insurers do you bill?</summary><p>We bill:</p>
      <ul><li>Sun Life Financial</li><li>Green Shield Canada</li></ul></details>
      </main></body></html>"""
    found = extract_page(parse_html(html, "https://clinic.example/"), "", "file").qa
    assert qa_triples(found) == [
        (
            "Which insurers do you bill?",
            "We bill:\n\n- Sun Life Financial\n- Green Shield Canada",
            None,
        )
    ]
