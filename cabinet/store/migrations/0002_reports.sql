-- The controlled-drugs register, once validated through a date, may not change before it:
-- the validations themselves are append-only and only move forward, and every write path
-- (Store.move, Store.record, raw SQL) is refused an event dated on or before that date for a
-- validated item. Also the indexes the reports need.

CREATE TABLE register_validations (
    id           INTEGER PRIMARY KEY,
    item_code    TEXT NOT NULL REFERENCES items (code),
    through      TEXT NOT NULL CHECK (through GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    validated_by TEXT NOT NULL,
    validated_at TEXT NOT NULL,
    ledger_seq   INTEGER REFERENCES ledger (seq)
) STRICT;
CREATE INDEX register_validations_item ON register_validations (item_code, through);

CREATE TRIGGER register_validations_no_update BEFORE UPDATE ON register_validations
BEGIN
    SELECT RAISE(ABORT, 'register validations are append-only');
END;
CREATE TRIGGER register_validations_no_delete BEFORE DELETE ON register_validations
BEGIN
    SELECT RAISE(ABORT, 'register validations are append-only');
END;
CREATE TRIGGER register_validations_forward BEFORE INSERT ON register_validations
WHEN NEW.through < (SELECT MAX(through) FROM register_validations WHERE item_code = NEW.item_code)
BEGIN
    SELECT RAISE(ABORT, 'a register validation cannot move back in time');
END;

-- No ledger event for a validated item may be dated on or before its validation date.
CREATE TRIGGER ledger_register_validated BEFORE INSERT ON ledger
WHEN NEW.item_code IS NOT NULL AND EXISTS (
    SELECT 1 FROM register_validations
    WHERE item_code = NEW.item_code AND through >= substr(NEW.at, 1, 10)
)
BEGIN
    SELECT RAISE(ABORT, 'controlled register validated: no event may be dated on or before its validation date');
END;

-- A validated item keeps its code and stays controlled: otherwise it would drop out of the register.
CREATE TRIGGER items_register_validated_update BEFORE UPDATE OF code, controlled ON items
WHEN (NEW.code IS NOT OLD.code OR NEW.controlled IS NOT OLD.controlled)
    AND EXISTS (SELECT 1 FROM register_validations WHERE item_code = OLD.code)
BEGIN
    SELECT RAISE(ABORT, 'controlled register validated: this item cannot be renamed or uncontrolled');
END;
CREATE TRIGGER items_register_validated_delete BEFORE DELETE ON items
WHEN EXISTS (SELECT 1 FROM register_validations WHERE item_code = OLD.code)
BEGIN
    SELECT RAISE(ABORT, 'controlled register validated: this item cannot be deleted');
END;

-- Discrepancies of a validated item, opened or resolved on or before the date, are frozen.
CREATE TRIGGER discrepancies_register_validated_insert BEFORE INSERT ON discrepancies
WHEN NEW.item_code IS NOT NULL AND EXISTS (
    SELECT 1 FROM register_validations
    WHERE item_code = NEW.item_code AND through >= substr(NEW.opened_at, 1, 10)
)
BEGIN
    SELECT RAISE(ABORT, 'controlled register validated: no discrepancy may be dated on or before its validation date');
END;
CREATE TRIGGER discrepancies_register_validated_update BEFORE UPDATE ON discrepancies
WHEN OLD.item_code IS NOT NULL AND EXISTS (
    SELECT 1 FROM register_validations
    WHERE item_code = OLD.item_code
      AND (through >= substr(COALESCE(OLD.resolved_at, '9999'), 1, 10)
           OR through >= substr(COALESCE(NEW.resolved_at, '9999'), 1, 10)
           OR through >= substr(NEW.opened_at, 1, 10) AND NEW.opened_at IS NOT OLD.opened_at)
)
BEGIN
    SELECT RAISE(ABORT, 'controlled register validated: this discrepancy is frozen');
END;
CREATE TRIGGER discrepancies_register_validated_delete BEFORE DELETE ON discrepancies
WHEN OLD.item_code IS NOT NULL AND EXISTS (
    SELECT 1 FROM register_validations
    WHERE item_code = OLD.item_code AND through >= substr(OLD.opened_at, 1, 10)
)
BEGIN
    SELECT RAISE(ABORT, 'controlled register validated: this discrepancy is frozen');
END;

-- Reports scan one kind of event over a period by user, item, patient and order: this index
-- answers them without reading the rows (the 1,000,000-event report bench relies on it).
CREATE INDEX ledger_kind_at_cover ON ledger (kind, at, actor, item_code, patient_id, order_id, quantity);
-- Dispenses made under an override (the canonical payload spells the flag exactly so).
CREATE INDEX ledger_override_dispenses ON ledger (at)
WHERE kind = 'dispense' AND payload LIKE '%"override":true%';
