"""The charging-pile instrument kind (安心充电): its ledger side."""
