"""The mails of self sign-up, in English and French, each as plain text and HTML (sent as multipart/alternative by
``functions.accounts.dal.mail``). Pure functions: no transport here."""

from __future__ import annotations

from html import escape

from functions.accounts.models.mail import LOCALES, Locale, Mail

__all__ = ["LOCALES", "Locale", "Mail", "already_registered_mail", "choose_locale", "verification_mail"]


def choose_locale(explicit: str | None, accept_language: str | None) -> Locale:
    """``explicit`` when given, else the first of ``Accept-Language``'s languages (by q-value) that we write, else
    English."""
    if explicit in LOCALES:
        return explicit  # type: ignore[return-value]
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")[:20]):
        lang, _, params = part.strip().partition(";")
        q = 1.0
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            if k == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        ranked.append((-q, i, lang.strip().lower().split("-")[0]))
    for neg_q, _, lang in sorted(ranked):
        if neg_q < 0 and lang in LOCALES:
            return lang  # type: ignore[return-value]
    return "en"


_ROLES = {
    "en": {"publisher": "publisher", "buyer": "buyer"},
    "fr": {"publisher": "éditeur", "buyer": "acheteur"},
}

_VERIFY = {
    "en": {
        "subject": "Confirm your Imprimatur account",
        "hello": "Hello {name},",
        "asked": "Someone, we hope you, asked to open an Imprimatur account ({roles}) with this address.",
        "how": "To confirm it, open the link below and press the button \u201cActivate my account\u201d. Your first "
        "API key is shown there, once.",
        "expires": "The link works once and expires in {hours} hours. If you did not ask for this, ignore this "
        "message: no account will be created.",
        "button": "Confirm my address",
    },
    "fr": {
        "subject": "Confirmez votre compte Imprimatur",
        "hello": "Bonjour {name},",
        "asked": "Quelqu\u2019un, vous nous l\u2019esp\u00e9rons, a demand\u00e9 l\u2019ouverture d\u2019un compte "
        "Imprimatur ({roles}) avec cette adresse.",
        "how": "Pour confirmer, ouvrez le lien ci-dessous et appuyez sur le bouton \u00ab\u00a0Activer mon "
        "compte\u00a0\u00bb. Votre premi\u00e8re cl\u00e9 d\u2019API s\u2019y affiche, une seule fois.",
        "expires": "Le lien ne sert qu\u2019une fois et expire dans {hours}\u00a0heures. Si vous n\u2019avez rien "
        "demand\u00e9, ignorez ce message\u00a0: aucun compte ne sera cr\u00e9\u00e9.",
        "button": "Confirmer mon adresse",
    },
}

_KNOWN = {
    "en": {
        "subject": "Your Imprimatur account",
        "hello": "Hello,",
        "body": "Someone asked to open an Imprimatur account with this address, but this address already has an "
        "account. Nothing was changed.",
        "lost": "If you lost your API key, ask the operator of this marketplace for a new one. If this was not you, "
        "you can ignore this message.",
    },
    "fr": {
        "subject": "Votre compte Imprimatur",
        "hello": "Bonjour,",
        "body": "Quelqu\u2019un a demand\u00e9 l\u2019ouverture d\u2019un compte Imprimatur avec cette adresse, mais "
        "un compte existe d\u00e9j\u00e0 pour elle. Rien n\u2019a \u00e9t\u00e9 modifi\u00e9.",
        "lost": "Si vous avez perdu votre cl\u00e9 d\u2019API, demandez-en une nouvelle \u00e0 l\u2019op\u00e9rateur "
        "de cette place de march\u00e9. Si ce n\u2019\u00e9tait pas vous, ignorez ce message.",
    },
}

_HTML = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family: sans-serif; line-height: 1.5; max-width: 36em">
{body}
<p style="color: #666; font-size: small">Imprimatur</p>
</body></html>
"""


def _html(locale: Locale, title: str, paragraphs: list[str]) -> str:
    return _HTML.format(lang=locale, title=escape(title), body="\n".join(paragraphs))


def verification_mail(locale: Locale, to: str, name: str, roles: list[str], link: str, hours: int) -> Mail:
    t = _VERIFY[locale]
    role_names = ", ".join(_ROLES[locale].get(r, r) for r in roles)
    hello = t["hello"].format(name=name)
    asked = t["asked"].format(roles=role_names)
    expires = t["expires"].format(hours=hours)
    text = f"{hello}\n\n{asked}\n{t['how']}\n\n{link}\n\n{expires}\n"
    html = _html(
        locale,
        t["subject"],
        [
            f"<p>{escape(hello)}</p>",
            f"<p>{escape(asked)}<br>{escape(t['how'])}</p>",
            f'<p><a href="{escape(link, quote=True)}">{escape(t["button"])}</a></p>',
            f"<p>{escape(expires)}</p>",
        ],
    )
    return Mail(to=to, subject=t["subject"], text=text, html=html, locale=locale)


def already_registered_mail(locale: Locale, to: str) -> Mail:
    t = _KNOWN[locale]
    text = f"{t['hello']}\n\n{t['body']}\n{t['lost']}\n"
    html = _html(
        locale,
        t["subject"],
        [f"<p>{escape(t['hello'])}</p>", f"<p>{escape(t['body'])}</p>", f"<p>{escape(t['lost'])}</p>"],
    )
    return Mail(to=to, subject=t["subject"], text=text, html=html, locale=locale)
