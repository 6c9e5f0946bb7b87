"""The pages' words (web.i18n.WORDS): every word in both languages, each language in its own
script, every name a domain gives in Chinese (states, actions, queues, KPIs, public steps)
with a page word that agrees with it, every key a template asks for present."""

import re
from pathlib import Path

import pytest

import civicgrid.app  # noqa: F401 - imports every domain, so every job is registered
from civicgrid.auth.models import ROLES
from civicgrid.cases import workflow
from civicgrid.cases.queries import QUEUES
from civicgrid.cases.routing import QUEUE_REASONS
from civicgrid.citizen.service import PUBLIC_STEP_TEXTS
from civicgrid.kit import scheduler
from civicgrid.org.models import UNIT_KINDS
from civicgrid.stats.kpi import NAMES_ZH
from civicgrid.stats.subjects import NAMES as ASSESS_NAMES
from civicgrid.stats.subjects import SUBJECT_NAMES
from civicgrid.web.i18n import WORDS
from tests.e2e.scripts import ALLOWED_LATIN, HAN, latin_words

TEMPLATES = Path(__file__).parents[2] / "src" / "civicgrid" / "templates" / "web"


def test_english_words_have_no_chinese_and_chinese_words_no_english():
    for key, (zh, en) in WORDS.items():
        if key == "language":  # the switch names the other language in that language
            continue
        assert not HAN.search(en), (key, en)
        zh = re.sub(r"\{[a-z_]+\}", "", zh)  # the places of values: {unit}, {month}
        assert not latin_words(zh) - ALLOWED_LATIN, (key, zh)


@pytest.mark.parametrize(
    ("prefix", "names"),
    [
        ("state_", workflow.STATE_NAMES_ZH),
        ("action_", workflow.ACTION_NAMES_ZH),
        ("queue_", {key: q.label for key, q in QUEUES.items()}),
        ("reason_", {key: zh for key, (zh, _en) in QUEUE_REASONS.items()}),
        ("kpi_", NAMES_ZH),
        ("assess_", {k: zh for k, (zh, _en) in ASSESS_NAMES.items()}),
        ("step_", PUBLIC_STEP_TEXTS),
    ],
)
def test_every_domain_name_has_a_page_word_that_agrees(prefix, names):
    # the domain keeps its Chinese name for the API (state_zh, action_zh, exports); the
    # pages take both languages from WORDS: the two must not drift apart
    for key, zh in names.items():
        assert prefix + key in WORDS, prefix + key
        assert WORDS[prefix + key][0] == zh, (prefix + key, WORDS[prefix + key][0], zh)


def test_every_code_a_page_shows_has_a_word():
    needed = (
        [f"role_{r}" for r in ROLES]
        + [f"kind_{k}" for k in UNIT_KINDS]
        + list(workflow.LIMIT_UNITS)
        + [f"assess_{key}" for key in (*ASSESS_NAMES, *SUBJECT_NAMES)]
        + [f"target_{t}" for t in ("street", "community", "department", "unit")]
        + [f"geo_{n}" for n in (1, 2, 3, "none")]
        + [f"job_{job.name}" for job in scheduler.jobs()]
    )
    assert [k for k in needed if k not in WORDS] == []


def test_every_word_a_template_asks_for_exists():
    asked = set()
    for path in TEMPLATES.glob("*.html"):
        asked |= set(re.findall(r"\bt\('([a-z0-9_]+)'\)", path.read_text(encoding="utf-8")))
    assert sorted(asked - set(WORDS)) == []
