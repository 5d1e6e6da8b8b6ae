"""What an obligation's fields mean, in the words of the clause (product.md §8.1, decisions 0074
and 0075): the descriptions the OpenAPI document gives them, shared by the bodies that change an
obligation and the one that reads it."""

from __future__ import annotations

METHOD = (
    "Méthode de calcul des heures dues : `fixed_hours` (nombre d'heures fixé), `labour_share` "
    "(montant × part de main-d'œuvre × taux d'insertion ÷ coût horaire), "
    "`per_invoiced_tranche` (une heure par tranche complète facturée au-delà d'un seuil), "
    "`share_of_hours_worked` (part des heures travaillées sur l'opération) ou `hours_per_year` "
    "(heures par année d'exécution, au prorata)."
)
FIXED_HOURS = "Méthode `fixed_hours` : les heures d'insertion dues, en heures."
LABOUR_SHARE = (
    "Méthode `labour_share` : part de la main-d'œuvre dans le montant du marché, en "
    "pourcentage (0 à 100, ex. 50)."
)
INSERTION_RATE = (
    "Méthode `labour_share` : taux d'insertion appliqué à la main-d'œuvre, en pourcentage "
    "(0 à 100, ex. 5)."
)
TRANCHE_AMOUNT = (
    "Méthode `per_invoiced_tranche` : montant d'une tranche, en euros HT (plus de 0) ; une "
    "heure est due par tranche complète facturée au-delà du seuil."
)
TRANCHE_THRESHOLD = (
    "Méthode `per_invoiced_tranche` : montant facturé, en euros HT, au-delà duquel les "
    "tranches comptent (0 : dès le premier euro)."
)
HOURS_SHARE = (
    "Méthode `share_of_hours_worked` : part des heures travaillées sur l'opération (déclarées "
    "par période) due en insertion, en pourcentage (0 à 100 ; ANRU : 5 en investissement, 10 en "
    "gestion urbaine de proximité)."
)
HOURS_PER_YEAR = (
    "Méthode `hours_per_year` : heures dues par année d'exécution, au prorata des jours "
    "d'exécution du marché."
)
ELIGIBLE_PUBLICS = (
    "Publics éligibles : les critères d'éligibilité (`DELD`, `RSA`, `JEUNE`, `QPV_resident`…) "
    "dont un participant doit en avoir un validé au démarrage de sa mise en emploi pour que ses "
    "heures comptent ; liste vide : n'importe quel critère validé."
)
ALLOWED_MODALITIES = (
    "Modalités de réalisation admises, au moins une : `direct_hire` (embauche directe), "
    "`provision` (mise à disposition) et `subcontracting` (sous-traitance). Une mise en emploi "
    "d'une autre modalité est refusée sur ce lot."
)
TRAINING_COUNTS = (
    "`true` : les heures de formation comptent dans les heures réalisées ; `false` (par "
    "défaut) : seules les heures travaillées hors formation comptent."
)
CDI_CAP_YEARS = (
    "Plafond CDI : nombre d'années (1 à 50) pendant lesquelles les heures d'un CDI comptent, à "
    "partir du début de la mise en emploi ; au-delà, ses mois ne comptent plus."
)
PENALTY = (
    "Pénalité par heure manquante, en euros : l'exposition aux pénalités est le nombre d'heures "
    "restant dues multiplié par ce montant."
)
ANRU_FAMILY = (
    "Famille ANRU (NPNRU) : `investment` (investissement : 5 % des heures travaillées en "
    "insertion), `gup` (gestion urbaine de proximité : 10 %), `engineering` (ingénierie, sans "
    "seuil) ou `none` (hors ANRU)."
)
BUDGET_PLAN_LINE = (
    "Ligne de la maquette financière ANRU (100 caractères au plus) : les heures dues des "
    "obligations ANRU qui en ont une forment les heures de la maquette dans la note trimestrielle."
)
STATEMENT_SCHEDULE = (
    "Périodicité des relevés d'heures : `quarterly` (trimestres civils, par défaut) ou "
    "`monthly` (mois)."
)
NOT_THIS_METHOD = "`null` : sans objet pour la méthode de l'obligation."
STATEMENT_DUE_DAY = (
    "Jour (1 à 28) du mois suivant la période où son relevé d'heures est dû (par défaut le 15)."
)
