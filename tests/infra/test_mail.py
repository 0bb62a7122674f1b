"""Sign-up mail in the stack (issue 19): without a configured sender nothing can send; with ``mail_from`` an SES
identity for the sender's domain exists, and only the accounts function may send, from that identity only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from infra.definitions import FUNCTIONS
from infra.synth import synthesize
from tests.infra.conftest import Resources, function_id, of_type, role_id, role_statements


def _env(resources: Resources, name: str) -> dict[str, Any]:
    env: dict[str, Any] = resources[function_id(resources, name)]["Properties"]["Environment"]["Variables"]
    return env


def _ses_statements(resources: Resources, name: str) -> list[dict[str, Any]]:
    return [s for s in role_statements(resources, role_id(resources, name)) if "ses:" in repr(s["Action"])]


def test_by_default_no_identity_and_no_function_may_send(resources: Resources) -> None:
    assert of_type(resources, "AWS::SES::EmailIdentity") == {}
    assert _env(resources, "accounts")["MAIL_TRANSPORT"] == "none"
    for name in FUNCTIONS:
        assert _ses_statements(resources, name) == []


@pytest.fixture(scope="module")
def with_mail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Resources]:
    # Given an operator's sender and approval of new publishers (the context as `-c key=value` passes it)
    result = synthesize(
        tmp_path_factory.mktemp("mail") / "cdk.out",
        stage="mail",
        context={
            "mail_from": "Harbour Market <no-reply@news.example.org>",
            "signup_approval": "publisher",
            "signup_mails_per_day": "50",
        },
    )
    # And the cdk-nag gate still passes
    assert result.error is None and result.violations() == []
    yield result.template()["Resources"]


def test_an_ses_identity_for_the_senders_domain(with_mail: Resources) -> None:
    (identity,) = of_type(with_mail, "AWS::SES::EmailIdentity").values()
    assert identity["Properties"]["EmailIdentity"] == "news.example.org"


def test_the_accounts_function_sends_from_that_identity_only(with_mail: Resources) -> None:
    env = _env(with_mail, "accounts")
    assert env["MAIL_TRANSPORT"] == "ses" and env["MAIL_FROM"] == "Harbour Market <no-reply@news.example.org>"
    assert env["SIGNUP_APPROVAL"] == "publisher" and env["SIGNUP_MAILS_PER_DAY"] == "50"
    assert env["SIGNUP_MAILS_PER_ADDRESS_PER_DAY"] == "3"
    (statement,) = _ses_statements(with_mail, "accounts")
    assert statement["Action"] == "ses:SendEmail" and statement["Effect"] == "Allow"
    resource = repr(statement["Resource"])
    assert ":identity/news.example.org" in resource and "*" not in resource
    for name in FUNCTIONS:
        if name != "accounts":
            assert _ses_statements(with_mail, name) == []


def test_a_sender_outside_the_identity_is_refused() -> None:
    from infra.app import build_app

    with pytest.raises(ValueError, match="does not cover"):
        build_app(context={"mail_from": "no-reply@news.example.org", "mail_identity": "other.example"})
