"""Pages that are not the article: consent walls, paywall stubs, "enable JavaScript" shells.

Recognised by little extracted text plus typical phrases (English, German, French, Spanish)
in the page's visible text. A long article with a cookie banner is never a wall: the phrases
only count when the extracted text is short. Pure functions; the worker calls `classify`.
"""

from __future__ import annotations

import re

CONSENT_WALL = "consent wall"
PAYWALL = "paywall"
JAVASCRIPT_REQUIRED = "javascript required"

# Extracted text shorter than this is "short": a wall whose own text was taken as the
# article (consent texts run 300-1,200 characters) or a paywall teaser.
WALL_MAX_CHARS = 1_500

CONSENT_PHRASES = (
    # en
    "we value your privacy",
    "use cookies",
    "uses cookies",
    "use of cookies",
    "cookie policy",
    "cookie settings",
    "accept all",
    "accept cookies",
    "reject all",
    "manage settings",
    "manage preferences",
    "before you continue",
    "we and our partners",
    "your privacy choices",
    "your consent",
    "consent to",
    # de
    "wir verwenden cookies",
    "verwendet cookies",
    "alle akzeptieren",
    "alle ablehnen",
    "einwilligung",
    "zustimmen",
    "datenschutzeinstellungen",
    "bevor sie fortfahren",
    "cookie-einstellungen",
    # fr
    "nous utilisons des cookies",
    "utilise des cookies",
    "tout accepter",
    "tout refuser",
    "votre consentement",
    "paramétrer les cookies",
    "gérer mes choix",
    "avant de continuer",
    "nos partenaires",
    # es
    "utilizamos cookies",
    "usamos cookies",
    "utiliza cookies",
    "aceptar todas",
    "aceptar cookies",
    "rechazar todas",
    "su consentimiento",
    "tu consentimiento",
    "política de cookies",
    "configuración de cookies",
    "antes de continuar",
    "nuestros socios",
)

PAYWALL_PHRASES = (
    # en
    "subscribe to continue reading",
    "subscribe to read",
    "subscribe to keep reading",
    "to continue reading",
    "continue reading this article",
    "already a subscriber",
    "for subscribers only",
    "subscribers only",
    "exclusive to subscribers",
    "this article is for subscribers",
    "this content is for subscribers",
    "become a subscriber",
    "unlock this article",
    "you have reached your limit",
    "you've reached your limit",
    "free articles this month",
    "start your free trial",
    # de
    "nur für abonnenten",
    "exklusiv für abonnenten",
    "bereits abonnent",
    "schon abonnent",
    "jetzt abonnieren",
    "um den artikel weiterzulesen",
    "diesen artikel weiterlesen",
    "weiterlesen mit",
    "abo abschließen",
    # fr
    "réservé aux abonnés",
    "article réservé",
    "la suite est réservée",
    "déjà abonné",
    "abonnez-vous",
    "pour lire la suite",
    "lire la suite de cet article",
    # es
    "solo para suscriptores",
    "exclusivo para suscriptores",
    "contenido exclusivo",
    "ya eres suscriptor",
    "ya soy suscriptor",
    "hazte suscriptor",
    "suscríbete",
    "para seguir leyendo",
    "para continuar leyendo",
)

JAVASCRIPT_PHRASES = (
    # en
    "enable javascript",
    "javascript is disabled",
    "javascript is required",
    "javascript must be enabled",
    "requires javascript",
    "turn on javascript",
    "javascript is not enabled",
    "without javascript",
    "please enable js",
    # de
    "javascript aktivieren",
    "aktivieren sie javascript",
    "javascript ist deaktiviert",
    "javascript wird benötigt",
    "javascript ist erforderlich",
    # fr
    "activer javascript",
    "activez javascript",
    "javascript est désactivé",
    "javascript est requis",
    "nécessite javascript",
    # es
    "habilita javascript",
    "habilitar javascript",
    "activa javascript",
    "activar javascript",
    "javascript está deshabilitado",
    "javascript desactivado",
    "requiere javascript",
)

_NOT_FREE = re.compile(r"""["']?isAccessibleForFree["']?\s*:\s*["']?false""", re.IGNORECASE)
_WS = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower case, straight apostrophes, single spaces: the form phrases are matched in."""
    return _WS.sub(" ", text.lower().replace("\u2019", "'").replace("\u00a0", " "))


def hits(text: str, phrases: tuple[str, ...]) -> int:
    """How many of `phrases` occur in already normalised `text`."""
    return sum(1 for phrase in phrases if phrase in text)


def not_free(html: str) -> bool:
    """The page's schema.org data says it is not free to read (`isAccessibleForFree: false`)."""
    return _NOT_FREE.search(html) is not None


def classify(
    text: str, page_text: str, *, min_chars: int, marked_not_free: bool = False
) -> str | None:
    """The kind of wall this page is, or None when it is (or may be) the article.

    `text` is the extracted main text, `page_text` all visible text of the page including
    <noscript>. Walls are only recognised when `text` is under `min_chars` ("little": the
    page would be refused anyway, the phrases say why) or under WALL_MAX_CHARS with the wall's
    own phrases inside the extracted text (trafilatura took the wall for the article).
    """
    little = len(text) < min_chars
    if not little and len(text) >= WALL_MAX_CHARS:
        return None
    got, page = normalise(text), normalise(page_text)
    if little:
        if hits(page, PAYWALL_PHRASES) >= 1 and (
            marked_not_free or hits(page, PAYWALL_PHRASES) >= 2
        ):
            return PAYWALL
        if hits(page, CONSENT_PHRASES) >= 2:
            return CONSENT_WALL
        if hits(page, JAVASCRIPT_PHRASES) >= 1:
            return JAVASCRIPT_REQUIRED
        if hits(page, PAYWALL_PHRASES) >= 1:
            return PAYWALL
        return None
    pitch = hits(got, PAYWALL_PHRASES)
    if pitch >= 2 or (marked_not_free and (pitch or hits(page, PAYWALL_PHRASES))):
        return PAYWALL
    if hits(got, CONSENT_PHRASES) >= 2:
        return CONSENT_WALL
    if hits(got, JAVASCRIPT_PHRASES) >= 1 and len(text) < 2 * min_chars:
        return JAVASCRIPT_REQUIRED
    return None
