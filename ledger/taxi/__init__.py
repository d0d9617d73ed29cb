"""The taxi-meter kind (安心打车): records, statuses and the signed suspension list."""
