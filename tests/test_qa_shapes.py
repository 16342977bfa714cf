"""Q&A extraction on the page shapes no plugin names: interviews, label runs, numbered
headings, class names in the page's language, hand-made ARIA accordions, and the look-alikes
that are not Q&A at all (a blog post's lone question, bold subheadings, a section title).

Every fixture in tests/fixtures/qa-shapes/ is a whole page, with its header, menu, footer,
copyright line and newsletter form, so that the page's chrome has to stay out of the answers.
Extracting it yields exactly the Q&As listed here (question, answer with "\\n\\n" between
paragraphs and "- " list items, who answered), in page order, and no others: what a careful
reader of the page would list.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import QAFound, assert_fixture_qa, fixture_qa

from harvester.models import QA, Person

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "qa-shapes"

Found = QAFound

MAYA = Person("Maya Chen")
ANNA = Person("Anna Keller")

EXPECTED: dict[str, list[Found]] = {
    # Numbered how-to steps ("1. Warm up") and a numbered FAQ (h6, one h5) share one
    # container: only the questions are pairs, without their numbers.
    "numbered-question-headings-after-numbered-steps.html": [
        (
            "How often should I do the routine?",
            "Once a day is enough for the first fortnight. After that, every other day keeps "
            "the gains.",
            None,
        ),
        (
            "Is it normal for my knee to ache afterwards?",
            "A mild ache that settles within an hour is fine and means the tissue is working."
            "\n\nSharp pain, swelling the next morning or a knee that gives way are not normal. "
            "Stop and ring us.",
            None,
        ),
        (
            "What if I miss a few days?",
            "Pick up where you left off. If you missed more than a week:\n\n"
            "- Halve the number of repetitions\n"
            "- Build back up over three or four days",
            None,
        ),
        (
            "Do I still need to come to the clinic?",
            "Yes. We check your progress every two weeks and make the exercises harder as you "
            "improve.",
            None,
        ),
    ],
    # Bold prompts, one a statement; a promo box and a photo caption inside an answer are
    # skipped and the answer goes on; the "Want to know more?" trailer and related links
    # end the last answer. The title names the interviewee; the byline's writer never
    # answers.
    "bold-question-paragraphs-interview.html": [
        (
            "What made you choose physiotherapy?",
            "I broke my wrist playing basketball at fourteen, and the therapist who treated me "
            "made the whole thing feel like a project we were solving together.\n\n"
            "By the end of it I knew I wanted to do the same job.",
            MAYA,
        ),
        (
            "Tell us about your first week here.",
            "Busy and friendly. Everyone stopped by my room to say hello, and I saw twenty "
            "patients by Friday.",
            MAYA,
        ),
        (
            "Which problems do you see most often?",
            "Lower back pain, by far. After that come shoulders, mostly from people who lift "
            "weights without warming up.\n\n"
            "Knees are a close third, especially in the running season.",
            MAYA,
        ),
        (
            "What would you tell someone who is nervous about their first appointment?",
            "That we go at your pace. Nothing happens without your say-so.\n\n"
            "Before you come in, it helps to:\n\n"
            "- Write down when the pain started\n"
            "- Bring a list of your medications\n\n"
            "And wear something you can move in.",
            MAYA,
        ),
    ],
    # Question and answer in one paragraph (<strong>Frage?<br></strong>Antwort); only the
    # first pair carries speaker labels, which name the answerer of every pair. The bold
    # dateline ("Berlin -") opens the intro and is no question.
    "bold-question-br-answer-interview-de.html": [
        (
            "Frau Keller, wie sind Sie zur Physiotherapie gekommen?",
            "Über den Sport. Ich war Leichtathletin und habe nach einer Verletzung monatelang "
            "trainiert, um wieder laufen zu können.\n\n"
            "Damals habe ich gemerkt, wie viel man mit gezielter Bewegung erreichen kann.",
            ANNA,
        ),
        (
            "Was ist der häufigste Fehler bei Rückenschmerzen?",
            "Sich zu schonen. Wer sich kaum noch bewegt, verliert Muskelkraft, und der Rücken "
            "wird noch empfindlicher.",
            ANNA,
        ),
        (
            "Brauchen Sie einen teuren Bürostuhl?",
            "Nein. Wichtiger ist, dass Sie oft die Haltung wechseln und alle halbe Stunde kurz "
            "aufstehen.",
            ANNA,
        ),
        (
            "Was empfehlen Sie für den Einstieg?",
            "Zehn Minuten am Tag reichen für den Anfang. Zum Beispiel:\n\n"
            "- Katzenbuckel im Vierfüßlerstand\n"
            "- Beckenkippen im Liegen",
            ANNA,
        ),
    ],
    # "Frage:" / "Antwort:" in their own paragraphs: labels dropped, the answer runs on
    # through its list to the next label.
    "frage-antwort-labels-paragraphs-de.html": [
        (
            "Wie oft sollte ich zur professionellen Zahnreinigung kommen?",
            "Für die meisten Erwachsenen genügen zwei Termine im Jahr.\n\n"
            "Bei Zahnfleischentzündungen empfehlen wir kürzere Abstände, etwa alle drei bis "
            "vier Monate.",
            None,
        ),
        (
            "Tut eine Wurzelbehandlung weh?",
            "Nein. Der Zahn wird vorher örtlich betäubt, sodass Sie nur Druck spüren.",
            None,
        ),
        (
            "Was zahlt die gesetzliche Krankenkasse?",
            "Die Kasse übernimmt unter anderem:\n\n"
            "- eine Kontrolluntersuchung pro Halbjahr\n"
            "- einfache Füllungen im Seitenzahnbereich\n\n"
            "Alles Weitere besprechen wir gern persönlich mit Ihnen.",
            None,
        ),
    ],
    # Class names that say question and answer in French (qa-question, reponse) and a BEM
    # FAQ (faq-item__title, faq-item__content); the toggle glyphs are not the question's.
    # The quiz names its questions too, and is no FAQ.
    "class-name-faq-fr-beside-quiz.html": [
        (
            "Faut-il une ordonnance pour prendre rendez-vous ?",
            "Non, vous pouvez venir sans ordonnance.\n\n"
            "En revanche, l’Assurance Maladie ne rembourse les séances que sur prescription "
            "d’un médecin.",
            None,
        ),
        (
            "Que dois-je apporter ?",
            "Pensez à prendre :\n\n"
            "- votre carte Vitale\n"
            "- vos radios ou comptes rendus d’examens\n"
            "- une serviette",
            None,
        ),
        (
            "Combien de temps dure une séance ?",
            "Comptez trente minutes environ, un peu plus pour le premier bilan.",
            None,
        ),
        (
            "Combien de séances faut-il prévoir ?",
            "Cela dépend de votre pathologie. Une entorse de cheville demande souvent dix séances.",
            None,
        ),
    ],
    # The WAI-ARIA accordion pattern with no class names: each button opens the hidden
    # region its aria-controls names.
    "aria-accordion-buttons-without-classes.html": [
        (
            "When should my child first see a dentist?",
            "Around their first birthday, or within six months of the first tooth coming through.",
            None,
        ),
        (
            "How can I make the visit less scary?",
            'Keep it light and avoid words like "hurt" or "needle".\n\n'
            "A few things that help:\n\n"
            "- Read a picture book about the dentist together\n"
            "- Book a morning slot, when children are less tired",
            None,
        ),
        (
            "Are check-ups covered by the Child Dental Benefits Schedule?",
            "Yes, for eligible children aged 0 to 17. We bulk bill, so there is nothing to pay "
            "on the day.",
            None,
        ),
    ],
    # A blog post with one bold question paragraph and one question heading among
    # statement headings: lone questions are article text.
    # A script-driven accordion copied from a tutorial: plain <button>s, each followed by
    # its panel, no ARIA. Quiz options and a "Print this page" button are not questions.
    "script-accordion-plain-buttons.html": [
        (
            "How long do orthotics last?",
            "Two to three years for most adults. Children outgrow them sooner.",
            None,
        ),
        (
            "Can I move them between shoes?",
            "Yes, if the shoes have a removable insole and a similar heel height.\n\n"
            "Dress shoes usually need a slimmer pair.",
            None,
        ),
        (
            "Will my insurance pay for them?",
            "Most extended health plans do, with a prescription from your podiatrist.",
            None,
        ),
    ],
    "article-lone-bold-question-and-question-heading.html": [],
    # "Have a question?" titles the FAQ section and "Still have questions?" the contact
    # box after it: neither is a pair, and the intro under the title answers nothing.
    "faq-section-titled-with-question.html": [
        (
            "How long will my teenager wear braces?",
            "Usually eighteen months to two years. Simple cases can be done in under a year.",
            None,
        ),
        (
            "Can they still play sport?",
            "Yes. Wear a mouthguard made to fit over braces for contact sports.",
            None,
        ),
        (
            "What foods should be avoided?",
            "Anything hard or sticky that can bend a wire or pop off a bracket:\n\n"
            "- Toffee and chewing gum\n"
            "- Whole apples and raw carrots, unless cut into small pieces",
            None,
        ),
    ],
    # A run of bold subheadings that state ("Our team", "Our rooms"): a run of bold lines
    # is an FAQ only when its lines ask.
    "bold-statement-subheadings-not-questions.html": [],
}

# What every fixture's footer holds and no answer may: the page's chrome.
CHROME_WORDS = ("©", "newsletter", "subscribe", "abonnieren", "abonne")


def extract_qa(name: str) -> list[QA]:
    return fixture_qa(FIXTURES, name)


def test_every_fixture_has_its_expected_qa() -> None:
    """A fixture dropped in the folder without its expected Q&A would test nothing."""
    assert sorted(p.name for p in FIXTURES.glob("*.html")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_yields_exactly_its_qa_in_page_order(name: str) -> None:
    """The exact pairs a reader would list, no more, no fewer, in the order shown."""
    assert_fixture_qa(FIXTURES, name, EXPECTED[name])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_page_chrome_stays_out_of_every_qa(name: str) -> None:
    """The footer's copyright line and newsletter form are on every page, in no answer."""
    for qa in extract_qa(name):
        text = f"{qa.question}\n{qa.answer}".lower()
        assert not [word for word in CHROME_WORDS if word in text], qa


def test_interview_byline_writer_never_answers() -> None:
    """ "By Tom Writer" signs the article; the interviewee the title names answers."""
    found = extract_qa("bold-question-paragraphs-interview.html")
    assert found
    assert {qa.answered_by for qa in found} == {MAYA}
