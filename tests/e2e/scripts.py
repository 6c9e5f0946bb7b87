"""Which script a page's words are in (issue #14 item 6), for tests/e2e/test_languages.py and
tests/web/test_words.py.

The rule. A Chinese page has no Latin word and an English page no Chinese character, in the
text of its body, its title and the title / placeholder / aria-label / alt of its elements,
except:
- text inside an element marked translate="no": what the district or a person entered and the
  platform has no other name for (names of streets, communities, grids, units, categories and
  people, addresses, descriptions, notes). The catalogue (categories.csv) and the geography
  have no English names, so an English page shows them as entered, and marks them so;
- text inside an element whose lang= says another language (the switch to the other language);
- case codes (XF20261129-000001) and the small allow-list below (Chinese pages only: names of
  standards, file formats and the brand, and the pinyin example of the category search);
- a single Latin letter is not a word (the grades A–E).
"""

import re

HAN = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
CASE_CODE = re.compile(r"\b[A-Z]{2}\d{8}-\d{6}\b")
ALLOWED_LATIN = frozenset(
    {
        "bllj",  # the pinyin initials the category search shows as its example (暴露垃圾)
        "civicgrid",  # the brand, in every page's title
        "csv",  # file formats offered for download or upload, or asked for
        "excel",
        "geojson",
        "jpeg",
        "png",
        "vcard",
        "webp",
        "km",  # the SI symbol in distances and speeds (km, km/h), as Chinese pages write it
        "mb",  # megabytes, in the size limits of photos and uploads
        "open311",  # the standard's name
        # notices: the formats and standards a notice names (its feed, its warning's alert,
        # its text's markup, its attachments' types and sizes)
        "atom",
        "cap",
        "markdown",
        "pdf",
        "office",
        "docx",
        "xlsx",
        "pptx",
        "doc",
        "xls",
        "ppt",
        "kb",
    }
)

# Every text of the page that a person reads, with its place: text nodes, the named
# attributes, the title. Hidden parts count as well (a form opened by a button, a message).
COLLECT = """() => {
  const lang = document.documentElement.lang;
  const exempt = (el) => el.closest('[translate="no"], script, style, noscript, template')
    || el.closest('[lang]').getAttribute('lang') !== lang;
  const where = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : '');
  const out = [['title', document.title]];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (el && n.data.trim() && !exempt(el)) { out.push([where(el), n.data.trim()]); }
  }
  for (const el of document.body.querySelectorAll('[title], [placeholder], [aria-label], [alt]')) {
    if (exempt(el)) { continue; }
    for (const a of ['title', 'placeholder', 'aria-label', 'alt']) {
      const v = el.getAttribute(a);
      if (v && v.trim()) { out.push([where(el) + '@' + a, v.trim()]); }
    }
  }
  return out;
}"""


def latin_words(text: str) -> set[str]:
    """The Latin words of `text` (runs of two or more letters, lower case), case codes aside."""
    found = re.findall(r"[A-Za-z][A-Za-z0-9]*", CASE_CODE.sub(" ", text))
    return {w.lower() for w in found if sum(c.isalpha() for c in w) >= 2}


def wrong_script(lang: str, texts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (place, text) pairs in the other language's script."""
    if lang == "en":
        return [(w, t) for w, t in texts if HAN.search(t)]
    return [(w, t) for w, t in texts if latin_words(t) - ALLOWED_LATIN]
