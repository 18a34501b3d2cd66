"""The cabinet daemon and its domain: store, ledger, workflows, sync, UI and reports."""
