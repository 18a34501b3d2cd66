"""Typed, translatable reasons why the cabinet refuses a request."""

from __future__ import annotations

import enum
from typing import Any, Literal

Language = Literal["fr", "en"]


class RefusalCode(enum.Enum):
    """Every reason a command can be refused; the UI translates the code, never parses text."""

    NOT_SIGNED_IN = "not_signed_in"
    UNKNOWN_BADGE = "unknown_badge"
    UNKNOWN_USER = "unknown_user"
    WRONG_PIN = "wrong_pin"
    LOCKED_OUT = "locked_out"
    NOT_AUTHORISED = "not_authorised"
    NO_PATIENT = "no_patient"
    UNKNOWN_PATIENT = "unknown_patient"
    PATIENT_ALREADY_SELECTED = "patient_already_selected"
    UNKNOWN_ORDER = "unknown_order"
    ORDER_NOT_ACTIVE = "order_not_active"
    NOT_VERIFIED = "not_verified"
    WRONG_PATIENT = "wrong_patient"
    TOO_EARLY = "too_early"
    NOT_DUE = "not_due"
    DAILY_MAX = "daily_max"
    DOSE_ABOVE_ORDER = "dose_above_order"
    OUT_OF_STOCK = "out_of_stock"
    ONLY_EXPIRED = "only_expired"
    NO_POCKET = "no_pocket"
    NOT_ON_OVERRIDE_LIST = "not_on_override_list"
    SEARCH_TOO_SHORT = "search_too_short"
    BAD_REASON = "bad_reason"
    PRESCRIBER_REQUIRED = "prescriber_required"
    WITNESS_REQUIRED = "witness_required"
    WITNESS_SAME_AS_ACTOR = "witness_same_as_actor"
    WITNESS_NOT_ALLOWED = "witness_not_allowed"
    WRONG_PACK = "wrong_pack"
    BAD_BARCODE = "bad_barcode"
    EXPIRED_PACK = "expired_pack"
    BAD_QUANTITY = "bad_quantity"
    BLIND_COUNT_REQUIRED = "blind_count_required"
    TASK_IN_PROGRESS = "task_in_progress"
    NO_TASK = "no_task"
    WRONG_STEP = "wrong_step"
    NO_RETURN_BIN = "no_return_bin"
    UNKNOWN_ITEM = "unknown_item"
    UNKNOWN_DISCREPANCY = "unknown_discrepancy"
    ALREADY_RESOLVED = "already_resolved"
    HARDWARE_UNAVAILABLE = "hardware_unavailable"
    DEGRADED = "degraded"
    STORAGE_FAILED = "storage_failed"


_MESSAGES: dict[RefusalCode, tuple[str, str]] = {
    RefusalCode.NOT_SIGNED_IN: ("Identifiez-vous d'abord.", "Please sign in first."),
    RefusalCode.UNKNOWN_BADGE: ("Badge inconnu.", "Unknown badge."),
    RefusalCode.UNKNOWN_USER: ("Utilisateur inconnu ou inactif.", "Unknown or inactive user."),
    RefusalCode.WRONG_PIN: (
        "Code PIN incorrect ({remaining} essai(s) restant(s)).",
        "Wrong PIN ({remaining} attempt(s) left).",
    ),
    RefusalCode.LOCKED_OUT: (
        "Compte bloqué jusqu'à {until}.",
        "Account locked until {until}.",
    ),
    RefusalCode.NOT_AUTHORISED: (
        "Votre rôle ne permet pas cette action.",
        "Your role does not allow this action.",
    ),
    RefusalCode.NO_PATIENT: ("Choisissez d'abord un patient.", "Select a patient first."),
    RefusalCode.UNKNOWN_PATIENT: ("Patient inconnu.", "Unknown patient."),
    RefusalCode.PATIENT_ALREADY_SELECTED: (
        "Un seul patient à la fois : terminez ou annulez d'abord.",
        "One patient at a time: finish or cancel first.",
    ),
    RefusalCode.UNKNOWN_ORDER: ("Prescription inconnue.", "Unknown order."),
    RefusalCode.ORDER_NOT_ACTIVE: ("Prescription non active.", "The order is not active."),
    RefusalCode.NOT_VERIFIED: (
        "Prescription non validée par le pharmacien.",
        "The order has not been verified by a pharmacist.",
    ),
    RefusalCode.WRONG_PATIENT: (
        "Cette prescription n'est pas celle de ce patient.",
        "This order belongs to another patient.",
    ),
    RefusalCode.TOO_EARLY: (
        "Trop tôt : prochaine prise autorisée à {next_at}.",
        "Too early: next dose allowed at {next_at}.",
    ),
    RefusalCode.NOT_DUE: (
        "Aucune prise prévue maintenant (prochaine : {next_at}).",
        "No dose is due now (next: {next_at}).",
    ),
    RefusalCode.DAILY_MAX: (
        "Dose maximale sur 24 h atteinte ({given}/{daily_max}).",
        "Daily maximum reached ({given}/{daily_max} in 24 h).",
    ),
    RefusalCode.DOSE_ABOVE_ORDER: (
        "Quantité supérieure à la dose prescrite ({dose}).",
        "Quantity above the ordered dose ({dose}).",
    ),
    RefusalCode.OUT_OF_STOCK: ("Rupture de stock.", "Out of stock."),
    RefusalCode.ONLY_EXPIRED: (
        "Seuls des lots périmés restent : ne pas délivrer.",
        "Only expired lots remain: do not dispense.",
    ),
    RefusalCode.NO_POCKET: ("Aucun casier ne contient ce produit.", "No pocket holds this item."),
    RefusalCode.NOT_ON_OVERRIDE_LIST: (
        "Produit absent de la liste de dépannage du service.",
        "Item is not on the unit's override list.",
    ),
    RefusalCode.SEARCH_TOO_SHORT: (
        "Saisissez au moins 5 lettres.",
        "Type at least 5 letters.",
    ),
    RefusalCode.BAD_REASON: ("Motif invalide.", "Invalid reason."),
    RefusalCode.PRESCRIBER_REQUIRED: (
        "Le nom du prescripteur est obligatoire.",
        "The prescriber's name is required.",
    ),
    RefusalCode.WITNESS_REQUIRED: (
        "Un témoin doit s'identifier (stupéfiant).",
        "A witness must sign in (controlled item).",
    ),
    RefusalCode.WITNESS_SAME_AS_ACTOR: (
        "Le témoin doit être une autre personne.",
        "The witness must be a different person.",
    ),
    RefusalCode.WITNESS_NOT_ALLOWED: (
        "Le témoin doit être infirmier ou pharmacien.",
        "The witness must be a nurse or a pharmacist.",
    ),
    RefusalCode.WRONG_PACK: (
        "Cette boîte ne correspond pas au produit du casier.",
        "This pack is not the pocket's item.",
    ),
    RefusalCode.BAD_BARCODE: ("Code-barres illisible ou invalide.", "Unreadable or invalid code."),
    RefusalCode.EXPIRED_PACK: ("Boîte périmée ({expiry}).", "Expired pack ({expiry})."),
    RefusalCode.BAD_QUANTITY: ("Quantité invalide.", "Invalid quantity."),
    RefusalCode.BLIND_COUNT_REQUIRED: (
        "Comptez le casier avant l'ouverture.",
        "Count the pocket before it opens.",
    ),
    RefusalCode.TASK_IN_PROGRESS: (
        "Une opération est déjà en cours.",
        "A task is already in progress.",
    ),
    RefusalCode.NO_TASK: ("Aucune opération en cours.", "No task in progress."),
    RefusalCode.WRONG_STEP: (
        "Cette action n'est pas possible à cette étape.",
        "This action is not possible at this step.",
    ),
    RefusalCode.NO_RETURN_BIN: ("Pas de bac de retour.", "This cabinet has no return bin."),
    RefusalCode.UNKNOWN_ITEM: ("Produit inconnu.", "Unknown item."),
    RefusalCode.UNKNOWN_DISCREPANCY: ("Écart inconnu.", "Unknown discrepancy."),
    RefusalCode.ALREADY_RESOLVED: ("Écart déjà résolu.", "Discrepancy already resolved."),
    RefusalCode.HARDWARE_UNAVAILABLE: (
        "Matériel indisponible : tiroirs verrouillés.",
        "Hardware unavailable: drawers stay locked.",
    ),
    RefusalCode.DEGRADED: (
        "Armoire en mode dégradé : aucun tiroir ne s'ouvre.",
        "Cabinet in degraded mode: no drawer will open.",
    ),
    RefusalCode.STORAGE_FAILED: (
        "Enregistrement impossible : rien n'a été modifié.",
        "Could not record: nothing was changed.",
    ),
}


def message(code: RefusalCode, language: Language = "fr", **params: Any) -> str:
    """The refusal's sentence in French or English, with its parameters filled in."""
    french, english = _MESSAGES[code]
    template = french if language == "fr" else english
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        # A missing parameter must never hide the refusal itself.
        return template.split("(")[0].split(":")[0].strip() + "."


class Refused(Exception):
    """A command was refused; nothing was changed. Carries a code and its parameters."""

    def __init__(self, code: RefusalCode, **params: Any) -> None:
        """Keep what the object needs; nothing starts here."""
        super().__init__(message(code, "en", **params))
        self.code = code
        self.params = params

    def text(self, language: Language = "fr") -> str:
        """The refusal in the screen's language."""
        return message(self.code, language, **self.params)
