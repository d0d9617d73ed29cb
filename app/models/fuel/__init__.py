"""The fuel-dispenser instrument kind (安心加油): its projection, rules and verification."""
