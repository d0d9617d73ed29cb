"""The charging kind's workstation side (安心充电): projection, rules R01–R27, analysis
facts, the JJG 1148/1149 verification procedure and its metrology, and the queries its
views read. Plugged into the core by `app.models.charging.kind.CHARGING`
(docs/architecture.md)."""
