"""Text folding for search: case, accents, ligatures, punctuation, plurals and filler words."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss", "ø": "o", "Ø": "o"})

# Words that carry no product meaning in fr/en/de/it shopping phrases ("je cherche du miel").
_FILLERS = (
    "a au aux avec ce d de des du en et j je l la le les mon ma mes ou par pour sans sur un une"
    " cherche cherchons veux voudrais voudrait avez vous il y quoi",
    "the an of and or some any for with without my i want need looking have do you is",
    "der die das den dem des ein eine einen und oder mit ohne fur von vom zum zur ich suche mochte hatte gern gerne",
    "il lo gli le di del della dei delle e un una uno con senza per cerco vorrei avete",
)
STOPWORDS = frozenset(word for words in _FILLERS for word in words.split())


@lru_cache(maxsize=65536)
def stem(token: str) -> str:
    """Fold the common fr/en plural endings so singular and plural meet ("oeufs" -> "oeuf")."""
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 4 and token.endswith("oes"):
        return token[:-2]
    if len(token) > 3 and (token[-1] == "x" or (token[-1] == "s" and token[-2] not in "su")):
        return token[:-1]
    return token


_COMBINING_MARKS = re.compile(r"[\u0300-\u036f]")
_NOT_WORD = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """Lower-case, ligatures spelled out, accents removed, punctuation turned into spaces."""
    text = unicodedata.normalize("NFKD", text.translate(_LIGATURES).lower())
    return _NOT_WORD.sub(" ", _COMBINING_MARKS.sub("", text))


def tokens(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """Search tokens of `text`: folded, stemmed, without filler words."""
    return [stem(t) for t in fold(text).split() if keep_stopwords or t not in STOPWORDS]
