"""What the OpenAPI document says of a candidate's fields (French, for the people who build on
the API): once for what a client sends, once for what it reads, and the example bodies."""

from __future__ import annotations

from typing import Any, Final

from services.core.models.candidate import MAX_HOURS_PER_WEEK

# -- what a client sends (creation and change) ------------------------------------------------

_LIST_CHANGE = (
    " En modification, la liste envoyée remplace l'ancienne : `[]` la vide, `null` est refusé."
)

FIRST_NAME: Final = "Prénom, 1 à 100 caractères (espaces de début et de fin retirés)."
LAST_NAME: Final = "Nom de famille, 1 à 100 caractères (espaces de début et de fin retirés)."
NAME_CHANGE: Final = " Ne peut pas être vidé : `null` est refusé."
PHONE: Final = (
    "Téléphone de la personne, portable ou fixe : 10 chiffres à la française, outre-mer compris "
    "(06 00 00 00 12, 0692 00 00 12), ou indicatif international précédé de + ; espaces, points "
    "et tirets acceptés. Enregistré au format E.164. Avec `email`, sert à retrouver une personne "
    "que votre organisation connaît déjà."
)
EMAIL: Final = (
    "Adresse e-mail de la personne, 254 caractères au plus ; la syntaxe est vérifiée, pas le "
    "domaine. Enregistrée en minuscules. Avec `phone`, sert à retrouver une personne que votre "
    "organisation connaît déjà."
)
COMMUNE: Final = (
    "Code INSEE de la commune de résidence (5 caractères : 93066, 2A004), vérifié dans le "
    "référentiel des communes. Sans point précis, une commune qui n'a aucun quartier prioritaire "
    "suffit à décider `outside_qpv`."
)
ADDRESS: Final = (
    "Adresse de la personne (numéro et voie ; la commune va dans `commune_insee`), 1 à 300 "
    "caractères. Géocodée après la réponse, jamais pendant la requête : un point sûr (score "
    "d'au moins 0,8) devient `lon`/`lat` et décide la résidence QPV. Pas de géocodage quand "
    "des coordonnées sont envoyées."
)
LON: Final = (
    "Longitude WGS84 du domicile, en degrés décimaux (-180 à 180). Va avec `lat` : l'une sans "
    "l'autre est refusée, un point hors de France aussi. Un point envoyé décide la résidence QPV "
    "(méthode `coordinates`) et l'adresse n'est alors pas géocodée."
)
LAT: Final = (
    "Latitude WGS84 du domicile, en degrés décimaux (-90 à 90). Va avec `lon` : l'une sans "
    "l'autre est refusée, un point hors de France aussi."
)
_SECTOR_CODES = (
    "`construction` (BTP), `logistics`, `green_spaces` (espaces verts), `hospitality` "
    "(restauration, hôtellerie), `industry`, `cleaning` (nettoyage), `transport`, "
    "`administrative`"
)
SECTORS_WORKED: Final = (
    "« Vous avez travaillé dans le ou les secteurs suivants » : 8 au plus, parmi "
    + _SECTOR_CODES
    + " ; les doublons sont retirés. Pour le rapprochement, de l'expérience dans les offres de "
    "ces secteurs, un lien moins fort qu'un secteur souhaité." + _LIST_CHANGE
)
SECTORS_WANTED: Final = (
    "« Vous voulez travailler dans le ou les secteurs suivants » : 8 au plus, mêmes codes que "
    "`sectors_worked` ; les doublons sont retirés. Pour le rapprochement, le lien le plus fort "
    "avec les offres de ces secteurs." + _LIST_CHANGE
)
SECTORS_WORKED_OTHER: Final = (
    "« AUTRE : » à côté des secteurs où la personne a travaillé, texte libre de 1 à 200 caractères."
)
SECTORS_WANTED_OTHER: Final = (
    "« AUTRE : » à côté des secteurs où la personne veut travailler, texte libre de 1 à 200 "
    "caractères."
)
NEEDS: Final = (
    "« Votre besoin aujourd'hui » : `job` (UN EMPLOI), `training` (UNE FORMATION), `support` "
    "(UN ACCOMPAGNEMENT), `advice` (UN CONSEIL) ; les doublons sont retirés." + _LIST_CHANGE
)
ROME_WISHES: Final = (
    "Métiers souhaités, en codes ROME v4 (une lettre de A à N et 4 chiffres, ex. F1703), 20 au "
    "plus, vérifiés dans le référentiel ROME ; mis en majuscules, doublons retirés. Un code "
    "rattache la personne au secteur qui le contient." + _LIST_CHANGE
)
AVAILABLE_FROM: Final = (
    "Premier jour où la personne peut commencer (AAAA-MM-JJ, de 2000 à dix ans d'ici). Sans "
    "date, le rapprochement compte la moitié des points de disponibilité."
)
HOURS_PER_WEEK: Final = (
    f"Heures de travail souhaitées par semaine, entier de 1 à {MAX_HOURS_PER_WEEK} (durée "
    "maximale légale). Comparées aux heures de l'offre par le rapprochement."
)
RADIUS: Final = (
    "Distance que la personne accepte entre son domicile et le lieu de travail, en km, entier "
    "de 0 à 500. Sans rayon, le rapprochement retient 20 km."
)
DRIVING_LICENCE: Final = (
    "La personne a le permis de conduire. Information pour les conseillers : le rapprochement "
    "ne s'en sert pas."
)
VEHICLE: Final = (
    "La personne a un véhicule pour se rendre au travail. Information pour les conseillers : le "
    "rapprochement ne s'en sert pas."
)
SEX: Final = (
    "Sexe, pour les statistiques de la clause seulement (elles comptent femmes et hommes) : "
    "`female` ou `male`. Jamais utilisé par le rapprochement."
)
BIRTH_YEAR: Final = (
    "Année de naissance, pour les statistiques seulement : de 1900 à l'année en cours moins 14. "
    "Jamais utilisée par le rapprochement (l'âge ne compte que par les critères `JEUNE` et "
    "`SENIOR` validés)."
)
REFERENT_ORGANISATION: Final = (
    "Organisation référente, qui suit la personne (elle doit exister). Ses prescripteurs "
    "reçoivent les alertes sur la personne quand aucun prescripteur référent actif n'est "
    "désigné, et sa durée de conservation s'applique. Ne rend pas le candidat visible : seuls "
    "les partages le font."
)
REFERENT_PRESCRIBER: Final = (
    "Compte du prescripteur référent (rôle `prescriber` ou `facilitator`) : reçoit les alertes "
    "sur la personne (nouveaux rapprochements, anonymisation prochaine)."
)
CLEARED: Final = " En modification, `null` l'efface."
CLEARED_POINT: Final = " En modification, `lon` et `lat` à `null` ensemble effacent le point."

# -- what a client reads ----------------------------------------------------------------------

_UNKNOWN = " ; null si inconnu ou après anonymisation."

ID: Final = "Identifiant du candidat."
FIRST_NAME_READ: Final = "Prénom ; null après anonymisation."
LAST_NAME_READ: Final = "Nom de famille ; null après anonymisation."
PHONE_READ: Final = "Téléphone au format E.164 (+33600000012)" + _UNKNOWN
EMAIL_READ: Final = "Adresse e-mail, en minuscules" + _UNKNOWN
COMMUNE_READ: Final = (
    "Code INSEE de la commune de résidence ; null si inconnue. Gardé après anonymisation "
    "(statistiques)."
)
ADDRESS_READ: Final = "Adresse (numéro et voie), telle qu'enregistrée" + _UNKNOWN
LON_READ: Final = (
    "Longitude WGS84 du domicile, envoyée par le client ou tirée de l'adresse géocodée (voir "
    "`qpv_method`) ; null sans point ou après anonymisation."
)
LAT_READ: Final = "Latitude WGS84 du domicile, avec `lon` ; null sans point ou après anonymisation."
QPV_STATUS: Final = (
    "Résidence en quartier prioritaire, décidée par le service et enregistrée (jamais "
    "recalculée en silence) : `in_qpv`, `outside_qpv` ou `unknown` (pas de point précis, et une "
    "commune qui a des QPV ou pas de commune ; une déclaration de la personne ne suffit pas). "
    "Décidée à nouveau quand la commune, l'adresse ou les coordonnées changent, et quand "
    "l'adresse est géocodée."
)
QPV_CODE: Final = (
    "Code du quartier prioritaire (QPV 2024) qui contient le domicile, ex. QN07511M ; null hors "
    "QPV, si la résidence est inconnue ou après anonymisation."
)
QPV_METHOD: Final = (
    "Ce qui a décidé `qpv_status` : `coordinates` (point envoyé par le client), "
    "`geocoded_address` (adresse géocodée avec un score d'au moins 0,8), `commune_only` (la "
    "commune : sans QPV, elle décide `outside_qpv` ; avec des QPV, elle laisse `unknown`), "
    "`declared` (seule la déclaration de la personne : `unknown`) ; null quand rien n'est connu."
)
GEOCODING_SCORE: Final = (
    "Confiance du géocodage de l'adresse, de 0 à 1, quand le point vient de l'adresse "
    "(`geocoded_address`) ; null autrement."
)
QPV_POLYGON_VERSION: Final = (
    "Version (empreinte SHA-256) des contours des QPV avec lesquels la résidence a été "
    "décidée ; null si aucun contour n'était chargé."
)
QPV_CHECKED_AT: Final = (
    "Moment où la résidence a été décidée ; null si elle n'a pas pu l'être (contours des QPV "
    "non chargés)."
)
QPV_NEAR_BOUNDARY: Final = (
    "Le point est à moins de 15 m environ de la limite d'un QPV (les contours sont arrondis à "
    "11 m environ) : la décision est à confirmer avec l'outil de l'ANCT."
)
QPV_DECLARED_READ: Final = (
    "Ce que la personne déclare : elle réside (`true`) ou non (`false`) en quartier "
    "prioritaire ; null si elle n'a rien dit. Enregistré pour être vérifié, ne décide jamais "
    "`qpv_status`."
)
QPV_DECLARED_CODE_READ: Final = (
    "Le quartier prioritaire que la personne déclare habiter ; null si elle n'en a pas nommé "
    "ou après anonymisation."
)
SECTORS_WORKED_READ: Final = (
    "Secteurs où la personne a travaillé : " + _SECTOR_CODES + " ; vide si aucun."
)
SECTORS_WANTED_READ: Final = (
    "Secteurs où la personne veut travailler (mêmes codes que `sectors_worked`) ; vide si aucun."
)
OTHER_READ: Final = (
    "« AUTRE : » du formulaire, texte libre ; null s'il est vide ou après anonymisation."
)
NEEDS_READ: Final = (
    "« Votre besoin aujourd'hui » : `job`, `training`, `support`, `advice` ; vide si aucun."
)
NEED_LABELS: Final = (
    "Les besoins en toutes lettres, comme sur le formulaire (« UN EMPLOI »…), dans l'ordre de "
    "`needs`."
)
ROME_WISHES_READ: Final = "Métiers souhaités, en codes ROME v4 ; vide si aucun."
AVAILABLE_FROM_READ: Final = (
    "Premier jour où la personne peut commencer ; null si non renseigné (moitié des points de "
    "disponibilité au rapprochement)."
)
HOURS_PER_WEEK_READ: Final = (
    f"Heures de travail souhaitées par semaine (1 à {MAX_HOURS_PER_WEEK}) ; null si non renseigné."
)
RADIUS_READ: Final = (
    "Distance acceptée entre domicile et travail, en km (0 à 500) ; null si non renseigné (20 km "
    "retenus au rapprochement)."
)
DRIVING_LICENCE_READ: Final = "La personne a le permis de conduire ; null si non renseigné."
VEHICLE_READ: Final = "La personne a un véhicule ; null si non renseigné."
SEX_READ: Final = (
    "`female` ou `male`, pour les statistiques seulement ; null si non renseigné. Gardé après "
    "anonymisation."
)
BIRTH_YEAR_READ: Final = (
    "Année de naissance, pour les statistiques seulement ; null si non renseignée. Gardée après "
    "anonymisation."
)
STATUS: Final = (
    "Où en est le suivi : `new` (nouveau), `active` (suivi en cours), `placed` (en poste), "
    "`inactive`, `anonymised` (effacé : seules les statistiques restent). Seuls les candidats "
    "`new` et `active` sont proposés aux offres."
)
STATUS_LABEL: Final = "Le statut en toutes lettres, en français."
REFERENT_ORGANISATION_READ: Final = (
    "Organisation référente : ses prescripteurs reçoivent les alertes sur la personne quand "
    "aucun prescripteur référent actif n'est désigné ; null si aucune."
)
REFERENT_PRESCRIBER_READ: Final = (
    "Compte du prescripteur référent, qui reçoit les alertes sur la personne ; null si aucun "
    "(ou le compte a été supprimé)."
)
LAST_ACTIVITY_AT: Final = (
    "Dernière activité (création, dépôt, modification, critère d'éligibilité). La conservation "
    "court d'elle : sans activité pendant la durée fixée par l'organisation (24 mois par "
    "défaut), la personne est anonymisée, après un avertissement (30 jours avant, par défaut)."
)
ANONYMISED_AT: Final = (
    "Moment de l'anonymisation (effacement demandé, fusion dans un autre candidat ou fin de "
    "conservation) ; null tant que la personne ne l'est pas."
)
MERGED_INTO_ID: Final = (
    "Pour un doublon fusionné (donc anonymisé) : le candidat conservé, qui a repris ses dépôts, "
    "partages et critères ; null autrement."
)
CREATED_AT: Final = "Date et heure de création."
UPDATED_AT: Final = "Date et heure de la dernière modification."
MATCHED_EXISTING: Final = (
    "`true` : la personne était déjà connue de votre organisation (même téléphone ou même "
    "e-mail) ; rien n'a été créé, la fiche existante est renvoyée (réponse 200). `false` : "
    "fiche créée (réponse 201)."
)
SEARCH_STATUS: Final = (
    "Seulement les candidats de ce statut ; sans lui, tous sauf les personnes anonymisées."
)

# -- eligibility criteria and duplicates ----------------------------------------------------

KIND: Final = (
    "Le critère : `DELD` (demandeur d'emploi depuis 12 mois et plus), `DETLD` (24 mois et "
    "plus), `RSA`, `ASS`, `AAH`, `invalidity_pension` (pension d'invalidité), `TH` "
    "(travailleur handicapé, RQTH : toujours sensible), `JEUNE` (moins de 26 ans sorti de "
    "l'école depuis 6 mois), `SENIOR` (demandeur d'emploi de 50 ans et plus), `SIAE_employee`, "
    "`GEIQ`, `E2C_EPIDE`, `BPI` (protection internationale), `QPV_resident` (suit la résidence "
    "enregistrée : validé seulement quand `qpv_status` vaut `in_qpv`, retiré d'office quand "
    "elle cesse de l'être), "
    "`exception` (dérogation motivée du facilitateur)."
)
EXPIRES_ON: Final = (
    "Fin de validité (AAAA-MM-JJ), au plus tôt le jour de la validation ; sans elle, le "
    "critère vaut sans limite. Un critère expiré ne compte plus pour les offres qui exigent "
    "l'éligibilité."
)
COMMENT: Final = (
    "Note du facilitateur (justificatif vu, motif d'une dérogation), 1 à 1000 caractères ; "
    "lisible de quiconque voit le critère."
)
CRITERION_ID: Final = (
    "Identifiant du critère (pour le retirer : `DELETE "
    "/v1/candidates/{candidate_id}/eligibility/{criterion_id}`)."
)
CRITERION_CANDIDATE: Final = "Le candidat."
KIND_LABEL: Final = "Le critère en toutes lettres, en français."
SENSITIVE_READ: Final = (
    "Donnée sensible (RQTH, situation judiciaire) : montrée seulement aux comptes qui ont la "
    "permission `sensitive_data`."
)
VALIDATED_ON_READ: Final = "Jour de la validation ; null s'il n'a pas été enregistré."
VALIDATED_BY: Final = (
    "Compte qui a validé le critère ; null s'il a été validé avec une clé d'API ou si le compte "
    "a été supprimé."
)
EXPIRES_ON_READ: Final = "Fin de validité ; null : sans limite."
COMMENT_READ: Final = "Note du facilitateur ; null s'il n'en a pas écrit."
CRITERION_CREATED_AT: Final = "Date et heure d'enregistrement."
GROUP_COMMUNE: Final = (
    "Code INSEE de la commune des candidats du groupe ; null : aucun d'eux n'a de commune."
)
GROUP_CANDIDATES: Final = (
    "Les candidats du groupe, au moins deux, parmi ceux que vous voyez, du plus ancien au plus "
    "récent : même nom et même prénom (accents et casse ignorés), pas encore anonymisés."
)

# -- the bodies themselves ----------------------------------------------------------------------

CREATE: Final = (
    "Une personne. Si un candidat déjà connu de votre côté (votre organisation ; pour un "
    "facilitateur, les organisations de son territoire) a le même téléphone ou la même adresse "
    "e-mail, il est retrouvé et partagé avec votre organisation au lieu d'être créé une seconde "
    "fois (décision 0044)."
)
UPDATE: Final = "Seuls les champs envoyés changent ; `null` efface un champ facultatif."
SEARCH: Final = (
    "Une recherche, envoyée dans le corps de la requête : noms, numéros et adresses ne passent "
    "jamais dans les URL."
)
SAVED: Final = (
    "Le candidat enregistré. `matched_existing` : la personne était déjà connue de votre côté "
    "(même téléphone ou même e-mail ; décision 0044) ; elle est maintenant partagée avec votre "
    "organisation et rien n'a été créé."
)
DUPLICATE_GROUP: Final = (
    "Des candidats de même nom et même prénom (accents et casse ignorés) dans la même commune : "
    "des doublons probables."
)

# -- examples (invented people; test-like numbers and domains) ---------------------------------

CREATE_EXAMPLE: Final[dict[str, Any]] = {
    "first_name": "Inès",
    "last_name": "Lefort",
    "phone": "06 00 00 00 12",
    "email": "ines.lefort@example.org",
    "commune_insee": "93066",
    "address": "12 rue des Tilleuls",
    "sectors_worked": ["cleaning"],
    "sectors_wanted": ["logistics", "construction"],
    "needs": ["job", "training"],
    "rome_wishes": ["N1103"],
    "available_from": "2027-01-04",
    "hours_per_week": 35,
    "mobility_radius_km": 15,
    "has_driving_licence": True,
    "has_vehicle": False,
    "sex": "female",
    "birth_year": 1994,
    "referent_organisation_id": "0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0b01",
}
UPDATE_EXAMPLE: Final[dict[str, Any]] = {
    "status": "active",
    "hours_per_week": 24,
    "mobility_radius_km": 25,
    "has_vehicle": True,
    "referent_prescriber_id": "0190a4c2-7a3d-7e21-8b44-5c6d7e8f9a02",
}
ELIGIBILITY_EXAMPLE: Final[dict[str, Any]] = {
    "kind": "DELD",
    "validated_on": "2026-11-30",
    "expires_on": "2027-11-30",
    "comment": "Attestation d'inscription de 14 mois vue en entretien.",
}
MERGE_EXAMPLE: Final[dict[str, Any]] = {"duplicate_id": "0190a4c3-1b2c-7d4e-9f60-718293a4b5c6"}
