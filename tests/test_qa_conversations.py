"""Q&A read from conversations, letters and pages that name who answers.

Every fixture in tests/fixtures/qa-conversations/ is a whole, hand-written page (menu,
footer, newsletter form) showing one way people lay out questions and answers: interviews
with speaker labels, podcast transcripts, advice columns, an FAQ described again in
JSON-LD, a Q&A site's microdata, and pages whose title or intro names the answerer.
Extracting it yields exactly the Q&As listed here (question, answer with "\\n\\n"
between paragraphs, who answered), in page order, and no others: what a careful reader
would pick out, so that no one is named as answerer who did not answer.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import QAFound, assert_fixture_qa, fixture_qa

from harvester.extract import extract_page
from harvester.models import QA, Person
from harvester.parse import parse_html

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "qa-conversations"

Found = QAFound

ORTIZ = Person("Dr. Lena Ortiz")
OKAFOR = Person("Amara Okafor")
HOLLIS = Person("Ben Hollis")
GRANT = Person("Dr. Paul Grant")
KIM = Person("Dr. Sara Kim")
DUBOIS = Person("Claire Dubois")

EXPECTED: dict[str, list[Found]] = {
    # Labels inline in the paragraph; the answerer's label shortens after the first turn;
    # an imperative prompt is still a question; the book extract after "* * *" is not.
    "newspaper-interview-inline-speaker-labels.html": [
        (
            "When you arrived in Millbrook in 2004, what did you find?",
            "One doctor for eleven thousand people, and he was seventy-three. People drove "
            "ninety minutes to the city for a sore throat.",
            ORTIZ,
        ),
        (
            "Tell us about your first clinic.",
            "It was a former shoe shop on Canal Street, with two exam rooms and a curtain. We "
            "chose it because the number 4 bus stopped at the door.\n\n"
            "Most of our patients did not drive. Out by the highway, half of them would never "
            "have come.",
            ORTIZ,
        ),
        (
            "Why walk-in visits rather than appointments?",
            "Because people who work shifts cannot book a slot three weeks ahead. They come "
            "when they can.",
            ORTIZ,
        ),
        (
            "What will you miss most?",
            "The regulars. Some of them I have seen through three pregnancies and a hip "
            "replacement.\n\n"
            "And the waiting-room gossip, honestly. I learned more about this town there than "
            "from any newspaper, yours included.",
            ORTIZ,
        ),
    ],
    # Speaker names in elements of their own; two guests answering one question join,
    # signed by the first; the host's closing thanks asks nothing.
    "podcast-speaker-name-elements.html": [
        (
            "Amara, what is the most common injury you see in runners over forty?",
            "Calf strains, by far. The calf loses some of its spring with age, and people "
            "restart at the pace they ran at twenty-five.\n\n"
            "I see the same thing at the track. The first week back is always too fast.",
            OKAFOR,
        ),
        (
            "Ben, how should someone plan their first month?",
            "Walk-run intervals: one minute of running, two of walking, three times a week."
            "\n\nOnly add running time when the day after feels normal.",
            HOLLIS,
        ),
        (
            "Amara, is strength training really worth the time?",
            "It matters more than mileage. Twenty slow calf raises a day protect the tendon "
            "better than any shoe.",
            OKAFOR,
        ),
        (
            "And when should a runner stop and get help?",
            "When a pain changes the way you run. Limping is the signal.\n\n"
            "Or when it wakes you at night. That one needs a proper look, not another rest day.",
            HOLLIS,
        ),
    ],
    # Two officials taking turns at a podium: labelled speakers, nobody asking.
    "press-remarks-speaker-labels-no-questions.html": [],
    # Letters to a columnist: the salutation and the asker's signature are not the
    # question, the credit line names who answers and is not part of the last reply.
    "advice-column-dear-doctor-letters.html": [
        (
            "My husband snores so loudly that I sleep in the guest room. Lately I have noticed "
            "that he stops breathing for a few seconds before the snoring starts again. Should "
            "I be worried, or is this just what happens after sixty?",
            "Pauses in breathing during sleep are not a normal part of aging. They are the "
            "classic sign of obstructive sleep apnea, which strains the heart and raises blood "
            "pressure.\n\n"
            "Ask his doctor about a sleep study. Many can now be done at home with a small "
            "monitor worn for one night.",
            GRANT,
        ),
        (
            "Every morning my first steps out of bed are agony. The pain is under my heel and "
            "fades after I walk around for a while.\n\n"
            "I am on my feet all day at work. What can I do?",
            "This sounds like plantar fasciitis, an irritation of the thick band of tissue "
            "under the foot. Roll your foot over a frozen water bottle for five minutes each "
            "evening, and wear supportive shoes even at home.",
            GRANT,
        ),
        (
            "I had a cold six weeks ago. Everything else cleared up, but I still cough every "
            "night. Do I need antibiotics?",
            "Probably not. A cough often lingers for weeks after a virus, and antibiotics do "
            "nothing against viruses.\n\n"
            "See your doctor if the cough lasts beyond eight weeks, if you cough up blood, or "
            "if you smoke.",
            GRANT,
        ),
    ],
    # Question headings in the article are a run (two asking siblings), so the section
    # and the FAQ item that ask alike are both kept: their answers differ. The JSON-LD
    # copies, reworded and shortened, fold into the visible items; the one only in
    # JSON-LD comes last.
    "clinic-faq-jsonld-reworded-and-question-sections.html": [
        (
            "What is shockwave therapy?",
            "Extracorporeal shockwave therapy (ESWT) uses a handheld applicator to send pulses "
            "of acoustic energy through the skin into a painful tendon.\n\n"
            "The pulses trigger a fresh healing response in tissue that has stopped repairing "
            "itself, and they calm the nerve endings that keep the pain going.",
            None,
        ),
        (
            "Which conditions does it treat?",
            "We use it most for plantar fasciitis, Achilles and patellar tendinopathy, tennis "
            "elbow and calcific shoulder tendinitis.",
            None,
        ),
        (
            "What is shockwave therapy?",
            "A non-invasive treatment that sends sound waves into a sore tendon to restart "
            "healing. No needles and no downtime.",
            None,
        ),
        (
            "Is it painful?",
            "It feels like strong, fast tapping. We start at a low setting and raise it as you "
            "get used to it.\n\n"
            "Most people rate the discomfort at four out of ten, and it stops as soon as the "
            "machine does.",
            None,
        ),
        (
            "How many sessions will I need?",
            "Most people need three to five sessions, one week apart. Many notice less pain "
            "after the second.",
            None,
        ),
        (
            "Can I exercise after shockwave therapy?",
            "Avoid running and jumping for 48 hours after each session. Walking is fine.",
            None,
        ),
    ],
    # The same FAQ item under a lone question heading among statement headings: the
    # heading is article text, only the FAQ is Q&A.
    "clinic-article-lone-question-heading-above-faq.html": [
        (
            "What are custom orthotics?",
            "Prescription shoe inserts made from a scan of your feet.",
            None,
        ),
        (
            "How long do they last?",
            "Two to three years for most adults. Children outgrow them sooner.",
            None,
        ),
    ],
    # One question, three answers: one pair each, the accepted one first, each signed by
    # its own author and never by the asker.
    "forum-qapage-microdata-accepted-and-suggested-answers.html": [
        (
            "Why does my knee click when I squat?",
            "A painless click is usually gas bubbles in the joint fluid or a tendon sliding "
            "over bone. Both are harmless.\n\n"
            "See a physio if the click comes with pain, swelling, or the knee catching or "
            "giving way.",
            Person("physio_rachel"),
        ),
        (
            "Why does my knee click when I squat?",
            "Mine did the same for years. I never worried about it and it never got worse.",
            Person("deadlift_dan"),
        ),
        (
            "Why does my knee click when I squat?",
            "Try warming up with bodyweight squats first. The click went away for me after a "
            "few sets.",
            Person("kettlebell_kim"),
        ),
    ],
    # "Ask Dr. Sara Kim: …" names who answers the questions put to "you" below it; the
    # call for questions after the last answer is not part of it.
    "ask-doctor-title-bold-questions.html": [
        (
            "Do you recommend a knee brace for running?",
            "For most runners, no. A brace can feel reassuring, but it does not fix the weak "
            "hip and thigh muscles that usually cause the pain.\n\n"
            "I do suggest one for a short while after a ligament sprain, while you rebuild "
            "strength.",
            KIM,
        ),
        (
            "Would you order an MRI for knee pain that has lasted two weeks?",
            "Rarely. Two weeks is early, and most knee pain settles with load management and "
            "exercise. I order an MRI when the knee locks, gives way or swells after every "
            "activity.",
            KIM,
        ),
        (
            "What do you tell patients who are afraid of knee replacement?",
            "That the fear is normal, and that the decision is theirs. We talk about how much "
            "the knee limits their life today, and we try everything else first.\n\n"
            "Most of my patients tell me afterwards that they wish they had done it sooner.",
            KIM,
        ),
    ],
    # "Entretien avec Claire Dubois" names who answers the "vous" questions, not the
    # journalist who took them down.
    "french-interview-entretien-avec-h3-questions.html": [
        (
            "Pourquoi avez-vous choisi le sport ?",
            "J’ai joué au basket pendant vingt ans, et je me suis blessée souvent. Le kiné qui "
            "m’a remise sur pied m’a donné envie de faire ce métier.",
            DUBOIS,
        ),
        (
            "Quelle est l’erreur que vous voyez le plus souvent ?",
            "Le repos complet. Après une entorse, beaucoup de patients attendent que la "
            "douleur disparaisse avant de bouger.\n\n"
            "Or une cheville qui ne travaille pas perd sa stabilité, et la récidive arrive "
            "quelques mois plus tard.",
            DUBOIS,
        ),
        (
            "Que conseillez-vous à quelqu’un qui reprend la course à pied ?",
            "De commencer plus doucement qu’il ne le pense, et de renforcer les mollets dès "
            "la première semaine.",
            DUBOIS,
        ),
    ],
    # A patient's FAQ ("Do I need…?"): the page's byline and its staff list name people,
    # none of whom signed an answer.
    "clinic-faq-byline-and-staff-list-no-answerer.html": [
        (
            "Do I need a referral?",
            "No. You can book with any of our practitioners directly.\n\n"
            "If you are claiming through a workers’ compensation or motor accident scheme, "
            "bring your claim number to your first visit.",
            None,
        ),
        (
            "How long is my first appointment?",
            "Allow 45 minutes. Follow-up visits take 20 to 30 minutes.",
            None,
        ),
        (
            "Can I claim on my private health insurance?",
            "Yes. We have HICAPS, so you can claim on the spot and only pay the gap.",
            None,
        ),
    ],
    # Readers' letters signed by the asker only: the signature is not the question, no
    # answerer is made up, and the call for questions is not part of the last answer.
    "reader-letters-asker-signature-only.html": [
        (
            "I am 67 and my doctor told me to take vitamin D every day. My sister says she "
            "takes one big dose a week. Is one way better than the other?",
            "Both work. Daily and weekly doses raise blood levels about equally, so choose the "
            "one you will remember.\n\n"
            "Do not take more than your doctor prescribed, though. Very high doses can raise "
            "calcium levels.",
            None,
        ),
        (
            "Since I retired I nap for two hours every afternoon, and now I cannot sleep at "
            "night. Should I stop napping?",
            "Shorten the nap rather than stopping it. Twenty to thirty minutes, before 3 p.m., "
            "refreshes you without stealing from the night.",
            None,
        ),
    ],
}

MAX_FIXTURE_LINES = 90


def extract_qa(name: str) -> list[QA]:
    return fixture_qa(FIXTURES, name)


def test_every_fixture_has_its_expected_qa() -> None:
    """A fixture added without its expected Q&A would test nothing."""
    assert sorted(p.name for p in FIXTURES.glob("*.html")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_is_a_whole_page_with_chrome(name: str) -> None:
    """Menus, footers and newsletter forms are there to be left out of every answer."""
    html = (FIXTURES / name).read_text(encoding="utf-8")
    assert re.search(r"<html lang=\"[a-z]{2}(?:-[A-Z]{2})?\">", html)
    assert "<title>" in html and "<nav>" in html and "<footer" in html
    assert "©" in html and re.search(r"newsletter", html, re.I)
    assert len(html.splitlines()) <= MAX_FIXTURE_LINES


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_yields_exactly_its_qa_in_page_order(name: str) -> None:
    """Each pair as a reader would copy it out, attributed only to who answered."""
    assert_fixture_qa(FIXTURES, name, EXPECTED[name])


def _qa_of(body: str) -> list[QA]:
    """The Q&As of a page whose <main> holds `body`."""
    html = f"<html><body><main>{body}</main></body></html>"
    return extract_page(parse_html(html.encode(), "https://clinic.example/"), "", "file").qa


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("Interview with Dr. Maya Chen", "Dr. Maya Chen"),
        ("Meet Maya Chen, our new physiotherapist", "Maya Chen"),
        ("Five questions for Maya Chen", "Maya Chen"),
        ("Maya Chen answers your questions about running", "Maya Chen"),
        ("Ask Dr. Sara Kim: your knee questions answered", "Dr. Sara Kim"),
        ("Steve Rowe: the clinic is the town's living room", "Steve Rowe"),
        ("Sur les migrations, un entretien avec Claire Dubois", "Claire Dubois"),
        ("Im Gespräch mit Anna Keller", "Anna Keller"),
        ("Introducing Junior Gaspard, our new chief executive", "Junior Gaspard"),
        # Lower-case words are never part of a name: no answerer rather than a wrong one.
        ("Meet our new physiotherapist maya", None),
        ("Living with chronic pain", None),
        ("Knee pain: what helps?", None),
    ],
)
def test_the_answerer_named_in_a_title(title: str, name: str | None) -> None:
    """The title forms that name who answers an interview's questions, and none else."""
    found = _qa_of(
        f"<h1>{title}</h1>"
        "<p><strong>How did you start?</strong></p><p>By accident, in 1998.</p>"
        "<p><strong>What do you tell your patients?</strong></p><p>Move a little every day.</p>"
        "<p><strong>And on your days off?</strong></p><p>I garden.</p>"
    )
    assert len(found) == 3
    assert {q.answered_by for q in found} == {Person(name) if name else None}


def test_role_labels_name_nobody_and_the_title_names_the_answerer() -> None:
    """ "HOST:" / "GUEST:" split the turns, but "Guest" is nobody's name."""
    found = _qa_of(
        "<h1>Running late: an interview with Dr. Ana Ruiz</h1>"
        "<p>HOST: Why do runners get knee pain?</p><p>GUEST: From doing too much too soon.</p>"
        "<p>HOST: How long should I rest?</p><p>GUEST: A week, then build up slowly.</p>"
        "<p>HOST: Do shoes matter?</p><p>GUEST: Less than you think.</p>"
    )
    assert [(q.question, q.answered_by) for q in found] == [
        ("Why do runners get knee pain?", Person("Dr. Ana Ruiz")),
        ("How long should I rest?", Person("Dr. Ana Ruiz")),
        ("Do shoes matter?", Person("Dr. Ana Ruiz")),
    ]
    assert (
        _qa_of(
            "<h1>Running late</h1>"
            "<p>HOST: Why do runners get knee pain?</p><p>GUEST: From doing too much too soon.</p>"
            "<p>HOST: How long should I rest?</p><p>GUEST: A week, then build up slowly.</p>"
        )[0].answered_by
        is None
    )


def test_a_labelled_interview_takes_its_answerer_from_the_intro() -> None:
    """ "Q:" / "A:" put to someone named in the intro: that person answers."""
    found = _qa_of(
        "<h1>Five questions for Tom Berg</h1><p>Our new chiropractor started in May.</p>"
        "<p>Q: Why did you become a chiropractor?</p><p>A: A back injury in college.</p>"
        "<p>Q: What do you do on weekends?</p><p>A: I coach my daughter's soccer team.</p>"
    )
    assert [q.answered_by for q in found] == [Person("Tom Berg"), Person("Tom Berg")]
