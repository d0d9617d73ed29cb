"""Qt-free instrument layer: serial transports, rig driver, DL/T 645, simulator."""
