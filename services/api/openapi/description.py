"""``info.description``: what a client developer reads before the first call (decision 0082)."""

from __future__ import annotations

from services.api.errors import problem_types_table

_INTRODUCTION = """\
API de Maillon, le suivi de la clause sociale d'insertion : contrats et offres qu'ils créent,
candidats et dépôts des bornes à CV, mises en relation, rappel de chaque personne sous 30 jours.
Tous les textes destinés aux personnes sont en français ; les noms de champs JSON sont en anglais.
La documentation se lit aussi avec ReDoc (`/redoc`), servie par l'API elle-même.

## Authentification

Deux sortes d'appelants, chacun rattaché à une organisation et à un rôle (`admin`,
`facilitator`, `prescriber`, `employer`, `reception`) ; chacun ne voit que ce que son
organisation peut lire.

- **Personnes** : `POST /v1/auth/token` (formulaire OAuth2 `grant_type=password`, `username` =
  adresse e-mail, `password`) rend un jeton d'accès court (`access_token`, durée `expires_in` en
  secondes) et un `refresh_token` ; chaque requête envoie
  `Authorization: Bearer <access_token>`. Le même `POST /v1/auth/token` avec
  `grant_type=refresh_token` rend une nouvelle paire ; `POST /v1/auth/logout` révoque la
  session. Les échecs de connexion répétés sont freinés (429 `too-many-attempts`, en-tête
  `Retry-After`).
- **Logiciels** (SIRH, outils de partenaires) : une clé d'API créée par `POST /v1/api-keys`
  (montrée une seule fois), envoyée en `X-API-Key: <clé>` ou `Authorization: Bearer <clé>`. Une
  clé porte un rôle au plus égal à celui de son créateur et des portées
  (`ressource:read`, `ressource:write`).

Sans identifiants valides : 401 `unauthorized` (en-tête `WWW-Authenticate`) ; identifiants
valides mais droits insuffisants : 403 `forbidden`. Les offres publiques (`/v1/public/…`) se
lisent sans compte.

## Pagination

Toutes les listes prennent `?page=1&limit=N` (`limit` au plus le maximum de l'instance, au-delà
422, jamais tronqué en silence) et répondent
`{"items": [...], "pagination": {"page", "limit", "total_count", "max_page"}}`.

## Idempotence (`Idempotency-Key`)

Tout `POST` accepte l'en-tête `Idempotency-Key` (1 à 255 caractères ASCII visibles, propre à
l'appelant). La même requête renvoyée avec la même clé rejoue la première réponse, avec
`Idempotent-Replayed: true`, au lieu de l'exécuter deux fois. Une autre requête sous la même clé :
409 `idempotency-key-reused` ; la première encore en cours : 409 `idempotency-key-in-progress`.
Une requête qui n'a rien enregistré (erreur 5xx) libère la clé.

## Versions et mises à jour (`ETag`, `If-Match`)

Chaque ressource lue porte un `ETag` fort. Une lecture avec `If-None-Match` répond 304 quand la
copie du client est à jour. Une modification (`PUT`, `PATCH`, `DELETE` d'une ressource versionnée)
exige `If-Match` avec l'ETag lu : sans l'en-tête, 428 `precondition-required` ; si la ressource a
changé depuis, 412 `precondition-failed` (relire, puis réessayer).

## Erreurs

Toute erreur est un document `application/problem+json` (RFC 9457) :
`{"type", "title", "status", "detail", "instance", "request_id"}`, plus `errors` pour une requête
invalide (`[{"loc", "message", "type"}]`, sans jamais répéter la valeur envoyée). `title` et
`detail` sont du français pour les personnes ; un programme décide d'après `type`, un chemin
relatif stable (`/problems/<code>`), jamais d'après le texte. Chaque opération liste ses réponses
d'erreur et leurs `type`. `request_id` (aussi en-tête `X-Request-ID`) est à communiquer au support.
Une dépendance momentanément injoignable répond 503 avec `Retry-After`.

Les `type` possibles :

"""

_WEBHOOKS = """

## Webhooks

Une organisation s'abonne à des types d'événements (`POST /v1/webhooks`) ; chaque événement
est envoyé en `POST` JSON signé selon Standard Webhooks (en-têtes `webhook-id`,
`webhook-timestamp`, `webhook-signature` : `v1,` + HMAC-SHA256 en base64 de
`id.timestamp.corps`, avec le secret `whsec_…` donné à la création). Le corps ne porte que des
identifiants, versionné par `version` ; les types et leurs corps sont décrits dans la section
*webhooks* de ce document.
"""


def api_description() -> str:
    return _INTRODUCTION + problem_types_table() + _WEBHOOKS
