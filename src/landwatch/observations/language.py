"""BCP 47 language tags (RFC 5646) for the free text of an observation.

Only the syntax is checked (no copy of the IANA subtag registry is shipped), then the
tag is put in its canonical case: ``sw``, ``sw-KE``, ``ber-Tfng-MA``, ``mas``
(Maasai), ``x-local`` for a private code. ``und`` (undetermined) is the tag for a
text whose language nobody recorded.
"""

from __future__ import annotations

import re

from landwatch.errors import InputError

#: RFC 5646 section 2.1 "langtag" and "privateuse" productions. The primary language
#: subtag is restricted to 2-3 letters (ISO 639-1/2/3): 4 letters are reserved and 5-8
#: letter subtags are not used by any registered language.
_LANGTAG = re.compile(
    r"""^
    (?P<language>[a-z]{2,3}(?:-[a-z]{3}){0,3})   # language, up to 3 extlang
    (?:-(?P<script>[a-z]{4}))?
    (?:-(?P<region>[a-z]{2}|[0-9]{3}))?
    (?P<variants>(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*)
    (?P<extensions>(?:-[a-wyz0-9](?:-[a-z0-9]{2,8})+)*)
    (?:-(?P<privateuse>x(?:-[a-z0-9]{1,8})+))?
    $""",
    re.VERBOSE,
)
_PRIVATEUSE = re.compile(r"^x(?:-[a-z0-9]{1,8})+$")

UNDETERMINED = "und"


def canonical_language_tag(tag: str) -> str:
    """Check that ``tag`` is a well-formed BCP 47 tag and return it in canonical case.

    Parameters
    ----------
    tag : str
        A language tag such as ``"sw-KE"``; ``_`` is accepted for ``-``
        (``"pt_BR"``, as in POSIX locales).

    Returns
    -------
    str
        The tag with lower-case language, title-case script and upper-case region,
        e.g. ``"zh-Hant-TW"``.

    Raises
    ------
    InputError
        The tag is empty or not well formed; the message gives examples.

    Notes
    -----
    Checks the RFC 5646 syntax and that no variant or extension singleton repeats;
    it does not look subtags up in the IANA registry, so ``"qq"`` passes. The
    irregular grandfathered tags (``i-klingon``...) are refused.

    References
    ----------
    RFC 5646, *Tags for Identifying Languages* (BCP 47), sections 2.1 and 2.1.1.
    """
    text = str(tag).strip().replace("_", "-")
    low = text.lower()
    hint = (
        "Use a BCP 47 tag: an ISO 639 language code, optionally with script and region, "
        "e.g. 'en', 'sw', 'sw-KE', 'fr-SN', 'ar', 'mas' (Maasai), or 'und' when unknown."
    )
    if not low:
        raise InputError(f"language: empty. {hint}")
    if _PRIVATEUSE.match(low):
        return low
    m = _LANGTAG.match(low)
    if m is None:
        raise InputError(f"language: {tag!r} is not a well-formed language tag. {hint}")
    variants = [v for v in m["variants"].split("-") if v]
    if len(set(variants)) != len(variants):
        raise InputError(f"language: {tag!r} repeats a variant subtag. {hint}")
    singletons = re.findall(r"-([a-wyz0-9])(?=-)", m["extensions"])
    if len(set(singletons)) != len(singletons):
        raise InputError(f"language: {tag!r} repeats an extension singleton. {hint}")
    parts = [m["language"]]
    if m["script"]:
        parts.append(m["script"].title())
    if m["region"]:
        parts.append(m["region"].upper())
    parts += variants
    if m["extensions"]:
        parts.append(m["extensions"].lstrip("-"))
    if m["privateuse"]:
        parts.append(m["privateuse"])
    return "-".join(parts)
