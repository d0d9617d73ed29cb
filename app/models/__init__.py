"""Qt-free domain and persistence: store schema, sync, rules, alarms, planning."""
