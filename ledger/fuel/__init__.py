"""The fuel-dispenser instrument kind (安心加油): its ledger side."""
