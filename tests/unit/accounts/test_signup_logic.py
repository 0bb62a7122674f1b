"""Sign-up rules without AWS: tokens, links, the mail quotas (with a fake counter store that enforces its limit),
the language of mails and the two templates (issue 19)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any

import pytest
from pydantic import ValidationError

from functions.accounts.dal.mail import to_message
from functions.accounts.logic import signup
from functions.accounts.logic.mail import already_registered_mail, choose_locale, verification_mail
from functions.accounts.models.signup import SignupRequest
from functions.shared.faults import RateLimited


class FakeCounters:
    """Counts like the DynamoDB conditional ADD: an increment at or above the limit changes nothing."""

    def __init__(self) -> None:
        self.values: dict[str, int] = {}
        self.ttls: dict[str, int] = {}

    def increment_below(self, key: str, limit: int, ttl: int) -> bool:
        if self.values.get(key, 0) >= limit:
            return False
        self.values[key] = self.values.get(key, 0) + 1
        self.ttls.setdefault(key, ttl)
        return True


NOON = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)
CONFIG = signup.SignupConfig(base_url="https://api.example.org", per_address_per_day=3, per_day=5)


def test_tokens_are_long_random_and_only_their_hash_is_kept() -> None:
    a, b = signup.new_token(), signup.new_token()
    assert a != b and len(a) >= 43 and re.fullmatch(r"[A-Za-z0-9_-]+", a)
    assert signup.token_hash(a) == signup.token_hash(a) != signup.token_hash(b)
    assert a not in signup.token_hash(a) and len(signup.token_hash(a)) == 64


def test_the_link_carries_the_token_in_its_fragment_never_in_the_query() -> None:
    link = signup.verify_link("https://api.example.org", "tok_123", "fr")
    before, _, fragment = link.partition("#")
    assert before == "https://api.example.org/v1/signup/verify?lang=fr" and fragment == "token=tok_123"


def test_retry_after_is_the_time_to_the_next_utc_midnight() -> None:
    assert signup.retry_after_seconds(NOON) == 12 * 3600
    assert signup.retry_after_seconds(datetime(2026, 11, 29, 23, 59, 59, 500000, tzinfo=UTC)) == 1


def test_an_address_gets_at_most_its_daily_mails_then_429_with_retry_after() -> None:
    # Given
    counters = FakeCounters()
    # When
    for _ in range(3):
        signup.take_mail_quota(counters, "Ann@Example.org", NOON, CONFIG)
    with pytest.raises(RateLimited) as refused:
        signup.take_mail_quota(counters, "ann@example.org", NOON, CONFIG)  # the same address in another case
    # Then
    assert refused.value.code == "rate_limited" and refused.value.retry_after_s == 12 * 3600
    assert counters.values["signup#all#2026-11-29"] == 3  # the refused mail used none of the day's quota
    assert all("ann" not in k.lower() for k in counters.values)  # addresses are counted by hash
    assert set(counters.ttls.values()) == {int(datetime(2026, 12, 1, tzinfo=UTC).timestamp())}  # a day after it ends


def test_the_global_cap_refuses_every_address_and_a_new_day_starts_afresh() -> None:
    counters = FakeCounters()
    for i in range(5):
        signup.take_mail_quota(counters, f"u{i}@example.org", NOON, CONFIG)
    with pytest.raises(RateLimited):
        signup.take_mail_quota(counters, "new@example.org", NOON, CONFIG)
    signup.take_mail_quota(counters, "new@example.org", datetime(2026, 11, 30, 0, 0, 1, tzinfo=UTC), CONFIG)


@pytest.mark.parametrize(
    ("explicit", "header", "expected"),
    [
        ("fr", "en-GB", "fr"),
        (None, "fr-CA,fr;q=0.9,en;q=0.8", "fr"),
        (None, "de-DE,de;q=0.9,fr;q=0.5,en;q=0.4", "fr"),
        (None, "en;q=0.2,fr;q=0.9", "fr"),
        (None, "de", "en"),
        (None, "fr;q=0", "en"),
        (None, "", "en"),
        (None, None, "en"),
        (None, "fr;q=abc,en", "en"),
    ],
)
def test_the_language_comes_from_locale_then_accept_language(explicit: Any, header: Any, expected: str) -> None:
    assert choose_locale(explicit, header) == expected


def test_verification_mail_in_both_languages_escapes_the_name_in_html() -> None:
    link = "https://api.example.org/v1/signup/verify?lang=en#token=abc"
    en = verification_mail("en", "a@example.org", "<Ann & Co>", ["publisher"], link, 24)
    fr = verification_mail("fr", "a@example.org", "Ann", ["publisher", "buyer"], link, 24)
    assert en.subject == "Confirm your Imprimatur account" and "<Ann & Co>" in en.text and link in en.text
    assert "&lt;Ann &amp; Co&gt;" in en.html and "<Ann" not in en.html and "24 hours" in en.text
    assert fr.subject == "Confirmez votre compte Imprimatur" and "éditeur, acheteur" in fr.text
    assert 'lang="fr"' in fr.html and "Activer mon compte" in fr.text


def test_already_registered_mail_has_no_link() -> None:
    for locale in ("en", "fr"):
        mail = already_registered_mail(locale, "a@example.org")
        assert "http" not in mail.text and "href" not in mail.html


def test_a_mail_is_multipart_alternative_text_then_html() -> None:
    mail = verification_mail("fr", "a@example.org", "Ann", ["buyer"], "https://x.example/#token=t", 24)
    raw = to_message(mail, "Imprimatur <no-reply@mail.example.org>").as_bytes()
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in msg.iter_parts()]  # type: ignore[attr-defined]
    assert parts == ["text/plain", "text/html"]
    assert msg["Subject"] == mail.subject and msg["Content-Language"] == "fr"
    assert msg.get_body(("plain",)).get_content() == mail.text  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "body",
    [
        {"name": "A", "email": "a@example.org", "roles": ["admin"]},
        {"name": "A", "email": "a@example.org", "roles": []},
        {"name": "A", "email": "a@example.org", "roles": ["buyer", "buyer"]},
        {"name": "", "email": "a@example.org", "roles": ["buyer"]},
        {"name": "A", "email": "nope", "roles": ["buyer"]},
        {"name": "A", "email": "a@example.org", "roles": ["buyer"], "website": "javascript:alert(1)"},
        {"name": "A", "email": "a@example.org", "roles": ["buyer"], "locale": "de"},
        {"name": "A", "email": "a@example.org", "roles": ["buyer"], "status": "active"},
    ],
)
def test_signup_request_refuses(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SignupRequest.model_validate(body)
