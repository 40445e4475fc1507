"""Upload of approved recordings to a tus 1.0 collector: the client, the bookkeeping rules and
the background worker. Content reaches this package only through the egress gate."""
