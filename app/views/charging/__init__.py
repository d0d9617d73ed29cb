"""The charging kind's views: a pile's detail (time-linked plots) and the JJG 1148/1149
verification wizard (docs/architecture.md)."""
