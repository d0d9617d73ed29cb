"""The reference supervision platform: ingest, sequencing, integration, serving.

Storage layout of ``--data DIR``:

    DIR/log.key           the log's note signing key (0600); DIR/log.vkey its verifier key
    DIR/sequence.sqlite   every accepted entry in sequence order (the durable queue), and
                          each record's identity -> its first index (one record, one entry)
    DIR/platform.lock     held (flock) by the one platform serving DIR; a second refuses
    DIR/log/              the published log in C2SP tlog-tiles layout (checkpoint, tile/...)

An entry is acknowledged only after its row is committed (SQLite, synchronous=FULL),
and every checkpoint covers a prefix of that one sequence, so a SIGKILL at any
moment loses no acknowledged entry and two checkpoints are always consistent.
"""
