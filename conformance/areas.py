"""The requirement areas, in the order a supplier reads them. Suite tests name theirs with
``@pytest.mark.area``; the summary counts per area; each deliberate fault names the areas that must
catch it."""

AREAS = (
    "auth",
    "negotiation",
    "media type",
    "routing",
    "headers",
    "messages",
    "batches",
    "get message",
    "NHS App accounts",
    "properties",
    "callbacks",
)

#: areas a supplier may not need, and why: when a run has nothing to test one against, its tests are
#: skipped, the area shows as NOT RUN, and it does not hold the readiness verdict back (a run that
#: leaves it out with ``-k``/``-m`` is still INCOMPLETE, like any other area left out)
OPTIONAL = {
    "callbacks": "only for suppliers that receive callbacks: give --callback-receiver-url to check yours",
}
