"""One rule for the language a person is answered in, whatever the entry point."""

import pytest

from marketplace.i18n import resolve_language

GENEVA = ("fr", "de", "it", "en")  # the deployment's languages, the first is its default
SION = ("fr", "de")


@pytest.mark.parametrize(
    ("languages", "chosen", "platform", "known", "expected"),
    [
        (GENEVA, "de", "it", "en", "de"),  # chosen in the chat wins
        (GENEVA, None, "it", "en", "it"),  # then the platform's
        (GENEVA, None, None, "en", "en"),  # then what we knew of the person
        (GENEVA, None, None, None, "fr"),  # else the deployment's default
        (GENEVA, "es", "pt-BR", "en", "en"),  # languages we do not offer are passed over
        (GENEVA, "", "", "", "fr"),
        (GENEVA, None, "de-CH", None, "de"),  # a regional tag counts as its language
        (GENEVA, None, "IT_ch", None, "it"),
        (SION, None, "it", "en", "fr"),  # only the deployment's own languages, not every supported one
        (("de", "fr"), None, None, "xx", "de"),  # the default is the deployment's first language
    ],
)
def test_chosen_then_platform_then_known_then_default(languages, chosen, platform, known, expected):
    assert resolve_language(languages, chosen=chosen, platform=platform, known=known) == expected
