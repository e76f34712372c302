"""The token's optional ``locale`` claim: kept when it names a supported locale, ignored (never
refused) otherwise; the demo prints Spanish links beside the English ones (docs/i18n.md)."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from aiohttp import ClientSession

from server import cli, demo
from server.catalogues import LOCALES
from server.settings import Settings
from server.tokens import TokenVerifier, mint
from tests.conftest import Harness
from tests.lifecycle import Api, secret_of

SETTINGS = Settings(jwt_secret="locale-secret-" + "s" * 32)
VERIFIER = TokenVerifier(SETTINGS)


def token(**extra: Any) -> str:
    return mint(SETTINGS, sub="p-1", name="Alex", role="partner", program="prog", room="r",
                **extra)


@pytest.mark.parametrize(("claim", "kept"), [
    ("es", "es"), ("en", "en"), ("es-MX", "es"), ("ES_us", "es"),
    ("fr", None), ("", None), ("x" * 40, None), (42, None), (None, None), (["es"], None),
])
def test_a_supported_locale_is_kept_and_anything_else_is_ignored(claim: Any,
                                                                  kept: str | None) -> None:
    # Both verification paths (the HS256 fast path and PyJWT's) give the same identity.
    who = VERIFIER.verify(token(locale=claim))
    assert who.locale == kept
    assert who.name == "Alex" and who.role == "partner"  # the person still gets in


def test_no_claim_means_no_locale_and_mint_leaves_it_out() -> None:
    raw = token()
    assert "locale" not in jwt.decode(raw, options={"verify_signature": False})
    assert VERIFIER.verify(raw).locale is None
    assert jwt.decode(token(locale="es"), options={"verify_signature": False})["locale"] == "es"
    assert LOCALES == ("en", "es")


def claims_of(link: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(link.split("#", 1)[1],
                                         options={"verify_signature": False})
    return decoded


def test_the_demo_prints_spanish_links_beside_the_english_ones() -> None:
    lines = dict(line.split(": ", 1) for line in
                 demo.links(SETTINGS, demo.Seeded(fresh=True, invite="s3cret")))
    assert claims_of(lines["client, en español"])["locale"] == "es"
    assert claims_of(lines["clinician, en español"])["locale"] == "es"
    assert "locale" not in claims_of(lines["client"])  # the English links are as they were
    assert lines["partner invite, en español"].endswith("/invite?lang=es#s3cret")
    assert lines["partner invite"].endswith("/invite#s3cret")  # the same invitation

    approved = dict(line.split(": ", 1) for line in
                    demo.links(SETTINGS, demo.Seeded(fresh=False, partner_approved=True)))
    assert claims_of(approved["partner, en español"])["locale"] == "es"
    answered = [line for line in demo.links(SETTINGS, demo.Seeded(fresh=False))
                if "español" in line]
    assert [line.split(":")[0] for line in answered] == ["client, en español",
                                                         "clinician, en español"]


async def test_a_partner_session_token_keeps_the_language_of_the_token_that_asked(
        alongside: Harness) -> None:
    await alongside.create_program()
    await alongside.create_room("couples-2", "couples")
    async with ClientSession() as http:
        api = Api(alongside, http)
        for asked, given in (("es", "es"), ("fr", None), (None, None)):
            extra: dict[str, Any] = {"locale": asked} if asked else {}
            mine = alongside.token("partner", sub="partner-1", room="room-couples", **extra)
            got = await api.call("POST", "/api/programs/prog-1/partner/session-token", mine,
                                 {"room": "couples-2"}, expect=200)
            decoded = jwt.decode(got["token"], options={"verify_signature": False})
            assert decoded.get("locale") == given, asked
            # ...and the new token opens the session as any other would.
            assert TokenVerifier(alongside.settings).verify(got["token"]).room == "couples-2"


def test_alongside_token_takes_a_locale(capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALONGSIDE_JWT_SECRET", "cli-secret-" + "s" * 32)
    assert cli.main(["token", "--role", "partner", "--locale", "es"]) == 0
    printed = capsys.readouterr().out.strip()
    assert jwt.decode(printed, options={"verify_signature": False})["locale"] == "es"
    with pytest.raises(SystemExit):  # only a locale the pages have
        cli.main(["token", "--role", "partner", "--locale", "fr"])


async def test_the_trial_token_speaks_the_language_the_partner_consented_in(
        alongside: Harness) -> None:
    async with ClientSession() as http:
        api = Api(alongside, http)
        t = await api.setup_program()
        await api.step(t["client"], "agree")
        for locale in ("es", "en"):
            secret = secret_of((await api.invite(t["clinician"], room="p-c1"))["url"])
            preview = await api.call("POST", f"/api/invites/preview?locale={locale}", None,
                                     {"secret": secret}, expect=200)
            answer = await api.call("POST", "/api/invites/respond", None, {
                "secret": secret, "decision": "consent", "locale": locale,
                "documentVersion": preview["couplesInfo"]["version"]}, expect=200)
            decoded = jwt.decode(answer["token"], options={"verify_signature": False})
            assert decoded["locale"] == locale


def test_alongside_token_mints_a_group_member_or_a_family_member_of_ones_choosing(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A group seats many clients, each their own sub; a family session family members."""
    monkeypatch.setenv("ALONGSIDE_JWT_SECRET", "cli-secret-" + "s" * 32)
    verify = TokenVerifier(Settings.from_env()).verify
    made = []
    for argv in (["--role", "client", "--sub", "m-1", "--name", "Ana Ruiz", "--room", "grp"],
                 ["--role", "client", "--sub", "m-2", "--name", "Ben Cho", "--room", "grp"],
                 ["--role", "family", "--room", demo.FAMILY_ROOM, "--locale", "es"]):
        assert cli.main(["token", *argv]) == 0
        made.append(verify(capsys.readouterr().out.strip()))
    assert [(w.id, w.name, w.role.value, w.room) for w in made] == [
        ("m-1", "Ana Ruiz", "client", "grp"), ("m-2", "Ben Cho", "client", "grp"),
        ("demo-family-1", "Family member", "family", demo.FAMILY_ROOM)]
    assert {w.program for w in made} == {demo.PROGRAM}
    with pytest.raises(SystemExit):  # an integrator is nobody in particular
        cli.main(["token", "--role", "integrator", "--sub", "x"])
