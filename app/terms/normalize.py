"""Search keys that match across case, accents, scripts and transliteration conventions.

Every text is transliterated to ASCII (anyascii: Сергей Лавров → Sergey Lavrov), lowered,
split into words, and each word reduced to a skeleton on which the usual ways of writing
a Russian name in English, French and German agree: Sergei, Sergey, Serguei, Sergej and
Сергей all become "sergei"; Serdioukov, Serdyukov and Сердюков become "serdiukov";
Poutine and Putin become "putin". The same reduction applies to queries, so a query word
matches a stored word when its skeleton is a prefix of the stored skeleton.
"""

import re
import unicodedata

from anyascii import anyascii

_WORD = re.compile(r"[a-z0-9]+")
# Ordered rewrites of one lower-case ASCII word; each line says which spellings it merges.
_REWRITES = (
    (re.compile(r"ou"), "u"),  # French "ou": Poutine/Putin, Serdioukov/Serdyukov
    (re.compile(r"gu(?=[ei])"), "g"),  # French "gue/gui": Serguei/Sergei
    (re.compile(r"tch"), "ch"),  # French "tch": Khrouchtchev/Khrushchev
    (re.compile(r"sh"), "ch"),  # English "sh", French "ch": Shoigu/Choigou
    (re.compile(r"zh"), "j"),  # English "zh", French "j": Zhukov/Joukov
    (re.compile(r"[yj]"), "i"),  # Sergey/Sergei/Sergej, Anatoliy/Anatoli
    (re.compile(r"w"), "v"),  # German "w": Lawrow/Lavrov
    (re.compile(r"^ie"), "e"),  # Yeltsin/Eltsine
    (re.compile(r"(.)\1+"), r"\1"),  # doubled letters: Alliot/Aliot, Anatolii/Anatoli
)
_FINAL_E = re.compile(r"(?<=...)e$")  # French final "e": Poutine/Putin, Eltsine/Yeltsin


def skeleton(word: str) -> str:
    for pattern, replacement in _REWRITES:
        word = pattern.sub(replacement, word)
    return _FINAL_E.sub("", word)


def search_words(text: str) -> list[str]:
    """The skeletons of the words of a text, in order, without repeats."""
    ascii_text = anyascii(unicodedata.normalize("NFC", text)).lower().replace("'", "")
    return list(dict.fromkeys(skeleton(w) for w in _WORD.findall(ascii_text)))


def prefix_upper_bound(word: str) -> str:
    """The first string after every string that starts with `word` (ASCII words only), so
    that `word <= term < bound` is a prefix match that a B-tree index serves."""
    return word[:-1] + chr(ord(word[-1]) + 1)
