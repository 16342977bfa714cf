"""Copies of one text on several sites fold into one record; look-alikes do not."""

from __future__ import annotations

import itertools

from multihost import text

from harvester.dedup.crosssite import Sketched, fold_across_sites, sketch_text, sketched

ARTICLE = text("a shared article", 220)


def _item(record_id: str, site: str, body: str, title: str = "Caring for your knees") -> Sketched:
    sketch = sketch_text(body, 3, 128)
    return sketched(
        record_id, site, f"http://{site}/{record_id}", sketch.words, title, sketch.sketch
    )


def _groups(*items: tuple[Sketched, str]) -> list[list[str]]:
    """Ids sharing a band hash, as the database groups them."""
    by_band: dict[tuple[int, int], list[str]] = {}
    for item, body in items:
        for band, value in enumerate(sketch_text(body, 3, 128).bands):
            by_band.setdefault((band, value), []).append(item.id)
    return [ids for ids in by_band.values() if len(ids) > 1]


def test_the_same_article_on_three_sites_is_one_record() -> None:
    found = [(_item(f"r{n}", f"site{n}.test", ARTICLE), ARTICLE) for n in range(3)]
    items = {item.id: item for item, _ in found}
    folded = fold_across_sites(_groups(*found), items)
    assert folded == {"r1": "r0", "r2": "r0"}  # the shortest URL, then the first


def test_the_keeper_does_not_depend_on_order() -> None:
    found = [(_item(f"r{n}", f"s{n}.test", ARTICLE), ARTICLE) for n in range(3)]
    items = {item.id: item for item, _ in found}
    results = {
        tuple(sorted(fold_across_sites(list(reversed(_groups(*order))), items).items()))
        for order in itertools.permutations(found)
    }
    assert len(results) == 1


def test_pages_of_one_site_are_left_to_the_sites_own_dedup() -> None:
    found = [(_item(f"r{n}", "site.test", ARTICLE), ARTICLE) for n in range(2)]
    assert fold_across_sites(_groups(*found), {i.id: i for i, _ in found}) == {}


def test_short_pages_and_look_alike_titles_do_not_fold() -> None:
    short = "Call us to book a visit at the clinic today."
    assert sketch_text(short, 3, 128).bands == []  # too short to compare: no bands at all
    springfield = _item("a", "one.test", ARTICLE, "Physiotherapy in Springfield")
    shelbyville = _item("b", "two.test", ARTICLE, "Physiotherapy in Shelbyville")
    groups = _groups((springfield, ARTICLE), (shelbyville, ARTICLE))
    assert groups  # the same text: they share bands...
    assert fold_across_sites(groups, {"a": springfield, "b": shelbyville}) == {}  # ...not names


def test_different_articles_do_not_fold() -> None:
    other = text("another article", 220)
    a, b = _item("a", "one.test", ARTICLE), _item("b", "two.test", other)
    assert fold_across_sites([["a", "b"]], {"a": a, "b": b}) == {}
